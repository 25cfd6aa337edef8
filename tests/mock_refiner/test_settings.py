from datetime import UTC, datetime, timedelta

import pytest

from mock_refiner import SequentialIds, Settings, StepClock


def test_step_clock_returns_the_next_instant_on_each_call():
    clock = StepClock(datetime(2026, 1, 1, tzinfo=UTC), timedelta(milliseconds=250))

    times = [clock() for _ in range(3)]

    assert times == [
        datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, 250000, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
    ]


def test_step_clock_reads_a_naive_start_as_utc():
    clock = StepClock(datetime(2026, 1, 1), timedelta(seconds=1))

    assert clock() == datetime(2026, 1, 1, tzinfo=UTC)


def test_sequential_ids_count_up_in_uuid_shape():
    ids = SequentialIds()

    assert [ids() for _ in range(3)] == [
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
        "00000000-0000-4000-8000-000000000003",
    ]


def test_sequential_ids_put_the_seed_in_the_first_group():
    ids = SequentialIds(prefix_seed=0xAB)

    assert ids() == "000000ab-0000-4000-8000-000000000001"


def test_sequential_ids_refuse_a_seed_wider_than_eight_hex_digits():
    with pytest.raises(ValueError, match="prefix_seed"):
        SequentialIds(prefix_seed=0x1_0000_0000)


def test_default_settings():
    settings = Settings()

    assert (settings.string_cap, settings.trait_limit, settings.api_keys) == (
        10_000,
        1000,
        None,
    )
    assert settings.clock().tzinfo is UTC
    assert len(settings.ids()) == 36
    assert settings.ids() != settings.ids()
