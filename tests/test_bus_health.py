"""The serial bus master's health reports: kept per master, shown "unknown" once stale, and
refused whole when malformed or from a device that is not a caller."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from dispatcher.server.http import build_app
from dispatcher.server.presence import BUS_REPORT_STALE_S, BusDeviceStatus, Presence
from dispatcher.server.service import DispatcherService
from dispatcher.server.store import Store

from .helpers import ADMIN, DESK3, HALL, KIOSK, MONDAY_9, SCREEN, small_config
from .live import FakeClock

CONFIG = small_config()
SINCE = "2026-11-30T08:59:00+08:00"
REPORT: dict[str, Any] = {
    "cycle_ms": 84.5,
    "devices": [
        {"address": 3, "kind": "rating_pad", "window": 1, "state": "no_answer", "errors": 7,
         "since": SINCE},
        {"address": 1, "kind": "window_display", "window": 1, "state": "ok", "errors": 0,
         "since": SINCE},
        {"address": 2, "kind": "keypad", "window": 1, "state": "crc_errors", "errors": 2,
         "since": None},
        {"address": 4, "kind": "window_display", "window": 2, "state": "unknown", "errors": 0,
         "since": None},
    ],
}
Call = Callable[..., Awaitable[int]]


def run(tmp_path: Path, scenario: Callable[[Call, Presence, FakeClock], Awaitable[None]]
        ) -> None:
    """`scenario(put, presence, clock)` against a dispatcher in this loop; `put(body, token)`
    answers the status of PUT /bus/health."""

    async def main() -> None:
        clock = FakeClock()
        store = Store(tmp_path / "qms.db")
        service = DispatcherService(CONFIG, store, clock)
        await service.start()
        presence = Presence(clock)
        try:
            async with TestClient(TestServer(build_app(CONFIG, service, presence))) as client:

                async def put(body: Any, token: str | None = HALL, raw: bytes | None = None,
                              method: str = "PUT") -> int:
                    headers = {"Content-Type": "application/json"}
                    if token is not None:
                        headers["Authorization"] = f"Bearer {token}"
                    data = raw if raw is not None else json.dumps(body).encode()
                    async with client.request(method, "/api/v1/bus/health", data=data,
                                              headers=headers) as resp:
                        text = await resp.text()
                        if resp.status >= 400:
                            assert json.loads(text)["error"]["code"], text
                        else:
                            assert text == ""
                        return resp.status

                await scenario(put, presence, clock)
        finally:
            await service.stop()
            store.close()

    asyncio.run(main())


def test_a_report_is_accepted_and_its_devices_listed(tmp_path: Path) -> None:
    async def scenario(put: Call, presence: Presence, clock: FakeClock) -> None:
        assert presence.bus_devices(clock()) == []
        assert await put(REPORT) == 204
        since = dt.datetime.fromisoformat(SINCE)
        assert presence.bus_devices(clock()) == [
            BusDeviceStatus("hall", 1, "window_display", 1, "ok", 0, since, MONDAY_9),
            BusDeviceStatus("hall", 2, "keypad", 1, "crc_errors", 2, None, MONDAY_9),
            BusDeviceStatus("hall", 3, "rating_pad", 1, "no_answer", 7, since, MONDAY_9),
            BusDeviceStatus("hall", 4, "window_display", 2, "unknown", 0, None, MONDAY_9),
        ]
        version = presence.version
        assert version > 0
        clock.advance(10)
        assert await put(REPORT) == 204  # the same report again: nothing new to show
        assert presence.version == version
        assert {d.reported_at for d in presence.bus_devices(clock())} == {clock()}
        changed = {**REPORT, "devices": [{**REPORT["devices"][0], "state": "ok"}]}
        assert await put(changed) == 204  # the last report replaces the one before
        assert presence.version == version + 1
        assert [(d.address, d.state) for d in presence.bus_devices(clock())] == [(3, "ok")]
        # Each master's report is its own.
        assert await put({"cycle_ms": 0, "devices": []}, DESK3) == 204
        assert await put(REPORT, ADMIN) == 204  # a manager's token may do anything
        assert {d.reporter for d in presence.bus_devices(clock())} == {"hall", "boss"}

    run(tmp_path, scenario)


def test_the_devices_of_a_report_older_than_30_s_are_unknown(tmp_path: Path) -> None:
    async def scenario(put: Call, presence: Presence, clock: FakeClock) -> None:
        assert BUS_REPORT_STALE_S == 30
        assert await put(REPORT) == 204
        clock.advance(30)
        assert [d.state for d in presence.bus_devices(clock())] == [
            "ok", "crc_errors", "no_answer", "unknown"]
        clock.advance(1)
        stale = presence.bus_devices(clock())
        assert [d.state for d in stale] == ["unknown"] * 4  # never shown as ok
        assert [(d.address, d.errors, d.reported_at) for d in stale] == [
            (1, 0, MONDAY_9), (2, 2, MONDAY_9), (3, 7, MONDAY_9), (4, 0, MONDAY_9)]
        version = presence.version
        assert await put(REPORT) == 204  # the master is back: its word holds again
        assert presence.version == version + 1
        assert [d.state for d in presence.bus_devices(clock())] == [
            "ok", "crc_errors", "no_answer", "unknown"]

    run(tmp_path, scenario)


def _device(**change: Any) -> dict[str, Any]:
    return {**REPORT, "devices": [{**REPORT["devices"][1], **change}]}


BAD_BODIES: list[Any] = [
    {"devices": REPORT["devices"]},
    {"cycle_ms": 1.0},
    {"cycle_ms": -0.1, "devices": []},
    {"cycle_ms": "fast", "devices": []},
    {"cycle_ms": 1.0, "devices": {}},
    {"cycle_ms": 1.0, "devices": [REPORT["devices"][1]] * 257},
    _device(address=0), _device(address=248), _device(address="1"), _device(address=1.5),
    _device(kind="lamp"), _device(kind=None),
    _device(window=0), _device(window=None),
    _device(state="fine"), _device(state="OK"),
    _device(errors=-1), _device(errors=1.5),
    _device(since="2026-11-30T08:59:00"), _device(since="yesterday"), _device(since=5),
    {**REPORT, "devices": [{k: v for k, v in REPORT["devices"][1].items() if k != "state"}]},
    [REPORT],
]


def test_a_malformed_report_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    async def scenario(put: Call, presence: Presence, clock: FakeClock) -> None:
        for body in BAD_BODIES:
            assert await put(body) == 400, body
        for raw in (b"", b"{not json", b"\xff"):
            assert await put(None, raw=raw) == 400, raw
        assert presence.bus_reports == {} and presence.version == 0
        assert presence.bus_devices(clock()) == []
        # 256 devices is the most a report may hold; 3.0 is a whole number, as JSON has it.
        assert await put({"cycle_ms": 1.0, "devices": [REPORT["devices"][1]] * 256}) == 204
        assert await put(_device(address=3.0, window=2.0, errors=4.0)) == 204
        assert [(d.address, d.window, d.errors) for d in presence.bus_devices(clock())] == [
            (3, 2, 4)]

    run(tmp_path, scenario)


def test_only_a_caller_device_may_report(tmp_path: Path) -> None:
    async def scenario(put: Call, presence: Presence, clock: FakeClock) -> None:
        for token in (KIOSK, SCREEN):
            assert await put(REPORT, token) == 403, token
        assert await put(REPORT, None) == 401
        assert await put(REPORT, "not-a-known-token") == 401
        assert await put(REPORT, method="POST") == 405
        assert presence.bus_reports == {} and presence.version == 0

    run(tmp_path, scenario)
