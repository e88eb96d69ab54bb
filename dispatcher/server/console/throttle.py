"""Login throttling: bounded failed attempts per user name and per address.

After `per_user` failures for one user name (or `per_address` from one address) within
`window_s`, further attempts are refused until the oldest failure leaves the window — even
with the right password, so guessing gains nothing. Memory stays bounded: at most `max_keys`
names and addresses are tracked (the stalest are forgotten first). Plain code, clock injected.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(self, clock: Callable[[], float], per_user: int = 5, per_address: int = 20,
                 window_s: float = 900.0, max_keys: int = 10_000) -> None:
        self.clock = clock
        self.per_user = per_user
        self.per_address = per_address
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def wait_s(self, username: str, address: str) -> int:
        """Seconds until this user name may try again from this address (0: now)."""
        now = self.clock()
        waits = [self._wait(f"user:{username.lower()}", self.per_user, now),
                 self._wait(f"addr:{address}", self.per_address, now)]
        return max(waits)

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        for key in (f"user:{username.lower()}", f"addr:{address}"):
            times = self._failures.pop(key, None) or deque()
            times.append(now)
            self._failures[key] = times  # most recent last
            while len(times) > max(self.per_user, self.per_address):
                times.popleft()
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        """A good login clears the name's failures and takes back the attempt it counted for
        its address (the address's other failures stay: it may be guessing at many names)."""
        self._failures.pop(f"user:{username.lower()}", None)
        times = self._failures.get(f"addr:{address}")
        if times:
            times.pop()

    def _wait(self, key: str, limit: int, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) < limit:
            return 0
        return max(1, math.ceil(times[-limit] + self.window_s - now))
