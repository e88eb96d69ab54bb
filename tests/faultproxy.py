"""A small TCP proxy on loopback that can break the link between a client and the dispatcher.

Modes: `pass` forwards both ways; `blackhole` accepts and holds connections but forwards
nothing (like a dead Wi-Fi link); `cut_responses` forwards requests but drops every answer
and closes the connection (the request was done, the answer lost). `heal()` closes every
connection opened before it, as a link down that long would have, and forwards again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class FaultProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.mode = "pass"
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        fut.result(5)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            if self.mode == "blackhole":
                await reader.read()  # hold the connection, forward nothing
                return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            self._writers.add(up_writer)
            await asyncio.gather(
                self._pipe(reader, up_writer, downstream=False),
                self._pipe(up_reader, writer, downstream=True),
            )
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (writer,):
                self._close(w)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    downstream: bool) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if self.mode == "blackhole":
                    continue  # dropped on the floor
                if downstream and self.mode == "cut_responses":
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._close(writer)

    def _close(self, writer: asyncio.StreamWriter) -> None:
        self._writers.discard(writer)
        with contextlib.suppress(Exception):
            writer.close()

    def set_mode(self, mode: str) -> None:
        self.mode = mode

    def heal(self) -> None:
        def close_all() -> None:
            for w in list(self._writers):
                self._close(w)
            self.mode = "pass"

        self._loop.call_soon_threadsafe(close_all)

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                self._close(w)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
