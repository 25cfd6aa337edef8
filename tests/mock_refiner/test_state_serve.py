"""`refiner-harness serve --seed FILE` refuses a bad state file with one line naming
the file, the place and the problem, and exit code 2, whether or not a `--state` file
wins over it; so are empty file names and a `--state` path that is not a file."""

import pytest

from harness.cli import main
from mock_refiner import MockRefiner
from tests.mock_refiner.conftest import KEY, deterministic_settings


class Served(Exception):
    """Raised instead of serving: the seed was accepted."""


@pytest.fixture
def serve(tmp_path, capsys, monkeypatch):
    """Runs `serve --seed` on a file holding `text`; gives the path and the error
    output. The server is never started."""

    def refuse_to_serve(*arguments: object, **options: object) -> None:
        raise Served

    monkeypatch.setattr("harness.server.serve", refuse_to_serve)

    def run(text: str, name: str = "seed.yaml") -> tuple[str, str]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")

        assert main(["serve", "--port", "0", "--seed", str(path)]) == 2

        captured = capsys.readouterr()
        assert captured.out == ""
        return str(path), captured.err

    return run


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            f"api_key: {KEY}\ncontacts: [{{remote_id: u1, attributes: {{1: one}}}}]\n",
            "environments[0].contacts[0].attributes: the key 1 is not text",
        ),
        (
            f"api_key: {KEY}\ncontacts:\n"
            "  - {remote_id: u1, first_seen_at: 0001-01-01 00:00:00 +05:00}\n",
            "environments[0].contacts[0]: first_seen_at must be a time from the year "
            "1000 to 9999 in UTC, not '0001-01-01 00:00:00 +05:00'",
        ),
        (
            f"api_key: {KEY}\ncontacts:\n"
            "  - {remote_id: u1, attributes: {b: !!binary aGVsbG8=}}\n",
            "environments[0].contacts[0].attributes.b: a value of type bytes is not "
            "JSON",
        ),
        (
            "api_key: k1\n",
            "environments[0].api_key: api_key must be 4 to 128 characters of A-Z, "
            "a-z, 0-9, '.', '_' or '-', not 'k1'",
        ),
        (
            f"api_key: {KEY}\nsegmnets: []\n",
            "environments[0]: unknown key 'segmnets'; did you mean 'segments'?",
        ),
        (
            f"api_key: {KEY}\nforms:\n  - name: F\n    config:\n"
            "      form_elements: [{identifier: s, type: rating, scale: 3000000}]\n",
            "environments[0].forms[0].config.form_elements[0]: scale must be a whole "
            "number from 1 to 100, not 3000000",
        ),
        ("contacts: []\n", "environments[0].api_key: api_key is required"),
        ("", "state: must be a mapping with 'environments', or one environment"),
    ],
)
def test_a_bad_seed_file_is_one_line_naming_the_file(serve, text, problem):
    path, error = serve(text)

    assert error == f"refiner-harness: {path}: {problem}\n"


def test_a_deep_seed_file_is_one_line_too(serve):
    path, error = serve("[" * 100_000)

    assert error == f"refiner-harness: {path}: nested deeper than 64 levels\n"


def test_a_json_seed_file_with_a_bad_value_is_one_line(serve):
    path, error = serve(
        f'{{"api_key": "{KEY}", "contacts": [{{"remote_id": "u1", "attributes": '
        '{"n": NaN}}]}',
        name="seed.json",
    )

    assert error == (
        f"refiner-harness: {path}: environments[0].contacts[0].attributes.n: nan "
        "is not a number JSON can carry\n"
    )


def test_an_unreadable_seed_file_names_the_file_once(serve, tmp_path):
    path, error = serve("{", name="broken.json")

    assert error == (
        f"refiner-harness: {path}: Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1)\n"
    )


def test_a_good_seed_file_gets_to_serving(tmp_path, monkeypatch):
    def refuse_to_serve(*arguments: object, **options: object) -> None:
        raise Served

    monkeypatch.setattr("harness.server.serve", refuse_to_serve)
    path = tmp_path / "seed.yaml"
    path.write_text(
        f"api_key: {KEY}\ncontacts:\n"
        "  - {remote_id: u1, attributes: {born: 2000-01-01}}\n",
        encoding="utf-8",
    )

    with pytest.raises(Served):
        main(["serve", "--port", "0", "--seed", str(path)])


def test_a_seed_that_runs_code_is_one_line(serve):
    path, error = serve("api_key: !!python/object/apply:os.system ['echo hi']\n")

    assert error == (
        f"refiner-harness: {path}: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system' at line 1, column 10\n"
    )


def test_a_broken_yaml_seed_is_one_line_with_where_it_was_read_from(serve):
    path, error = serve(f"api_key: {KEY}\ncontacts:\n  - remote_id: u1\n email: x\n")

    assert error == (
        f"refiner-harness: {path}: expected <block end>, but found "
        "'<block mapping start>' at line 4, column 2 (while parsing a block "
        "mapping from line 1, column 1)\n"
    )


@pytest.fixture
def state_with_environments(tmp_path):
    """A state file that holds one environment, so it wins over any seed."""
    path = tmp_path / "has-envs.sqlite"
    mock = MockRefiner(deterministic_settings(), state_file=path)
    mock.handle(
        "POST",
        "/v1/identify-user",
        b"",
        {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        b'{"id": "u1"}',
    )
    mock.close()
    return path


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "seed.yaml",
            'api_key: "a b"\n',
            "environments[0].api_key: api_key must be 4 to 128 characters of A-Z, "
            "a-z, 0-9, '.', '_' or '-', not 'a b'",
        ),
        ("seed.json", '{"environments": 5}', "state.environments: must be a list"),
    ],
)
def test_a_bad_seed_is_refused_even_when_the_state_file_wins(
    state_with_environments, tmp_path, capsys, monkeypatch, name, text, problem
):
    monkeypatch.setattr("harness.server.serve", refuse_to_serve)
    seed = tmp_path / name
    seed.write_text(text, encoding="utf-8")
    state = str(state_with_environments)
    expected = f"refiner-harness: {seed}: {problem}\n"

    outputs = []
    for extra in ([], ["--state", state]):
        code = main(["serve", "--port", "0", "--seed", str(seed), *extra])
        outputs.append((code, *capsys.readouterr()))
    mock = MockRefiner(deterministic_settings(), state_file=state)
    contacts = mock.store.snapshot(KEY)["contacts"]
    mock.close()

    assert outputs == [(2, "", expected), (2, "", expected)]
    assert [contact["remote_id"] for contact in contacts] == ["u1"]


@pytest.mark.parametrize("flag", ["--state", "--seed"])
def test_an_empty_file_name_is_one_line(capsys, monkeypatch, flag):
    monkeypatch.setattr("harness.server.serve", refuse_to_serve)

    code = main(["serve", "--port", "0", flag, ""])

    assert (code, *capsys.readouterr()) == (
        2,
        "",
        f"refiner-harness: {flag} must name a file\n",
    )


def test_a_state_path_that_is_not_a_file_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("harness.server.serve", refuse_to_serve)

    code = main(["serve", "--port", "0", "--state", str(tmp_path)])

    assert (code, *capsys.readouterr()) == (
        2,
        "",
        f"refiner-harness: {tmp_path}: not a regular file\n",
    )
    assert list(tmp_path.iterdir()) == []


def refuse_to_serve(*arguments: object, **options: object) -> None:
    raise Served
