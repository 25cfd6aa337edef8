import threading
from datetime import datetime, timedelta

import pytest

from mock_refiner.errors import ApiError
from mock_refiner.limits import RateLimiter
from tests.mock_refiner.conftest import KEY, START

OTHER_KEY = "test-key-0002"
KEY_LIMIT = (
    "Too many requests: the limit of 4000 calls per minute for this API key is reached."
)


def user_limit(identifier: str, limit: int = 100) -> str:
    return (
        f"Too many requests: the limit of {limit} calls per minute for user "
        f"identifier {identifier!r} is reached."
    )


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def refusal(limiter: RateLimiter, *args: object) -> tuple[int, dict, dict]:
    with pytest.raises(ApiError) as caught:
        limiter.check(*args)

    return caught.value.status, caught.value.body, caught.value.headers


def test_defaults_are_refiners_documented_limits():
    limiter = RateLimiter()

    assert (limiter.per_key, limiter.per_user, limiter.window) == (
        4000,
        100,
        timedelta(minutes=1),
    )


def test_a_call_counts_against_its_key_and_each_user_identifier():
    limiter = RateLimiter()

    limiter.check(KEY, ["u1", "a@b.co"], at(0))
    limiter.check(KEY, [], at(1))

    assert limiter.counts() == {
        ("key", KEY): 2,
        ("user", KEY, "u1"): 1,
        ("user", KEY, "a@b.co"): 1,
    }


def test_empty_and_repeated_identifiers_count_once_or_not_at_all():
    limiter = RateLimiter()

    limiter.check(KEY, ["u1", "", "u1"], at(0))

    assert limiter.counts() == {("key", KEY): 1, ("user", KEY, "u1"): 1}


def test_user_identifiers_may_be_any_iterable():
    limiter = RateLimiter()

    limiter.check(KEY, iter(["u1"]), at(0))
    limiter.check(KEY, ("u1", "u2"), at(0))

    assert limiter.counts() == {
        ("key", KEY): 2,
        ("user", KEY, "u1"): 2,
        ("user", KEY, "u2"): 1,
    }


def test_the_100th_user_call_passes_and_the_101st_is_refused():
    limiter = RateLimiter()
    for number in range(100):
        limiter.check(KEY, ["u1"], at(number / 10))

    assert refusal(limiter, KEY, ["u1"], at(10)) == (
        429,
        {"error": user_limit("u1")},
        {"Retry-After": "50"},
    )
    assert limiter.counts() == {("key", KEY): 100, ("user", KEY, "u1"): 100}


def test_retry_after_rounds_up_and_is_at_least_one_second():
    limiter = RateLimiter()
    for _ in range(100):
        limiter.check(KEY, ["u1"], at(0))

    assert refusal(limiter, KEY, ["u1"], at(10.5))[2] == {"Retry-After": "50"}
    assert refusal(limiter, KEY, ["u1"], at(58.000001))[2] == {"Retry-After": "2"}
    assert refusal(limiter, KEY, ["u1"], at(59.5))[2] == {"Retry-After": "1"}
    assert refusal(limiter, KEY, ["u1"], at(59.999999))[2] == {"Retry-After": "1"}


def test_a_user_call_passes_again_once_the_window_moves():
    limiter = RateLimiter()
    for number in range(100):
        limiter.check(KEY, ["u1"], at(number / 10))

    limiter.check(KEY, ["u1"], at(60))

    assert limiter.counts() == {("key", KEY): 100, ("user", KEY, "u1"): 100}
    assert refusal(limiter, KEY, ["u1"], at(60.05)) == (
        429,
        {"error": user_limit("u1")},
        {"Retry-After": "1"},
    )

    limiter.check(KEY, ["u1"], at(60.1))

    assert limiter.counts() == {("key", KEY): 100, ("user", KEY, "u1"): 100}


def test_the_4000th_key_call_passes_and_the_4001st_is_refused():
    limiter = RateLimiter()
    for number in range(4000):
        limiter.check(KEY, [], at(number / 100))

    assert refusal(limiter, KEY, [], at(40)) == (
        429,
        {"error": KEY_LIMIT},
        {"Retry-After": "20"},
    )
    assert refusal(limiter, KEY, ["u1"], at(59.999)) == (
        429,
        {"error": KEY_LIMIT},
        {"Retry-After": "1"},
    )
    assert limiter.counts() == {("key", KEY): 4000}

    limiter.check(KEY, [], at(60))
    limiter.check(KEY, [], at(60.01))

    assert refusal(limiter, KEY, [], at(60.015)) == (
        429,
        {"error": KEY_LIMIT},
        {"Retry-After": "1"},
    )
    assert limiter.counts() == {("key", KEY): 4000}


def test_other_users_of_the_key_are_not_held_back():
    limiter = RateLimiter()
    for _ in range(100):
        limiter.check(KEY, ["u1"], at(0))

    limiter.check(KEY, ["u2"], at(1))
    limiter.check(KEY, [], at(1))

    assert limiter.counts() == {
        ("key", KEY): 102,
        ("user", KEY, "u1"): 100,
        ("user", KEY, "u2"): 1,
    }


def test_keys_are_counted_apart_and_so_are_their_users():
    limiter = RateLimiter(per_key=3, per_user=2)
    for _ in range(2):
        limiter.check(KEY, ["u1"], at(0))

    limiter.check(OTHER_KEY, ["u1"], at(1))
    limiter.check(OTHER_KEY, ["u1"], at(1))
    limiter.check(KEY, [], at(2))

    assert refusal(limiter, KEY, [], at(3)) == (
        429,
        {
            "error": "Too many requests: the limit of 3 calls per minute for this "
            "API key is reached."
        },
        {"Retry-After": "57"},
    )
    assert limiter.counts() == {
        ("key", KEY): 3,
        ("user", KEY, "u1"): 2,
        ("key", OTHER_KEY): 2,
        ("user", OTHER_KEY, "u1"): 2,
    }


