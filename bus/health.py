"""One device's link as the bus master sees it: health, retries and the event counter.

Pure (the clock is passed in).
- A missed answer is retried next cycle; only MISSES_GONE misses in a row mean the device is
  gone (no_answer). It is then retried after 1, 2, 4 … 30 s (with jitter), so it costs the
  others at most one timeout per retry.
- A garbled answer (bad CRC, or a refusal) marks the line: the device stays in crc_errors until
  it has answered well for CRC_CLEAR_S. After BAD_FRAMES_BACKOFF bad frames in a row it is backed
  off like a silent one.
- When a device comes back from no_answer, its next good reading of the counter is a baseline
  (a power cut is not a press), however many garbled answers came in between. A counter that
  jumps by more than MAX_EVENTS between two polls restarted (a power blip shorter than a poll):
  that reading is a baseline too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from base.backoff import Backoff
from bus.registers import Kind, counter_delta

MISSES_GONE = 3
BAD_FRAMES_BACKOFF = 3
CRC_CLEAR_S = 60.0
MAX_EVENTS = 32  # more presses than this between two polls (≤ 1 s) is a restart, not presses


class Health(StrEnum):
    UNKNOWN = "unknown"  # not reached yet since start
    OK = "ok"
    NO_ANSWER = "no_answer"
    CRC_ERRORS = "crc_errors"


@dataclass(frozen=True)
class BusDevice:
    """One `[[bus.devices]]` entry."""

    address: int
    kind: Kind
    window: int


@dataclass
class DeviceLink:
    device: BusDevice
    rng: random.Random = field(default_factory=random.Random)
    retry_base_s: float = 1.0
    retry_cap_s: float = 30.0
    health: Health = Health.UNKNOWN
    errors: int = 0  # failed transactions since start (no answer or bad frame)
    changed_at: float | None = None  # clock time of the last health change
    next_try: float = 0.0
    counter: int | None = None  # last event counter read; None: the next reading is a baseline
    resync: bool = True  # the next good answer finds the device new: rewrite what it shows
    readback: bool = True  # False: the display refused the read-back of its mode register
    _misses: int = 0  # no answer, in a row
    _bad: int = 0  # bad frames, in a row
    _last_bad: float | None = None
    _backoff: Backoff | None = None

    def due(self, now: float) -> bool:
        return now >= self.next_try

    def answered(self, now: float) -> tuple[bool, bool]:
        """A good answer: (health changed, came back). Coming back, the device may have lost
        power: its counter is read as a new baseline and everything it shows is rewritten."""
        came_back, self.resync = self.resync, False
        if came_back:
            self.counter = None
        self._misses = self._bad = 0
        if self._backoff is not None:
            self._backoff.reset()
        self.next_try = now
        if self.health is Health.CRC_ERRORS and self._last_bad is not None \
                and now - self._last_bad < CRC_CLEAR_S:
            return False, came_back
        return self._set(Health.OK, now), came_back

    def silent(self, now: float) -> bool:
        """No answer within the timeout: retried next cycle, then backed off once gone."""
        self.errors += 1
        self._misses += 1
        if self._misses < MISSES_GONE and self.health is not Health.NO_ANSWER:
            self.next_try = now
            return False
        self.resync = True
        self._back_off(now)
        return self._set(Health.NO_ANSWER, now)

    def garbled(self, now: float) -> bool:
        """An answer that failed its CRC, made no sense or refused the request: ignored; the
        device is asked again next cycle, or after a backoff when it keeps doing it."""
        self.errors += 1
        self._bad += 1
        self._last_bad = now
        if self._bad >= BAD_FRAMES_BACKOFF:
            self._back_off(now)
        else:
            self.next_try = now
        if self.health is Health.NO_ANSWER:
            return False  # still not really back: it stays gone until a good answer
        return self._set(Health.CRC_ERRORS, now)

    def read_counter(self, value: int) -> int:
        """Events since the last reading (0 for a baseline reading or a restarted counter)."""
        before, self.counter = self.counter, value
        if before is None:
            return 0
        delta = counter_delta(before, value)
        return 0 if delta > MAX_EVENTS else delta

    def _back_off(self, now: float) -> None:
        if self._backoff is None:
            self._backoff = Backoff(self.retry_base_s, self.retry_cap_s, self.rng)
        self.next_try = now + self._backoff.next()

    def _set(self, health: Health, now: float) -> bool:
        if health is self.health:
            return False
        self.health = health
        self.changed_at = now
        return True
