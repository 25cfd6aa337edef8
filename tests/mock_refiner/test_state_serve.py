"""`refiner-harness serve --seed FILE` refuses a bad state file with one line naming
the file, the place and the problem, and exit code 2."""

import pytest

from harness.cli import main
from tests.mock_refiner.conftest import KEY


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
