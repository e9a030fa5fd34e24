"""Telegram-like flood limits: sliding windows and a per-private-chat token bucket."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

SENDING_METHODS = frozenset(
    name.lower()
    for name in (
        "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage", "forwardMessage",
        "sendContact", "sendLocation", "sendPoll", "sendSticker", "sendAudio", "sendVideo", "sendVoice",
        "sendAnimation", "sendVenue", "sendDice",
    )
)


@dataclass
class RateLimitConfig:
    """Limits; edits and callback answers are deliberately not limited by the sandbox."""

    enabled: bool = True
    global_per_s: int = 30
    paid_per_s: int = 1000
    private_burst: int = 3
    private_refill_per_s: float = 1.0
    group_per_window: int = 20
    group_window_s: float = 60.0


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.events: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds until one more event would fit (0 if it fits now)."""
        while self.events and self.events[0] <= now - self.window:
            self.events.popleft()
        if len(self.events) < self.limit:
            return 0.0
        return self.events[len(self.events) - self.limit] + self.window - now

    def add(self, now: float) -> None:
        self.events.append(now)


@dataclass
class TokenBucket:
    """Capacity ``capacity`` tokens refilled at ``rate`` per second."""

    capacity: float
    rate: float
    tokens: float = -1.0
    stamp: float = 0.0

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.stamp = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def add(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1


@dataclass
class RateLimiter:
    """Decides whether a message-sending call is allowed; returns ``retry_after`` seconds if not."""

    config: RateLimitConfig = field(default_factory=RateLimitConfig)
    clock: Callable[[], float] = time.monotonic
    _global: SlidingWindow | None = None
    _paid: SlidingWindow | None = None
    _private: dict[int, TokenBucket] = field(default_factory=dict)
    _groups: dict[int, SlidingWindow] = field(default_factory=dict)

    def reset(self) -> None:
        self._global = self._paid = None
        self._private.clear()
        self._groups.clear()

    def check(self, method: str, chat_id: int, is_private: bool, paid: bool) -> int | None:
        """Consume quota for a sending call; ``None`` if allowed, else the retry_after seconds."""
        if not self.config.enabled or method.lower() not in SENDING_METHODS:
            return None
        cfg = self.config
        now = self.clock()
        if self._global is None or self._paid is None:
            self._global = SlidingWindow(cfg.global_per_s, 1.0)
            self._paid = SlidingWindow(cfg.paid_per_s, 1.0)
        limiters: list[SlidingWindow | TokenBucket] = [self._paid if paid else self._global]
        if is_private:
            limiters.append(self._private.setdefault(
                chat_id, TokenBucket(cfg.private_burst, cfg.private_refill_per_s)))
        elif not paid:
            limiters.append(self._groups.setdefault(
                chat_id, SlidingWindow(cfg.group_per_window, cfg.group_window_s)))
        wait = max(limiter.wait_time(now) for limiter in limiters)
        if wait > 0:
            return max(1, math.ceil(wait))
        for limiter in limiters:
            limiter.add(now)
        return None
