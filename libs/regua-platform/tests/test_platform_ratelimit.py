"""The token bucket (unit, with a fake clock)."""

from regua_platform.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_capacity_then_one_token_per_interval() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, clock=clock)  # a tenth of a second's worth: 10 tokens
    assert bucket.capacity == 10
    waits = [bucket.reserve() for _ in range(13)]
    assert waits[:10] == [0.0] * 10
    assert [round(w, 4) for w in waits[10:]] == [0.01, 0.02, 0.03]  # each caller waits its turn


def test_tokens_refill_with_time_up_to_the_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, capacity=2, clock=clock)
    assert [bucket.reserve(), bucket.reserve()] == [0.0, 0.0]
    clock.now += 60
    assert [bucket.reserve(), bucket.reserve()] == [0.0, 0.0]
    assert round(bucket.reserve(), 4) == 0.1


def test_a_rate_of_zero_is_no_limit() -> None:
    bucket = TokenBucket(0)
    assert bucket.unlimited
    assert all(bucket.reserve() == 0.0 for _ in range(10_000))
