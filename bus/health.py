"""One device's link as the bus master sees it: health, retry backoff and the event counter.

Pure (the clock is passed in): a device that stops answering is retried after 1, 2, 4 … 30 s
(with jitter), so it costs the others at most one timeout per retry; a garbled answer marks the
line (CRC errors) but the device is polled again next cycle.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from base.backoff import Backoff
from bus.registers import Kind, counter_delta


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
    _backoff: Backoff | None = None

    def due(self, now: float) -> bool:
        return now >= self.next_try

    def answered(self, now: float) -> bool:
        """A good answer. True if the health changed. Coming back from silence, the device may
        have lost power: its counter is read as a new baseline and its registers rewritten."""
        back = self.health is not Health.OK and self.health is not Health.CRC_ERRORS
        if back:
            self.counter = None
        if self._backoff is not None:
            self._backoff.reset()
        self.next_try = now
        return self._set(Health.OK, now)

    def silent(self, now: float) -> bool:
        """No answer within the timeout: retry later, backing off."""
        self.errors += 1
        if self._backoff is None:
            self._backoff = Backoff(self.retry_base_s, self.retry_cap_s, self.rng)
        self.next_try = now + self._backoff.next()
        return self._set(Health.NO_ANSWER, now)

    def garbled(self, now: float) -> bool:
        """An answer that failed its CRC or made no sense: ignored, polled again next cycle."""
        self.errors += 1
        self.next_try = now
        return self._set(Health.CRC_ERRORS, now)

    def read_counter(self, value: int) -> int:
        """Events since the last reading (0 for a baseline reading)."""
        before, self.counter = self.counter, value
        return 0 if before is None else counter_delta(before, value)

    def _set(self, health: Health, now: float) -> bool:
        if health is self.health:
            return False
        self.health = health
        self.changed_at = now
        return True
