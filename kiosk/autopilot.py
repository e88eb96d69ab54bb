"""Demo residents (`qms demo`, `qms kiosk --residents SECONDS`): an input source of taps.

The kiosk app polls each of its tap sources once a step with the time and what is on screen;
the autopilot answers with the taps of a simulated resident walking home → department →
business → take a number → done, about every `every_s` seconds, only from the home screen.
"""

from __future__ import annotations

import random

from .flow import KioskState, Screen, Tap
from .screens import View

STEP_S = 0.8  # between a simulated resident's taps
READ_S = 6.0  # how long a simulated resident looks at the number


class Autopilot:
    """Taps of simulated residents, one every `every_s` seconds on average (±40 %)."""

    def __init__(self, every_s: float, rng: random.Random | None = None) -> None:
        self.every_s = every_s
        self._rng = rng or random.Random()
        self._script: list[tuple[float, str]] = []  # (due, target), in time order
        self._next_resident = 0.0

    def poll(self, now: float, state: KioskState, view: View) -> list[Tap]:
        """The taps due at `now` (monotonic seconds)."""
        due: list[Tap] = []
        while self._script and self._script[0][0] <= now:
            due.append(Tap(self._script.pop(0)[1]))
        if due or self._script or state.screen is not Screen.HOME or \
                now < self._next_resident or not view.departments:
            return due
        dept = self._rng.choice(view.departments)
        service = self._rng.choice(dept.services[:6])
        steps = [f"dept:{dept.id}", f"service:{service.id}", "take"]
        self._script = [(now + STEP_S * (i + 1), target) for i, target in enumerate(steps)]
        self._script.append((now + READ_S, "done"))
        self._next_resident = now + self.every_s * self._rng.uniform(0.6, 1.4)
        return due
