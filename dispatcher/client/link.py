"""`DispatcherLink`: a DispatcherClient on its own thread, for a pygame (or any synchronous) loop.

Commands return `concurrent.futures.Future`s; stream items (link changes, snapshots, events)
arrive on a `queue.Queue` that the loop drains once per frame.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from dispatcher.client.client import DispatcherClient


class DispatcherLink:
    """A DispatcherClient on its own thread, for a pygame (or any synchronous) loop."""

    def __init__(self, base_url: str, token: str, **client_options: Any) -> None:
        self._options = client_options
        self._base_url = base_url
        self._token = token
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notify: Callable[[], None] | None = None  # called (link thread) after each item
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="qms-link", daemon=True)
        self._client: DispatcherClient | None = None
        self._pump: asyncio.Task[None] | None = None
        self._ready = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._client = DispatcherClient(self._base_url, self._token, **self._options)
        self._ready.set()
        self._loop.run_forever()

    def start(self, subscribe: bool = True) -> DispatcherLink:
        self._thread.start()
        self._ready.wait()
        if subscribe:
            self._loop.call_soon_threadsafe(self._start_pump)
        return self

    def _start_pump(self) -> None:
        assert self._client is not None
        client = self._client

        async def pump() -> None:
            async for item in client.events():
                self.events.put(item)
                if self.notify is not None:
                    self.notify()

        self._pump = self._loop.create_task(pump())

    def submit(self, make: Callable[[DispatcherClient], Coroutine[Any, Any, Any]]
               ) -> concurrent.futures.Future[Any]:
        """Run `make(client)` on the link's loop: `link.submit(lambda c: c.window(3, "recall"))`."""
        assert self._client is not None, "start() first"
        return asyncio.run_coroutine_threadsafe(make(self._client), self._loop)

    def drain(self) -> list[dict[str, Any]]:
        """Every stream item that has arrived, without waiting (for a frame loop)."""
        items: list[dict[str, Any]] = []
        while True:
            try:
                items.append(self.events.get_nowait())
            except queue.Empty:
                return items

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the stream and every command still running (or waiting to be sent again)."""
        async def shutdown() -> None:
            running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            if self._client is not None:
                await self._client.close()

        if self._thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
            with contextlib.suppress(Exception):
                fut.result(timeout)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
