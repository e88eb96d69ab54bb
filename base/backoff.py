"""Capped exponential backoff with jitter, for every retry loop (client, printer worker)."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delays base·2ⁿ capped at `cap`, each scaled by a random factor in [0.5, 1]."""

    def __init__(self, base: float = 0.2, cap: float = 10.0,
                 rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The next delay in seconds; each call backs off further."""
        delay = min(self.cap, self.base * 2.0 ** min(self.attempt, 16))
        self.attempt += 1
        return float(delay * self._rng.uniform(0.5, 1.0))

    def reset(self) -> None:
        """Start again from `base` (after a success)."""
        self.attempt = 0


def backoff_delays(base: float = 0.2, cap: float = 10.0,
                   rng: random.Random | None = None) -> Callable[[], float]:
    """A fresh backoff as a function: each call gives the next delay."""
    return Backoff(base, cap, rng).next
