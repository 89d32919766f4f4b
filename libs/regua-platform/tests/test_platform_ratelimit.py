"""The token bucket (unit, with a fake clock)."""

from regua_platform.ratelimit import AttemptLimiter, TokenBucket


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


def test_attempts_per_key_a_minute_then_wait_and_refused_attempts_cost_nothing() -> None:
    clock = FakeClock()
    limiter = AttemptLimiter(30, clock=clock)
    assert [limiter.attempt("ip:a") for _ in range(30)] == [0.0] * 30
    assert limiter.attempt("ip:a") == 2.0  # one attempt every 2 s once the minute's 30 are spent
    assert limiter.attempt("ip:b") == 0.0  # each key its own allowance
    clock.now += 1
    assert limiter.wait("ip:a") == 1.0 and limiter.attempt("ip:a") == 1.0  # refusals did not deepen the debt
    clock.now += 1
    assert limiter.attempt("ip:a") == 0.0 and limiter.wait("ip:a") == 2.0


def test_wait_peeks_without_counting_and_idle_keys_are_forgotten() -> None:
    clock = FakeClock()
    limiter = AttemptLimiter(2, clock=clock, max_keys=2)
    assert [limiter.wait("k") for _ in range(10)] == [0.0] * 10
    limiter.attempt("a")
    limiter.attempt("b")
    clock.now += 3600
    limiter.attempt("c")  # a and b refilled long ago: dropped to make room
    assert set(limiter._buckets) == {"c"}
    assert AttemptLimiter(0).attempt("x") == 0.0  # zero: no limit
