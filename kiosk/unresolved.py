"""The kiosk's requests for a number whose outcome is not settled yet, kept on disk.

A request is added before it is sent and removed once settled: the resident holds the ticket,
the dispatcher refused it, or a ticket nobody holds was cancelled. What is left after a lost
link or a restart is resolved when the dispatcher answers again (the same request id gives
the same ticket, which is then cancelled), so no number waits in the queue that no resident
holds.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unresolved:
    request_id: str
    service_id: str
    sign_language: bool = False
    abandoned: bool = False  # the resident was told no number was taken
    appointment_code: str | None = None  # a check-in (service_id "": the booking's business)

    @classmethod
    def from_dict(cls, raw: Any) -> Unresolved:
        """One entry as saved; ValueError if it is not one."""
        try:
            item = cls(**raw)
        except TypeError:  # not an object, or keys missing or unknown
            item = None
        if item is None or not (
                isinstance(item.request_id, str) and item.request_id
                and isinstance(item.service_id, str)
                and (item.appointment_code is None or isinstance(item.appointment_code, str))
                and (item.service_id or item.appointment_code)
                and isinstance(item.sign_language, bool) and isinstance(item.abandoned, bool)):
            raise ValueError(f"not a request: {raw!r:.200}")
        return item


class UnresolvedRequests:
    """A small set of requests, rewritten atomically (and synced) on every change."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._items: dict[str, Unresolved] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        """Read back after a restart (whoever made them is gone); a bad entry is skipped."""
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("%s cannot be read, its requests are forgotten: %s", path, exc)
            return
        if not isinstance(saved, list):
            log.warning("%s is not a list of requests: ignored", path)
            return
        for raw in saved:
            try:
                item = Unresolved.from_dict(raw)
            except ValueError as exc:
                log.warning("%s: skipping a bad entry: %s", path, exc)
                continue
            self._items[item.request_id] = replace(item, abandoned=True)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[Unresolved]:
        return list(self._items.values())

    def add(self, request_id: str, service_id: str, sign_language: bool,
            appointment_code: str | None = None) -> None:
        self._items[request_id] = Unresolved(request_id, service_id, sign_language,
                                             appointment_code=appointment_code)
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
        folder = os.open(self.path.parent, os.O_RDONLY)  # the rename itself, on disk
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

