"""The kiosk's requests for a number whose outcome is not settled yet, kept on disk.

A request is added before it is sent and removed once settled: the resident holds the ticket,
the dispatcher refused it, or a ticket nobody holds was cancelled. What is left after a lost
link or a restart is resolved when the dispatcher answers again (the same request id gives
the same ticket, which is then cancelled), so no number waits in the queue that no resident
holds.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class Unresolved:
    request_id: str
    service_id: str
    sign_language: bool = False
    abandoned: bool = False  # the resident was told no number was taken


class UnresolvedRequests:
    """A small set of requests, rewritten atomically (and synced) on every change."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._items: dict[str, Unresolved] = {}
        if path is not None and path.exists():
            with contextlib.suppress(OSError, ValueError, TypeError):
                for raw in json.loads(path.read_text(encoding="utf-8")):
                    item = Unresolved(**raw)
                    # Read back after a restart: whoever made it is gone.
                    self._items[item.request_id] = replace(item, abandoned=True)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[Unresolved]:
        return list(self._items.values())

    def add(self, request_id: str, service_id: str, sign_language: bool) -> None:
        self._items[request_id] = Unresolved(request_id, service_id, sign_language)
        self._save()

    def abandon(self, request_id: str) -> None:
        item = self._items.get(request_id)
        if item is not None and not item.abandoned:
            self._items[request_id] = replace(item, abandoned=True)
            self._save()

    def resolve(self, request_id: str) -> None:
        if self._items.pop(request_id, None) is not None:
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump([asdict(i) for i in self._items.values()], f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