def test_a_refused_call_is_not_counted_anywhere():
    limiter = RateLimiter(per_key=10, per_user=2)
    limiter.check(KEY, ["u1"], at(0))
    limiter.check(KEY, ["u1"], at(1))

    for _ in range(5):
        assert refusal(limiter, KEY, ["u2", "u1"], at(2)) == (
            429,
            {"error": user_limit("u1", 2)},
            {"Retry-After": "58"},
        )

    assert limiter.counts() == {("key", KEY): 2, ("user", KEY, "u1"): 2}

    limiter.check(KEY, ["u1"], at(60))

    assert limiter.counts() == {("key", KEY): 2, ("user", KEY, "u1"): 2}


def test_several_full_limits_name_the_first_and_wait_for_the_longest():
    limiter = RateLimiter(per_key=2, per_user=1)
    limiter.check(KEY, ["u1"], at(0))
    limiter.check(KEY, ["u2"], at(30))

    assert refusal(limiter, KEY, ["u1", "u2"], at(40)) == (
        429,
        {
            "error": "Too many requests: the limit of 2 calls per minute for this "
            "API key is reached."
        },
        {"Retry-After": "50"},
    )
    assert refusal(limiter, KEY, ["u1", "u2"], at(60)) == (
        429,
        {"error": user_limit("u2", 1)},
        {"Retry-After": "30"},
    )

    limiter.check(KEY, ["u1", "u2"], at(90))

    assert limiter.counts() == {
        ("key", KEY): 1,
        ("user", KEY, "u1"): 1,
        ("user", KEY, "u2"): 1,
    }


def test_message_names_a_window_other_than_a_minute():
    limiter = RateLimiter(per_key=1, per_user=1, window=timedelta(seconds=1.5))
    limiter.check(KEY, [], at(0))

    assert refusal(limiter, KEY, [], at(1)) == (
        429,
        {
            "error": "Too many requests: the limit of 1 calls per 1.5 seconds for "
            "this API key is reached."
        },
        {"Retry-After": "1"},
    )

    limiter.check(KEY, [], at(1.5))

    assert limiter.counts() == {("key", KEY): 1}


def test_a_call_at_exactly_the_window_edge_has_left():
    limiter = RateLimiter(per_key=1)
    limiter.check(KEY, [], at(0))

    assert refusal(limiter, KEY, [], at(59.999999))[2] == {"Retry-After": "1"}

    limiter.check(KEY, [], at(60))

    assert limiter.counts() == {("key", KEY): 1}


def test_time_going_back_is_taken_as_the_latest_call():
    limiter = RateLimiter(per_user=1)
    limiter.check(KEY, ["u1"], at(10))

    assert refusal(limiter, KEY, ["u1"], at(5)) == (
        429,
        {"error": user_limit("u1", 1)},
        {"Retry-After": "60"},
    )

    limiter.check(KEY, ["u2"], at(0))

    assert refusal(limiter, KEY, ["u2"], at(69)) == (
        429,
        {"error": user_limit("u2", 1)},
        {"Retry-After": "1"},
    )

    limiter.check(KEY, ["u2"], at(70))

    assert limiter.counts() == {("key", KEY): 1, ("user", KEY, "u2"): 1}


def test_counters_that_empty_out_are_removed():
    limiter = RateLimiter()
    for number in range(500):
        limiter.check(f"key-{number % 5}", [f"user-{number}"], at(number / 100))

    assert len(limiter.counts()) == 505

    limiter.check(KEY, ["u1"], at(64.99))

    assert limiter.counts() == {("key", KEY): 1, ("user", KEY, "u1"): 1}


def test_memory_holds_only_calls_in_the_window():
    limiter = RateLimiter()
    for number in range(3000):
        limiter.check(KEY, [f"user-{number}"], at(number))

    assert limiter.counts() == {
        ("key", KEY): 60,
        **{("user", KEY, f"user-{number}"): 1 for number in range(2940, 3000)},
    }


def test_reset_forgets_everything():
    limiter = RateLimiter(per_key=1, per_user=1)
    limiter.check(KEY, ["u1"], at(30))

    limiter.reset()

    assert limiter.counts() == {}
    limiter.check(KEY, ["u1"], at(0))
    assert limiter.counts() == {("key", KEY): 1, ("user", KEY, "u1"): 1}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"per_key": 0}, "limits must be 1 or more, not 0 and 100"),
        ({"per_user": -1}, "limits must be 1 or more, not 4000 and -1"),
        (
            {"window": timedelta(0)},
            "the window must be longer than zero, not 0:00:00",
        ),
    ],
)
def test_limits_must_be_positive(arguments, message):
    with pytest.raises(ValueError) as caught:
        RateLimiter(**arguments)

    assert str(caught.value) == message


def test_concurrent_calls_admit_exactly_the_limit():
    limiter = RateLimiter(per_key=100, per_user=1000)
    outcomes: list[str] = []
    outcomes_lock = threading.Lock()
    start = threading.Barrier(8)

    def caller() -> None:
        start.wait()
        for _ in range(50):
            try:
                limiter.check(KEY, ["u1"], at(0))
                outcome = "admitted"
            except ApiError:
                outcome = "refused"

            with outcomes_lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()

    for thread in threads:
        thread.join(timeout=10)

    assert (outcomes.count("admitted"), outcomes.count("refused")) == (100, 300)
    assert limiter.counts() == {("key", KEY): 100, ("user", KEY, "u1"): 100}
