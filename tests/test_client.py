"""The client library: retries under one request_id, dead-link detection, resync, the thread."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from base.backoff import backoff_delays
from dispatcher.client import ApiError, DispatcherClient, DispatcherLink, LinkDown, StateMirror

from .conftest import wait_until
from .faultproxy import FaultProxy
from .helpers import HALL, KIOSK, SCREEN, small_config
from .live import LiveDispatcher


@pytest.fixture
def proxy(live: LiveDispatcher) -> Iterator[FaultProxy]:
    p = FaultProxy(live.port).start()
    yield p
    p.stop()


def server_state(live: LiveDispatcher) -> dict[str, Any]:
    state: dict[str, Any] = live.call("GET", "/state", token=SCREEN)[1]
    state.pop("epoch")
    return state


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    delay = backoff_delays(base=0.2, cap=10.0, rng=random.Random(1))
    delays = [delay() for _ in range(12)]
    for n, d in enumerate(delays):
        ceiling = min(10.0, 0.2 * 2**n)
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= 10.0 and delays[-1] >= 5.0


def test_a_lost_answer_is_retried_under_the_same_request_id(
    live: LiveDispatcher, proxy: FaultProxy
) -> None:
    async def scenario() -> Any:
        async with DispatcherClient(f"http://127.0.0.1:{proxy.port}", KIOSK, timeout=1.0,
                                    retry_for=10) as client:
            proxy.set_mode("cut_responses")
            threading.Timer(0.5, proxy.heal).start()
            return await client.issue_ticket("sb-card")

    reply = asyncio.run(scenario())
    state = server_state(live)
    assert [t["number"] for t in state["waiting"]] == ["B001"]  # done once, answered once
    assert reply["ticket"]["number"] == "B001"


def test_requests_give_up_with_link_down_after_the_retry_time(
    live: LiveDispatcher, proxy: FaultProxy
) -> None:
    proxy.set_mode("blackhole")

    async def scenario() -> float:
        async with DispatcherClient(f"http://127.0.0.1:{proxy.port}", KIOSK, timeout=0.3,
                                    retry_for=1.0) as client:
            start = time.monotonic()
            with pytest.raises(LinkDown):
                await client.issue_ticket("sb-card")
            return time.monotonic() - start

    assert asyncio.run(scenario()) < 3.0


def test_an_error_answer_is_not_retried(live: LiveDispatcher) -> None:
    async def scenario() -> None:
        async with DispatcherClient(live.url, KIOSK) as client:
            with pytest.raises(ApiError) as err:
                await client.issue_ticket("no-such-business")
            assert err.value.status == 422 and err.value.code == "unknown_service"

    asyncio.run(scenario())


async def follow(client: DispatcherClient, mirror: StateMirror, seen: list[dict[str, Any]],
                 link: list[tuple[float, bool]]) -> None:
    async for item in client.events():
        if item["type"] == "link":
            link.append((time.monotonic(), item["up"]))
        seen.append(item)
        mirror.feed(item)


async def wait_for(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def test_a_blackholed_link_is_noticed_and_resynced_to_the_servers_state(
    live: LiveDispatcher, proxy: FaultProxy
) -> None:
    mirror = StateMirror(live.config)
    seen: list[dict[str, Any]] = []
    link: list[tuple[float, bool]] = []
    live.call("POST", "/tickets", {"request_id": "before", "service_id": "sb-card"}, KIOSK)

    async def scenario() -> float:
        client = DispatcherClient(f"http://127.0.0.1:{proxy.port}", SCREEN, timeout=2.0)
        task = asyncio.create_task(follow(client, mirror, seen, link))
        await wait_for(lambda: mirror.link_up and mirror.seq == 2, 5)
        proxy.set_mode("blackhole")
        cut = time.monotonic()
        # Life goes on in the hall while this device is cut off.
        for i in range(5):
            live.call("POST", "/tickets", {"request_id": f"during-{i}",
                                           "service_id": "yb-dabing"}, KIOSK)
        live.clock.advance(10)
        live.call("POST", "/windows/1/call-next", {"request_id": "c1"}, HALL)
        live.call("POST", "/windows/2/pause", {"request_id": "p2"}, HALL)
        await wait_for(lambda: not mirror.link_up, 8)
        noticed = link[-1][0] - cut
        await asyncio.sleep(1.0)
        proxy.heal()
        live.call("POST", "/tickets", {"request_id": "after", "service_id": "zf-lianzu"}, KIOSK)
        final = live.call("GET", "/health")[1]["seq"]
        await wait_for(lambda: mirror.link_up and mirror.seq == final, 15)
        task.cancel()
        await client.close()
        return noticed

    noticed = asyncio.run(scenario())
    assert noticed <= 5.5, f"the dead link took {noticed:.1f} s to notice"
    assert mirror.to_dict() == server_state(live)
    events = [m["seq"] for m in seen if m["type"] not in ("link", "snapshot")]
    assert events == sorted(set(events)), "an event was delivered twice or out of order"
    snapshots = [m["seq"] for m in seen if m["type"] == "snapshot"]
    covered = set(events) | set(range(1, snapshots[-1] + 1))
    assert covered >= set(range(1, mirror.seq + 1)), "an event was lost"  # type: ignore[operator]


def test_a_dispatcher_restart_is_followed_by_a_resume(tmp_path: Path) -> None:
    db = tmp_path / "qms.db"
    first = LiveDispatcher(small_config(), db).start()
    proxy = FaultProxy(first.port).start()
    mirror = StateMirror(first.config)
    seen: list[dict[str, Any]] = []
    first.call("POST", "/tickets", {"request_id": "a", "service_id": "sb-card"}, KIOSK)
    servers = [first]

    async def scenario() -> None:
        client = DispatcherClient(f"http://127.0.0.1:{proxy.port}", SCREEN, backoff_cap=1.0)
        task = asyncio.create_task(follow(client, mirror, seen, []))
        await wait_for(lambda: mirror.seq == 2, 5)
        await asyncio.to_thread(first.stop)
        second = LiveDispatcher(small_config(), db, clock=first.clock).start()
        servers.append(second)
        proxy.target_port = second.port
        second.call("POST", "/tickets", {"request_id": "b", "service_id": "sb-card"}, KIOSK)
        await wait_for(lambda: mirror.seq == 3 and mirror.link_up, 10)
        task.cancel()
        await client.close()

    try:
        asyncio.run(scenario())
        assert [m["type"] for m in seen if m["type"] in ("snapshot", "ticket_issued")] == [
            "snapshot", "ticket_issued"]  # resumed, not re-snapshotted
        state = servers[-1].call("GET", "/state", token=SCREEN)[1]
        state.pop("epoch")
        assert mirror.to_dict() == state
    finally:
        proxy.stop()
        servers[-1].stop()


def test_the_threaded_link_serves_a_synchronous_loop(live: LiveDispatcher) -> None:
    wait_until(lambda: live.call("GET", "/health")[1]["seq"] == 1, what="the day started")
    link = DispatcherLink(live.url, KIOSK).start()
    try:
        first = link.events.get(timeout=5)
        assert first == {"type": "link", "up": True}
        snapshot = link.events.get(timeout=5)
        assert snapshot["type"] == "snapshot" and snapshot["state"]["date"] == "2026-11-30"
        reply = link.submit(lambda c: c.issue_ticket("yb-dabing")).result(5)
        assert reply["ticket"]["number"] == "A001"
        issued = link.events.get(timeout=5)
        assert (issued["type"], issued["ticket"]["number"]) == ("ticket_issued", "A001")
    finally:
        link.stop()
    assert not link._thread.is_alive()
