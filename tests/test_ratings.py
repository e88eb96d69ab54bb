"""好差评: ratings by ticket and by window's pad, their rows and follow-up tasks, replay and
restart, the [ratings] config and its working-day calendar."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from base.config import ConfigError
from dispatcher.domain import commands as c
from dispatcher.domain.calendar import add_working_days, is_working_day
from dispatcher.domain.config import Ratings
from dispatcher.domain.core import QueueCore
from dispatcher.server.http import build_app
from dispatcher.server.presence import Presence
from dispatcher.server.service import DispatcherService
from dispatcher.server.store import SCHEMA_VERSION, Store
from qms.config import parse_config

from .helpers import ADMIN, DESK3, HALL, KIOSK, SCREEN, SMALL_TOML, Desk, small_config
from .live import FakeClock

CONFIG = small_config()


@dataclass
class Api:
    """A dispatcher in this event loop, its store and presence at hand, driven over HTTP."""

    client: TestClient[web.Request, web.Application]
    service: DispatcherService
    store: Store
    presence: Presence
    clock: FakeClock
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def rid(self) -> str:
        return f"t-{next(self.ids)}"

    async def call(self, method: str, path: str, body: Any = None, token: str | None = HALL,
                   raw: bytes | None = None) -> tuple[int, Any]:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        async with self.client.request(method, "/api/v1" + path, data=data,
                                       headers=headers) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None

    async def issue(self, service_id: str = "sb-card") -> dict[str, Any]:
        status, body = await self.call("POST", "/tickets",
                                       {"request_id": self.rid(), "service_id": service_id},
                                       KIOSK)
        assert status == 201, body
        ticket: dict[str, Any] = body["ticket"]
        return ticket

    async def call_next(self, window: int) -> dict[str, Any] | None:
        self.clock.advance(5)  # past the double-press guard
        status, body = await self.call("POST", f"/windows/{window}/call-next",
                                       {"request_id": self.rid()})
        assert status == 200, body
        ticket: dict[str, Any] | None = body["ticket"]
        return ticket

    async def rate(self, path: str, score: Any, token: str = HALL,
                   rid: str | None = None) -> tuple[int, Any]:
        return await self.call("POST", path, {"request_id": rid or self.rid(), "score": score},
                               token)

    async def seq(self) -> int:
        return int((await self.call("GET", "/health"))[1]["seq"])

    async def read(self, fn: Callable[[], Any]) -> Any:
        return await self.service.read(fn)


@contextlib.asynccontextmanager
async def dispatcher(db: Path, clock: FakeClock | None = None) -> AsyncIterator[Api]:
    store = Store(db)
    clock = clock or FakeClock()
    service = DispatcherService(CONFIG, store, clock)
    await service.start()
    presence = Presence(clock)
    try:
        async with TestClient(TestServer(build_app(CONFIG, service, presence))) as client:
            yield Api(client, service, store, presence, clock)
    finally:
        await service.stop()
        store.close()


def run(tmp_path: Path, scenario: Callable[[Api], Awaitable[None]]) -> None:
    async def main() -> None:
        async with dispatcher(tmp_path / "qms.db") as api:
            await scenario(api)

    asyncio.run(main())


# -- rating by ticket and by window -----------------------------------------------------------


def test_a_served_ticket_is_rated_by_its_id_and_carries_the_rating(tmp_path: Path) -> None:
    async def scenario(api: Api) -> None:
        ticket = await api.issue()
        assert ticket["rating"] is None
        assert (await api.call_next(3) or {})["id"] == ticket["id"]
        status, body = await api.rate(f"/tickets/{ticket['id']}/rating", 2)
        assert status == 200, body
        assert body["ticket"]["id"] == ticket["id"] and body["ticket"]["rating"] == 2
        status, body = await api.call("GET", f"/tickets/{ticket['id']}", token=SCREEN)
        assert status == 200 and body["ticket"]["rating"] == 2
        state = (await api.call("GET", "/state", token=SCREEN))[1]
        assert state["windows"][2]["current"]["rating"] == 2  # still being served, rated
        # Finished and still today's: it may be rated, once.
        await api.call_next(3)
        other = await api.issue()
        await api.call_next(3)
        await api.call_next(3)
        status, body = await api.rate(f"/tickets/{other['id']}/rating", 5, token=ADMIN)
        assert status == 200 and body["ticket"]["status"] == "done"

    run(tmp_path, scenario)


def test_a_window_rating_goes_to_the_ticket_being_served(tmp_path: Path) -> None:
    async def scenario(api: Api) -> None:
        await api.issue()
        served = await api.call_next(3)
        assert served is not None
        status, body = await api.rate("/windows/3/rating", 1)
        assert status == 200, body
        assert body["attached"] is True
        assert body["ticket"]["id"] == served["id"] and body["ticket"]["rating"] == 1

    run(tmp_path, scenario)


def test_a_window_rating_goes_to_the_last_ticket_finished_within_attach_min(
    tmp_path: Path,
) -> None:
    async def scenario(api: Api) -> None:
        first, second = await api.issue(), await api.issue()
        await api.call_next(3)
        assert (await api.call_next(3) or {})["id"] == second["id"]  # first finished
        assert await api.call_next(3) is None  # second finished, nobody left
        api.clock.advance(4 * 60 + 50)  # within the 5 minutes of [ratings] attach_min
        status, body = await api.rate("/windows/3/rating", 3)
        assert status == 200, body
        assert body["attached"] is True and body["ticket"]["id"] == second["id"]
        got = await api.call("GET", f"/tickets/{first['id']}", token=SCREEN)
        assert got[1]["ticket"]["rating"] is None
        # Another window finished nothing: its pad's rating is kept without a ticket.
        status, body = await api.rate("/windows/4/rating", 3)
        assert (status, body) == (200, {"ticket": None, "attached": False})

    run(tmp_path, scenario)


def test_a_window_rating_after_attach_min_is_kept_unattached(tmp_path: Path) -> None:
    async def scenario(api: Api) -> None:
        ticket = await api.issue()
        await api.call_next(3)
        await api.call_next(3)
        api.clock.advance(5 * 60 + 1)
        status, body = await api.rate("/windows/3/rating", 4)
        assert (status, body) == (200, {"ticket": None, "attached": False})
        got = await api.call("GET", f"/tickets/{ticket['id']}", token=SCREEN)
        assert got[1]["ticket"]["rating"] is None
        rows = await api.read(api.store.ratings)
        assert [(r["ticket_id"], r["number"], r["service_id"], r["window"], r["staff_id"],
                 r["score"]) for r in rows] == [(None, None, None, 3, "s3", 4)]
        tasks = await api.read(api.store.rating_tasks)
        assert [(t["ticket_id"], t["window"], t["score"]) for t in tasks] == [(None, 3, 4)]

    run(tmp_path, scenario)


def test_a_second_rating_of_a_ticket_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    async def scenario(api: Api) -> None:
        ticket = await api.issue()
        await api.call_next(3)
        assert (await api.rate(f"/tickets/{ticket['id']}/rating", 2))[0] == 200
        seq = await api.seq()
        for path in (f"/tickets/{ticket['id']}/rating", "/windows/3/rating"):
            status, body = await api.rate(path, 5)
            assert (status, body["error"]["code"]) == (409, "already_rated"), path
        await api.call_next(3)  # finished: the window's pad still finds it, rated
        status, body = await api.rate("/windows/3/rating", 5)
        assert (status, body["error"]["code"]) == (409, "already_rated")
        assert await api.seq() == seq + 1  # only the call-next
        assert [r["score"] for r in await api.read(api.store.ratings)] == [2]
        got = await api.call("GET", f"/tickets/{ticket['id']}", token=SCREEN)
        assert got[1]["ticket"]["rating"] == 2

    run(tmp_path, scenario)


def test_a_ticket_never_served_cannot_be_rated(tmp_path: Path) -> None:
    async def scenario(api: Api) -> None:
        absent = await api.issue()
        waiting = await api.issue("yb-baoxiao")
        assert (await api.call_next(1) or {})["id"] == absent["id"]
        status, _ = await api.call("POST", "/windows/1/no-show", {"request_id": api.rid()})
        assert status == 200
        for ticket, status_now in ((absent, "no_show"), (waiting, "waiting")):
            got = await api.call("GET", f"/tickets/{ticket['id']}", token=SCREEN)
            assert got[1]["ticket"]["status"] == status_now
        seq = await api.seq()
        for ticket in (waiting, absent):
            status, body = await api.rate(f"/tickets/{ticket['id']}/rating", 1)
            assert (status, body["error"]["code"]) == (409, "not_served"), ticket
        status, body = await api.rate("/tickets/2026-11-30-Z999/rating", 1)
        assert (status, body["error"]["code"]) == (404, "unknown_ticket")
        status, body = await api.rate("/windows/9/rating", 1)
        assert (status, body["error"]["code"]) == (404, "unknown_window")
        assert await api.seq() == seq
        assert await api.read(api.store.ratings) == []

    run(tmp_path, scenario)


@pytest.mark.parametrize("score", [0, 6, -1, "3", 3.5, 3.0, True, None, [3]])
def test_a_score_that_is_not_a_whole_number_from_1_to_5_is_refused_by_the_schema(
    tmp_path: Path, score: Any,
) -> None:
    # Refused as every body the schema refuses (400 bad_request, naming the field).
    async def scenario(api: Api) -> None:
        ticket = await api.issue()
        await api.call_next(3)
        seq = await api.seq()
        for path in (f"/tickets/{ticket['id']}/rating", "/windows/3/rating"):
            status, body = await api.rate(path, score)
            assert (status, body["error"]["code"]) == (400, "bad_request"), (path, body)
            assert "`$.score`" in body["error"]["message"]
        status, body = await api.call("POST", "/windows/3/rating", {"request_id": api.rid()})
        assert status == 400 and "`score`" in body["error"]["message"]
        assert await api.seq() == seq
        got = await api.call("GET", f"/tickets/{ticket['id']}", token=SCREEN)
        assert got[1]["ticket"]["rating"] is None

    run(tmp_path, scenario)


def test_a_repeated_request_id_gets_the_first_answer_and_changes_nothing(
    tmp_path: Path,
) -> None:
    async def scenario(api: Api) -> None:
        ticket = await api.issue()
        await api.call_next(3)
        first = await api.rate("/windows/3/rating", 2, rid="pad-3-1")
        assert first[0] == 200 and first[1]["ticket"]["id"] == ticket["id"]
        assert await api.rate("/windows/3/rating", 2, rid="pad-3-1") == first
        by_id = await api.rate(f"/tickets/{ticket['id']}/rating", 2, rid="pad-3-1")
        assert (by_id[0], by_id[1]["error"]["code"]) == (409, "request_id_reused")
        api.clock.advance(3600)  # the ticket long finished: the first answer all the same
        await api.call_next(3)
        seq = await api.seq()
        assert await api.rate("/windows/3/rating", 2, rid="pad-3-1") == first
        assert await api.seq() == seq
        assert len(await api.read(api.store.ratings)) == 1

    run(tmp_path, scenario)


def test_a_caller_device_rates_only_at_the_windows_it_may_operate(tmp_path: Path) -> None:
    async def scenario(api: Api) -> None:
        at_one = await api.issue()
        at_three = await api.issue()
        await api.call_next(1)
        await api.call_next(3)
        seq = await api.seq()
        for path in (f"/tickets/{at_one['id']}/rating", "/windows/1/rating"):
            status, body = await api.rate(path, 1, token=DESK3)
            assert (status, body["error"]["code"]) == (403, "forbidden"), path
        for token in (KIOSK, SCREEN):
            status, body = await api.rate(f"/tickets/{at_three['id']}/rating", 1, token=token)
            assert (status, body["error"]["code"]) == (403, "forbidden")
        assert (await api.rate(f"/tickets/{at_three['id']}/rating", 1, token="nobody-x"))[0] \
            == 401
        assert await api.seq() == seq
        status, body = await api.rate(f"/tickets/{at_three['id']}/rating", 1, token=DESK3)
        assert status == 200 and body["ticket"]["rating"] == 1

    run(tmp_path, scenario)


# -- the rows: ratings and follow-up tasks -----------------------------------------------------


def test_every_rating_is_a_row_and_only_a_4_or_5_is_a_task(tmp_path: Path) -> None:
    async def scenario(api: Api) -> None:
        rated = []
        for score in (1, 2, 3, 4, 5):
            ticket = await api.issue()
            await api.call_next(3)
            status, _ = await api.rate(f"/tickets/{ticket['id']}/rating", score)
            assert status == 200
            rated.append((ticket, score))
        rows = await api.read(api.store.ratings)
        assert [(r["ticket_id"], r["number"], r["service_id"], r["window"], r["staff_id"],
                 r["score"], r["business_day"]) for r in rows] == [
            (t["id"], t["number"], "sb-card", 3, "s3", score, "2026-11-30") for t, score in rated]
        assert rows == sorted(rows, key=lambda r: r["seq"])
        assert dt.datetime.fromisoformat(rows[0]["at"]) == api.clock() - dt.timedelta(seconds=20)
        tasks = await api.read(api.store.rating_tasks)
        assert [(t["number"], t["score"], t["outcome"]) for t in tasks] == [
            ("B005", 5, None), ("B004", 4, None)]  # newest first, open
        assert [t["id"] for t in tasks] == [rows[4]["seq"], rows[3]["seq"]]
        assert tasks[0]["rated_at"] == rows[4]["at"]
        assert await api.read(lambda: api.store.ratings("2026-11-29")) == []
        assert await api.read(lambda: api.store.ratings("2026-11-30")) == rows
        later = await api.read(lambda: api.store.ratings(since=rows[3]["at"]))
        assert later == rows[3:]
        # The same instant written in another offset.
        utc = dt.datetime.fromisoformat(rows[3]["at"]).astimezone(dt.UTC).isoformat()
        assert await api.read(lambda: api.store.ratings(since=utc)) == rows[3:]

    run(tmp_path, scenario)


def test_a_task_is_closed_once(tmp_path: Path) -> None:
    async def scenario(api: Api) -> None:
        for score in (5, 4):
            await api.issue()
            await api.call_next(3)
            assert (await api.rate("/windows/3/rating", score))[0] == 200
        newest, oldest = await api.read(api.store.rating_tasks)
        at = api.clock()
        store = api.store

        def close(task_id: int, note: str | None = "回访：已解释办理流程") -> Callable[[], bool]:
            return lambda: store.close_rating_task(task_id, "explained", note, "admin", at)

        assert await api.read(close(oldest["id"])) is True
        assert await api.read(close(oldest["id"], "again")) is False
        assert await api.read(close(10**6)) is False
        [still_open] = await api.read(lambda: store.rating_tasks(open_only=True))
        assert still_open == newest
        closed = (await api.read(store.rating_tasks))[1]
        assert (closed["outcome"], closed["note"], closed["closed_by"], closed["closed_at"]) == (
            "explained", "回访：已解释办理流程", "admin", at.isoformat())
        for bad in (lambda: store.close_rating_task(newest["id"], "fixed", None, "admin", at),
                    lambda: store.close_rating_task(newest["id"], "other", "x" * 501, "admin",
                                                    at)):
            with pytest.raises(ValueError):
                await api.read(bad)
        assert await api.read(lambda: store.rating_tasks(open_only=True)) == [newest]
        assert await api.read(lambda: store.close_rating_task(newest["id"], "unreachable",
                                                              None, "s3", at)) is True
        assert await api.read(lambda: store.rating_tasks(open_only=True)) == []

    run(tmp_path, scenario)


# -- replay and restart ------------------------------------------------------------------------


def test_replaying_the_log_rebuilds_the_ratings_on_the_tickets() -> None:
    desk = Desk(CONFIG)
    a, b = desk.issue("sb-card"), desk.issue("sb-card")
    desk.call(3)
    desk.run(c.RateTicket(request_id=desk.rid(), window=3, score=4))
    desk.call(3)
    desk.call(3)
    desk.run(c.RateTicket(request_id=desk.rid(), ticket_id=b["id"], score=1))
    desk.advance(minutes=10)
    desk.run(c.RateTicket(request_id=desk.rid(), window=3, score=5))  # unattached
    rebuilt = QueueCore.replay(CONFIG, desk.log)
    assert rebuilt.state == desk.core.state
    assert {t.id: t.rating for t in rebuilt.state.tickets.values()} == {a["id"]: 4, b["id"]: 1}
    rated = [ev for ev in desk.log if ev.type == "ticket_rated"]
    assert [(ev.ticket_id, ev.window, ev.score, ev.staff_id) for ev in rated] == [
        (a["id"], 3, 4, "s3"), (b["id"], 3, 1, "s3"), (None, 3, 5, "s3")]


def test_a_rating_names_a_ticket_or_a_window_and_a_score_from_1_to_5() -> None:
    desk = Desk(CONFIG)
    desk.issue("sb-card")
    desk.call(3)
    for command in (c.RateTicket(request_id="x1", score=3),
                    c.RateTicket(request_id="x2", score=3, window=3, ticket_id="2026-11-30-B001"),
                    c.RateTicket(request_id="x3", score=6, window=3),
                    c.RateTicket(request_id="x4", score=True, window=3)):
        with pytest.raises(c.CommandError) as err:
            desk.run(command)
        assert err.value.code == "bad_request"
    with pytest.raises(c.CommandError) as err:
        desk.run(c.RateTicket(request_id="x5", score=3, window=3, allowed_windows=(1, 2)))
    assert err.value.code == "forbidden"


def test_a_rating_and_its_task_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "qms.db"
    clock = FakeClock()

    async def main() -> None:
        async with dispatcher(db, clock) as api:
            ticket = await api.issue()
            await api.call_next(3)
            status, first = await api.rate(f"/tickets/{ticket['id']}/rating", 5, rid="r-5")
            assert status == 200
        store = Store(db)  # reopened: what was answered is on disk
        try:
            assert [(r["ticket_id"], r["score"]) for r in store.ratings()] == [(ticket["id"], 5)]
            assert [(t["ticket_id"], t["score"], t["outcome"]) for t in store.rating_tasks()] \
                == [(ticket["id"], 5, None)]
            assert store.load_core(CONFIG).state.tickets[ticket["id"]].rating == 5
        finally:
            store.close()
        async with dispatcher(db, clock) as api:
            got = await api.call("GET", f"/tickets/{ticket['id']}", token=SCREEN)
            assert got[1]["ticket"]["rating"] == 5
            assert await api.rate(f"/tickets/{ticket['id']}/rating", 5, rid="r-5") == (200, first)
            status, body = await api.rate(f"/tickets/{ticket['id']}/rating", 1, rid="r-1")
            assert (status, body["error"]["code"]) == (409, "already_rated")
            assert len(await api.read(api.store.rating_tasks)) == 1

    asyncio.run(main())


def test_a_database_of_schema_2_gains_the_rating_tables(tmp_path: Path) -> None:
    db = tmp_path / "qms.db"
    Store(db).close()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TABLE ratings")
    conn.execute("DROP TABLE rating_tasks")
    conn.execute("DROP TABLE appointments")
    for table in ("history", "archive", "native_visits", "archived_requests"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.close()
    store = Store(db)
    try:
        assert store.ratings() == [] and store.rating_tasks() == []
    finally:
        store.close()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() \
            == (str(SCHEMA_VERSION),)
        assert conn.execute("SELECT COUNT(*) FROM appointments").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM archive").fetchone() == (0,)
    finally:
        conn.close()


# -- config and calendar -----------------------------------------------------------------------


def test_working_days_skip_weekends_and_holidays_and_count_make_up_days() -> None:
    friday = dt.date(2020, 9, 25)
    assert add_working_days(friday, 0) == friday
    assert add_working_days(friday, 1) == dt.date(2020, 9, 28)  # over the weekend: Monday
    assert add_working_days(friday, 3) == dt.date(2020, 9, 30)
    national_day = {dt.date(2020, 10, d) for d in range(1, 8)}
    make_up = {dt.date(2020, 9, 27), dt.date(2020, 10, 10)}  # a Sunday and a Saturday
    assert add_working_days(friday, 1, national_day, make_up) == dt.date(2020, 9, 27)
    wednesday = dt.date(2020, 9, 30)
    assert add_working_days(wednesday, 1, national_day) == dt.date(2020, 10, 8)
    assert add_working_days(wednesday, 2, national_day, make_up) == dt.date(2020, 10, 9)
    assert add_working_days(wednesday, 3, national_day, make_up) == dt.date(2020, 10, 10)
    assert add_working_days(wednesday, 3, national_day) == dt.date(2020, 10, 12)
    assert not is_working_day(dt.date(2020, 10, 1), national_day)
    with pytest.raises(ValueError):
        add_working_days(friday, -1)


def test_the_ratings_section_has_defaults_and_reports_every_problem() -> None:
    assert CONFIG.ratings == Ratings(attach_min=5.0, follow_up_days=3)
    good = parse_config(SMALL_TOML.replace("POLICY", "") + """
