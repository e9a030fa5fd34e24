"""The pacer of the delivery engine: the earliest moment each send may go out within Telegram's
limits (per second for the bot, per private chat, per group), measured as the server may have seen
the sends (see `_Window`). Pure timing: no I/O; `bot.delivery.DeliveryService` uses one.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

FREE_PER_S = 30
PAID_PER_S = 1000
PRIVATE_INTERVAL_S = 1.0
GROUP_INTERVAL_S = 1.0
GROUP_PER_WINDOW = 20
GROUP_WINDOW_S = 60.0
MARGIN_S = 0.002
MIN_GAP_FRACTION = 0.5
POLL_S = 0.002


class Ticket:
    """One granted send; `at` becomes the moment its answer came back (`Pacer.finished`)."""

    __slots__ = ("at", "done")

    def __init__(self, at: float) -> None:
        self.at = at
        self.done = False


class _Window:
    """At most `limit` sends in any `span` seconds, as the server can possibly have seen them.

    The server counts a send when it processes the request: at some moment between our
    grant and the arrival of its answer. So a new send is granted only `span` after the
    *answer* of the send `limit` places back (and of every older one) came back: whatever
    the network and server jitter, no `limit + 1` sends can then fall within `span`.
    """

    __slots__ = ("gap", "limit", "retired", "span", "tickets")

    def __init__(self, limit: int, span: float, gap: float) -> None:
        self.limit = limit
        self.span = span
        self.gap = gap
        self.tickets: deque[Ticket] = deque()
        self.retired = 0.0  # latest answer among tickets that left the window

    def slot(self) -> float | None:
        """Earliest grant time, or None while the oldest counted send is still unanswered."""
        tickets = self.tickets
        if not tickets:
            return 0.0
        slot = tickets[-1].at + self.gap if self.gap else 0.0
        if len(tickets) >= self.limit:
            oldest = tickets[0]
            if not oldest.done:
                return None
            slot = max(slot, max(oldest.at, self.retired) + self.span)
        return slot

    def take(self, ticket: Ticket) -> None:
        tickets = self.tickets
        tickets.append(ticket)
        if len(tickets) > self.limit:
            gone = tickets.popleft()
            if gone.at > self.retired:
                self.retired = gone.at


class Pacer:
    """Grants each send the earliest moment all of Telegram's limits allow (monotonic seconds).

    * at most `free_per_s` free sends (`paid_per_s` paid ones) in any second, as a sliding
      window measured from the answers (see `_Window`) plus `margin`; consecutive grants at
      least `min_gap_fraction` of the even spacing apart, so a late wake-up is caught up
      without a burst;
    * one message per `private_interval` per private chat (counted from the answer);
    * per group chat `group_per_window` in any `group_window` seconds, and `group_interval`
      between two;
    * after a 429 nothing at all for `retry_after` seconds, and while Telegram cannot be
      reached nothing for the engine's pause (`halt`).

    `acquire` returns a `Ticket`; the caller reports the answer with `finished(ticket)`.
    """

    def __init__(
        self,
        free_per_s: int = FREE_PER_S,
        paid_per_s: int = PAID_PER_S,
        private_interval: float = PRIVATE_INTERVAL_S,
        group_interval: float = GROUP_INTERVAL_S,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        margin: float = MARGIN_S,
        group_per_window: int = GROUP_PER_WINDOW,
        group_window: float = GROUP_WINDOW_S,
        min_gap_fraction: float = MIN_GAP_FRACTION,
        poll: float = POLL_S,
    ) -> None:
        self._free = _Window(free_per_s, 1.0 + margin, min_gap_fraction * (1.0 + margin) / free_per_s)
        self._paid = _Window(paid_per_s, 1.0 + margin, 0.0)
        # a chat's interval gets the margin too: a floating-point hair under it is still under it
        self.private_interval = private_interval + margin if private_interval else 0.0
        self.group_interval = group_interval + margin if group_interval else 0.0
        self.group_limit = group_per_window
        self.group_span = group_window + margin
        self.poll = poll
        self._now = now
        self._sleep = sleep
        self._halt_until = 0.0
        self._private: dict[int, Ticket] = {}
        self._groups: dict[int, _Window] = {}

    def _chat_slot(self, chat_id: int) -> float | None:
        if chat_id >= 0:
            last = self._private.get(chat_id)
            if last is None:
                return 0.0
            return last.at + self.private_interval if last.done else None
        window = self._groups.get(chat_id)
        return 0.0 if window is None else window.slot()

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until `chat_id` may receive another message (a poll interval if unknown yet)."""
        slot = self._chat_slot(chat_id)
        return self.poll if slot is None else max(0.0, slot - self._now())

    def halt(self, seconds: float) -> None:
        """A 429, or Telegram unreachable: nothing at all is sent for `seconds`."""
        self._halt_until = max(self._halt_until, self._now() + seconds)

    def halted_for(self) -> float:
        """Seconds left of the current halt (0 when sending may go on)."""
        return max(0.0, self._halt_until - self._now())

    def _slot(self, chat_id: int, paid: bool) -> float | None:
        window_slot = (self._paid if paid else self._free).slot()
        chat_slot = self._chat_slot(chat_id)
        if window_slot is None or chat_slot is None:
            return None
        return max(self._halt_until, window_slot, chat_slot)

    def wait_for(self, chat_id: int, paid: bool) -> float:
        slot = self._slot(chat_id, paid)
        now = self._now()
        if slot is None:
            return max(self.poll, self._halt_until - now)
        return max(0.0, slot - now)

    async def acquire(self, chat_id: int, paid: bool) -> Ticket:
        """Wait for the earliest allowed moment and take it."""
        while True:
            slot = self._slot(chat_id, paid)
            now = self._now()
            if slot is None:
                await self._sleep(max(self.poll, self._halt_until - now))
            elif slot > now:
                await self._sleep(slot - now)
            else:
                break
        ticket = Ticket(now)
        (self._paid if paid else self._free).take(ticket)
        if chat_id >= 0:
            self._private[chat_id] = ticket
            if len(self._private) > 50_000:
                cutoff = now - self.private_interval
                self._private = {c: t for c, t in self._private.items() if not t.done or t.at > cutoff}
        else:
            window = self._groups.get(chat_id)
            if window is None:
                window = self._groups[chat_id] = _Window(self.group_limit, self.group_span, self.group_interval)
            window.take(ticket)
        return ticket

    def finished(self, ticket: Ticket) -> None:
        """The answer to `ticket`'s send has come back (or the attempt was given up); once."""
        if not ticket.done:
            ticket.at = max(ticket.at, self._now())
            ticket.done = True
