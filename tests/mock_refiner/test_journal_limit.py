"""The journal keeps the newest `journal_limit` calls and counts those it dropped;
ids are never reused, and the count survives a restart on a state file."""

import pytest

from mock_refiner import MockRefiner, Settings, create_app
from mock_refiner.journal import Journal
from tests.mock_refiner.conftest import KEY, deterministic_settings
from tests.mock_refiner.test_journal import record

BEARER = {"Authorization": f"Bearer {KEY}"}
JSON = {**BEARER, "Content-Type": "application/json"}


def identify_five(mock: MockRefiner) -> None:
    for number in range(1, 6):
        body = f'{{"id": "u{number}"}}'.encode()
        reply = mock.handle("POST", "/v1/identify-user", b"", JSON, body)
        assert reply.status == 200


def ids_and_dropped(mock: MockRefiner) -> tuple[list[int], int]:
    return [call["id"] for call in mock.journal.calls()], mock.journal.dropped


def test_the_newest_calls_are_kept_and_the_others_counted():
    journal = Journal(limit=3)

    for number in range(5):
        record(journal, params={"id": f"u{number}"})

    assert [call["id"] for call in journal.calls()] == [3, 4, 5]
    assert [call["params"] for call in journal.calls()] == [
        {"id": "u2"},
        {"id": "u3"},
        {"id": "u4"},
    ]
    assert journal.dropped == 2


def test_a_limit_of_zero_keeps_no_call_but_counts_them_all():
    journal = Journal(limit=0)

    calls = [record(journal) for _ in range(3)]

    assert [call["id"] for call in calls] == [1, 2, 3]
    assert (journal.calls(), journal.dropped) == ([], 3)


def test_clear_starts_ids_and_the_count_again():
    journal = Journal(limit=1)
    record(journal)
    record(journal)

    journal.clear()

    assert (journal.calls(), journal.dropped) == ([], 0)
    assert record(journal)["id"] == 1


def test_filters_apply_to_the_kept_calls():
    journal = Journal(limit=2)
    record(journal, "/v1/track", 200)
    record(journal, "/v1/track", 400)
    record(journal, "/v1/identify-user", 200)

    assert [c["id"] for c in journal.calls(path="/v1/track")] == [2]
    assert [c["id"] for c in journal.calls(status=200)] == [3]
    assert journal.dropped == 1


@pytest.mark.parametrize("limit", [-1, True, 2.5, "10"])
def test_a_bad_journal_limit_is_refused(limit):
    with pytest.raises(ValueError) as refused:
        Settings(journal_limit=limit)

    assert str(refused.value) == (
        f"journal_limit must be a whole number, at least 0, not {limit!r}"
    )


def test_the_default_limit_is_ten_thousand():
    assert Settings().journal_limit == 10_000
    assert MockRefiner().journal.limit == 10_000


def test_the_admin_api_shows_the_kept_calls_and_the_dropped_count(serve):
    app = create_app(deterministic_settings(journal_limit=3))
    http = serve(app)
    identify_five(app.extensions["mock_refiner"])

    listed = http.get("/__mock/calls").json()
    filtered = http.get("/__mock/calls", params={"status": "200"}).json()

    assert [call["id"] for call in listed["calls"]] == [3, 4, 5]
    assert [call["params"]["id"] for call in listed["calls"]] == ["u3", "u4", "u5"]
    assert listed["dropped"] == filtered["dropped"] == 2
    assert filtered["calls"] == listed["calls"]


def test_resetting_the_calls_sets_the_count_to_zero(serve):
    app = create_app(deterministic_settings(journal_limit=3))
    http = serve(app)
    identify_five(app.extensions["mock_refiner"])

    reset = http.post("/__mock/reset", params={"what": "calls"})
    http.post("/v1/identify-user", json={"id": "u6"}, headers=BEARER)

    assert reset.json() == {"message": "ok", "reset": ["calls"]}
    listed = http.get("/__mock/calls").json()
    assert ([call["id"] for call in listed["calls"]], listed["dropped"]) == ([1], 0)


def test_the_kept_calls_and_the_count_survive_a_restart(tmp_path):
    path = tmp_path / "mock.sqlite"
    mock = MockRefiner(deterministic_settings(journal_limit=3), state_file=path)
    identify_five(mock)
    before = mock.journal.calls()
    mock.close()

    restarted = MockRefiner(deterministic_settings(journal_limit=3), state_file=path)

    assert restarted.journal.calls() == before
    assert ids_and_dropped(restarted) == ([3, 4, 5], 2)
    restarted.handle("POST", "/v1/identify-user", b"", JSON, b'{"id": "u6"}')
    assert ids_and_dropped(restarted) == ([4, 5, 6], 3)
    restarted.close()


def test_a_smaller_limit_after_a_restart_drops_the_oldest_calls(tmp_path):
    path = tmp_path / "mock.sqlite"
    mock = MockRefiner(deterministic_settings(), state_file=path)
    identify_five(mock)
    mock.close()

    smaller = MockRefiner(deterministic_settings(journal_limit=2), state_file=path)
    assert ids_and_dropped(smaller) == ([4, 5], 3)
    smaller.close()
    larger = MockRefiner(deterministic_settings(), state_file=path)

    assert ids_and_dropped(larger) == ([4, 5], 3)
    larger.close()
