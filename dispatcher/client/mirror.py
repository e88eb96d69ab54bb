"""A device's copy of the queue state, kept current from the dispatcher's event stream.

Feed it every item of `DispatcherClient.events()`: a snapshot replaces the copy, each event is
applied with the core's own `apply_event`, so the copy is what the dispatcher shows in STATE.
"""

from __future__ import annotations

from typing import Any

from dispatcher.domain.config import Config
from dispatcher.domain.core import apply_event
from dispatcher.domain.events import TicketIssued, event_from_dict
from dispatcher.domain.model import QueueState


class StateMirror:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.state: QueueState | None = None
        self.link_up = False

    @property
    def seq(self) -> int | None:
        return None if self.state is None else self.state.seq

    def feed(self, message: dict[str, Any]) -> bool:
        """Take one stream item; True if the state (or the link) changed."""
        kind = message.get("type")
        if kind == "link":
            changed = self.link_up != bool(message["up"])
            self.link_up = bool(message["up"])
            return changed
        if kind == "snapshot":
            self.state = QueueState.from_dict(message["state"])
            return True
        if self.state is None or kind in ("resume", "heartbeat"):
            return False
        event = event_from_dict(message)
        ticket_id = getattr(event, "ticket_id", None)
        if (
            ticket_id is not None
            and ticket_id not in self.state.tickets
            and not isinstance(event, TicketIssued)
        ):
            # A ticket STATE does not show (finished earlier today): only the seq moves.
            self.state.seq += 1
            return False
        apply_event(self.state, event, self.config)
        return True

    def to_dict(self) -> dict[str, Any]:
        assert self.state is not None
        return self.state.to_dict()
