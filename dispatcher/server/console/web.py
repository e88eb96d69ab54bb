"""The console's pages and actions under /console/ (PROTOCOL.md, section Console).

Server-rendered HTML (Jinja2, assets shipped in the package), live updates over a WebSocket
that re-sends the page's live part whenever the queue changes. Sessions in an HttpOnly,
SameSite=Strict cookie; every POST carries the session's CSRF token (form field `csrf` or
header `X-CSRF-Token`) and, when the browser names one, a same-origin `Origin`. Every
mutating action is written to the audit log before it is answered.

This module assembles the console (`build_console`) and mounts its routes (`add_console`):
site (shared parts, sessions, CSRF) ← auth, pages, admin, live (the handlers) ← web.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time

import jinja2
from aiohttp import web

from dispatcher.domain.config import Config
from dispatcher.server.bookings import BookingStore
from dispatcher.server.console.ability import ability_page, ability_person_page
from dispatcher.server.console.accounts import AccountStore
from dispatcher.server.console.admin import accounts_action, accounts_page, audit_csv, audit_page
from dispatcher.server.console.auth import login, login_page, logout, switch_lang
from dispatcher.server.console.followup import followup_list, record_call, take_call
from dispatcher.server.console.live import LiveRenders, live
from dispatcher.server.console.pages import (
    counter_action,
    counter_page,
    manager_action,
    overview_page,
)
from dispatcher.server.console.planning import forecast_page, seating_page, whatif_page
from dispatcher.server.console.ratings import close_task, ratings_page
from dispatcher.server.console.reports import (
    finished_months,
    report_chart,
    report_export,
    reports_page,
    warm_report,
)
from dispatcher.server.console.site import CONSOLE_KEY, HERE, ROOT, Console, signed_in
from dispatcher.server.console.throttle import LoginThrottle
from dispatcher.server.history import HistoryStore
from dispatcher.server.presence import Presence
from dispatcher.server.report_files import Charts
from dispatcher.server.service import DispatcherService

log = logging.getLogger(__name__)
WARM_S = 60.0  # how often the finished months' reports are looked over (built if changed)
WARM_KEY = web.AppKey("reports_warming", asyncio.Task[None])


def make_templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def build_console(config: Config, service: DispatcherService, accounts: AccountStore,
                  presence: Presence, bookings: BookingStore, history: HistoryStore) -> Console:
    return Console(
        config=config, service=service, accounts=accounts, presence=presence,
        throttle=LoginThrottle(time.monotonic),
        executor=concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qms-console"),
        hasher=concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qms-scrypt"),
        templates=make_templates(), live=LiveRenders(), bookings=bookings, history=history,
        charts=Charts(),
        reports=concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qms-reports"),
    )


async def root_redirect(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(f"{ROOT}/")


def add_console(app: web.Application, console: Console) -> None:
    """Mount the console's routes on the dispatcher's application."""
    app[CONSOLE_KEY] = console
    r = app.router
    r.add_get(ROOT, root_redirect)
    r.add_get(f"{ROOT}/login", login_page)
    r.add_post(f"{ROOT}/login", login)
    r.add_post(f"{ROOT}/logout", signed_in(logout))
    r.add_get(f"{ROOT}/lang", switch_lang)
    r.add_get(f"{ROOT}/", signed_in(overview_page))
    r.add_get(f"{ROOT}/live", signed_in(live))
    r.add_get(f"{ROOT}/counter/{{n}}", signed_in(counter_page))
    r.add_post(f"{ROOT}/counter/{{n}}/{{verb}}", signed_in(counter_action))
    r.add_post(f"{ROOT}/actions/{{action}}", signed_in(manager_action, manager=True))
    r.add_get(f"{ROOT}/accounts", signed_in(accounts_page, manager=True))
    r.add_post(f"{ROOT}/accounts/{{action}}", signed_in(accounts_action, manager=True))
    r.add_get(f"{ROOT}/audit", signed_in(audit_page, manager=True))
    r.add_get(f"{ROOT}/ratings", signed_in(ratings_page, manager=True))
    r.add_post(f"{ROOT}/ratings/{{task}}/close", signed_in(close_task, manager=True))
    r.add_get(f"{ROOT}/followup", signed_in(followup_list))
    r.add_post(f"{ROOT}/followup/{{code}}/call", signed_in(take_call))
    r.add_post(f"{ROOT}/followup/{{code}}/record", signed_in(record_call))
    r.add_get(f"{ROOT}/reports", signed_in(reports_page, manager=True))
    r.add_get(f"{ROOT}/reports/export.{{format}}", signed_in(report_export, manager=True))
    r.add_get(f"{ROOT}/reports/chart/{{kind}}.svg", signed_in(report_chart, manager=True))
    r.add_get(f"{ROOT}/audit.csv", signed_in(audit_csv, manager=True))
    r.add_get(f"{ROOT}/forecast", signed_in(forecast_page, manager=True))
    r.add_get(f"{ROOT}/whatif", signed_in(whatif_page, manager=True))
    r.add_get(f"{ROOT}/seating", signed_in(seating_page, manager=True))
    r.add_get(f"{ROOT}/ability", signed_in(ability_page, manager=True))
    r.add_get(f"{ROOT}/ability/{{staff_id}}", signed_in(ability_person_page, manager=True))
    r.add_static(f"{ROOT}/static", HERE / "static", append_version=True)

    async def warm_reports_now_and_then() -> None:
        # The finished months' reports are built before anyone asks (newest first: the month
        # just ended is the monthly review's), and kept in the database; looked over again
        # every WARM_S for months whose data changed (an import, an archived day). One month
        # a job: a page asked for meanwhile waits for one month's build at most.
        loop = asyncio.get_running_loop()
        while True:
            built = 0
            try:
                for month in await loop.run_in_executor(console.reports, finished_months,
                                                        console):
                    built += await loop.run_in_executor(console.reports, warm_report, console,
                                                        month)
            except Exception as exc:  # the console goes on; a page then builds its own
                log.error("reports not built ahead: %s", exc)
            if built:
                log.info("reports built ahead: %d months", built)
            await asyncio.sleep(WARM_S)

    async def warm_charts(app: web.Application) -> None:
        # matplotlib's first import takes a second or more: not on a manager's first page.
        console.reports.submit(console.charts.warm)
        app[WARM_KEY] = asyncio.create_task(warm_reports_now_and_then(), name="qms-reports")

    async def stop_executor(app: web.Application) -> None:
        warming = app.get(WARM_KEY)
        if warming is not None:
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warming
        console.hasher.shutdown(wait=True)
        console.executor.shutdown(wait=True)
        console.reports.shutdown(wait=True)
        console.seating.shutdown(wait=True, cancel_futures=True)  # waits for a running one
        console.history.close()

    app.on_startup.append(warm_charts)
    app.on_cleanup.append(stop_executor)
