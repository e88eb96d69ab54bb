"""What devices import to talk to the dispatcher: the asyncio client, the link thread for
pygame loops, and the state mirror kept from the event stream."""

from dispatcher.client.client import ApiError, DispatcherClient, LinkDown
from dispatcher.client.link import DispatcherLink
from dispatcher.client.mirror import StateMirror

__all__ = ["ApiError", "DispatcherClient", "DispatcherLink", "LinkDown", "StateMirror"]