[ratings]
attach_min = 2.5
follow_up_days = 2
holidays = ["2020-10-01", 2020-10-02]
workdays = ["2020-10-10"]
""")
    assert good.ratings == Ratings(2.5, 2, frozenset({dt.date(2020, 10, 1), dt.date(2020, 10, 2)}),
                                   frozenset({dt.date(2020, 10, 10)}))
    assert good.ratings.follow_up_due(dt.date(2020, 9, 30)) == dt.date(2020, 10, 6)
    with pytest.raises(ConfigError) as err:
        parse_config(SMALL_TOML.replace("POLICY", "") + """
[ratings]
attach_min = 61
follow_up_days = 0
holidays = ["2026-10-1", "2026-10-10"]
workdays = ["2026-10-09", "2026-10-10"]
colour = "red"
""")
    problems = "\n".join(err.value.problems)
    for expected in ("ratings.attach_min: must be at most 60", "ratings.follow_up_days: must be "
                     "at least 1", "ratings.holidays: must be days like \"2026-10-01\", not "
                     "'2026-10-1'", "ratings.workdays: 2026-10-09 is a fri",
                     "ratings.workdays: 2026-10-10 is listed as a holiday too",
                     "ratings: unknown key 'colour'"):
        assert expected in problems, problems
    assert len(err.value.problems) == 6


def test_a_window_rating_just_after_a_call_goes_to_the_resident_who_left() -> None:
    desk = Desk(CONFIG)
    a, b = desk.issue("sb-card"), desk.issue("sb-card")
    desk.call(3)  # a served
    desk.advance(minutes=4)
    desk.call(3)  # a finished, b called: a rates on the way out, 10 s later
    desk.advance(seconds=10)
    reply = desk.run(c.RateTicket(request_id=desk.rid(), window=3, score=2)).reply
    assert reply["ticket"]["id"] == a["id"]
    desk.advance(minutes=3)  # b, served for a while now, rates too
    reply = desk.run(c.RateTicket(request_id=desk.rid(), window=3, score=1)).reply
    assert reply["ticket"]["id"] == b["id"]


def test_a_rating_names_who_served_the_ticket_even_after_a_change_of_staff() -> None:
    desk = Desk(CONFIG)
    a = desk.issue("sb-card")
    desk.call(3)  # s3 serves a
    desk.run(c.SignIn(request_id=desk.rid(), window=3, staff_id="s1"))  # shift change
    desk.run(c.RateTicket(request_id=desk.rid(), ticket_id=a["id"], score=5))
    rated = [ev for ev in desk.log if ev.type == "ticket_rated"]
    assert rated[-1].staff_id == "s3"
    assert desk.core.state.tickets[a["id"]].served_by == "s3"


def test_the_national_holidays_and_make_up_days_ship_with_the_package_and_the_config_wins(
        ) -> None:
    assert not is_working_day(dt.date(2026, 2, 16))  # 春节, a Monday
    assert is_working_day(dt.date(2026, 2, 14))  # a Saturday worked in its place
    assert not is_working_day(dt.date(2025, 10, 8))  # 国庆 + 中秋 2025, a Wednesday
    assert is_working_day(dt.date(2025, 10, 11))  # Saturday make-up
    assert not is_working_day(dt.date(2026, 11, 28))  # an ordinary Saturday
    assert is_working_day(dt.date(2026, 2, 16), workdays={dt.date(2026, 2, 16)})  # center opens
    assert not is_working_day(dt.date(2026, 2, 14), holidays={dt.date(2026, 2, 14)})
