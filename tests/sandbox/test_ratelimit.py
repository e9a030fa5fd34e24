"""Unit tests of the flood-limit arithmetic."""

from __future__ import annotations

from sandbox.ratelimit import RateLimitConfig, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_private_bucket_refills_one_per_second() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimitConfig(), clock=clock)
    assert [limiter.check("sendMessage", 1, True, False) for _ in range(3)] == [None, None, None]
    assert limiter.check("sendMessage", 1, True, False) == 1
    clock.now += 1.0
    assert limiter.check("sendMessage", 1, True, False) is None
    assert limiter.check("sendMessage", 2, True, False) is None


def test_group_window_retry_after_counts_down() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimitConfig(global_per_s=1000), clock=clock)
    for _ in range(20):
        assert limiter.check("sendPhoto", -5, False, False) is None
        clock.now += 0.5
    assert limiter.check("sendPhoto", -5, False, False) == 50
    clock.now += 50
    assert limiter.check("sendPhoto", -5, False, False) is None


def test_edits_and_disabled_limits_pass() -> None:
    limiter = RateLimiter(RateLimitConfig(enabled=True), clock=Clock())
    assert all(limiter.check("editMessageText", 1, True, False) is None for _ in range(50))
    limiter.config.enabled = False
    assert all(limiter.check("sendMessage", 1, True, False) is None for _ in range(50))
