import threading
from datetime import UTC, datetime

from mock_refiner.journal import Journal

NOON = datetime(2026, 1, 1, 12, tzinfo=UTC)


def record(journal: Journal, path: str = "/v1/track", status: int = 200, **fields):
    values = {
        "time": NOON,
        "method": "POST",
        "path": path,
        "operation": "track",
        "key_source": "bearer",
        "api_key": "key-1",
        "content_type": "application/json",
        "params": {"id": "u1", "event": "x", "api_key": "key-1"},
        "status": status,
        "reply": {"message": "ok"},
        "notes": [],
    }
    values.update(fields)
    return journal.record(**values)


def test_record_keeps_the_call_shape_without_the_api_key_param():
    journal = Journal()

    call = record(journal, notes=["parameters not stored: plan"])

    assert call == {
        "id": 1,
        "time": "2026-01-01T12:00:00.000000Z",
        "method": "POST",
        "path": "/v1/track",
        "operation": "track",
        "key_source": "bearer",
        "api_key": "key-1",
        "content_type": "application/json",
        "params": {"id": "u1", "event": "x"},
        "status": 200,
        "reply": {"message": "ok"},
        "notes": ["parameters not stored: plan"],
    }
    assert journal.calls() == [call]


def test_ids_count_up_and_start_again_after_clear():
    journal = Journal()
    record(journal)
    record(journal)

    assert [call["id"] for call in journal.calls()] == [1, 2]

    journal.clear()
    assert journal.calls() == []
    assert record(journal)["id"] == 1


def test_calls_filter_by_path_and_status():
    journal = Journal()
    record(journal, "/v1/track", 200)
    record(journal, "/v1/identify-user", 400)
    record(journal, "/v1/track", 401)

    assert [c["id"] for c in journal.calls(path="/v1/track")] == [1, 3]
    assert [c["id"] for c in journal.calls(status=400)] == [2]
    assert [c["id"] for c in journal.calls(path="/v1/track", status=401)] == [3]
    assert journal.calls(path="/v1/nothing") == []


def test_calls_are_copies():
    journal = Journal()
    params = {"account": {"id": "acme"}}
    record(journal, params=params)

    params["account"]["id"] = "changed"
    journal.calls()[0]["params"]["account"]["id"] = "changed too"

    assert journal.calls()[0]["params"] == {"account": {"id": "acme"}}


def test_concurrent_records_get_distinct_ids():
    journal = Journal()

    def record_many() -> None:
        for _ in range(50):
            record(journal)

    threads = [threading.Thread(target=record_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(call["id"] for call in journal.calls()) == list(range(1, 201))
