"""The overview and counter pages, and the actions they post: caller verbs and manager actions,
each audited before its answer leaves."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from aiohttp import web

from base.errors import ErrorCode, QmsError
from dispatcher.domain import commands as c
from dispatcher.server.console import views
from dispatcher.server.console.accounts import Session
from dispatcher.server.console.site import (
    CONSOLE_KEY,
    ROOT,
    Refused,
    address_of,
    answer,
    check_window,
    counter_builder,
    html,
    lang_of,
    overview_builder,
    page_context,
    read_form,
    read_view,
    refusal,
    request_id_of,
    window_of,
)
from dispatcher.server.console.texts import TEXTS
from dispatcher.server.service import Unavailable


async def overview_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    view = await read_view(console, overview_builder(console))
    return html(console.render("overview.html", **page_context(request, session, view=view)))


async def counter_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    n = window_of(request)
    try:
        check_window(console, session.account, n, signing_in=True)
    except Refused as refused:
        return refusal(request, session, refused)
    view = await read_view(console, counter_builder(console, n))
    return html(console.render("counter.html", **page_context(
        request, session, view=view, n=n, targets=views.transfer_targets(console.config, n))))


async def execute(request: web.Request, session: Session, command: c.Command, action: str,
                  target: str) -> tuple[bool, dict[str, Any] | None, str]:
    """Run a command for a console user; audit it (who, what, when, from where) before the
    answer leaves. (ok, reply, error code)."""
    console = request.app[CONSOLE_KEY]
    device = f"console:{session.account.username}"
    try:
        outcome = await console.service.execute(command, device)
    except QmsError as err:
        ok, reply, outcome_text = False, None, err.code.value
    except Unavailable as err:
        ok, reply, outcome_text = False, None, f"unavailable: {err}"
    else:
        ok, reply, outcome_text = True, outcome.reply, "ok"
    await console.blocking(console.accounts.audit, session.account.username,
                           address_of(request), action, target, outcome_text)
    return ok, reply, outcome_text


COUNTER_VERBS = ("call-next", "recall", "no-show", "pause", "resume", "transfer", "sign-in",
                 "sign-out")


async def counter_action(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    n = window_of(request)
    verb = request.match_info["verb"]
    if verb not in COUNTER_VERBS:
        raise web.HTTPNotFound()
    form = await read_form(request)
    account = session.account
    check_window(console, account, n, signing_in=verb == "sign-in")
    rid = request_id_of(form)
    command: c.Command
    if verb == "call-next":
        command = c.CallNext(request_id=rid, window=n)
    elif verb == "recall":
        command = c.Recall(request_id=rid, window=n)
    elif verb == "no-show":
        command = c.NoShow(request_id=rid, window=n)
    elif verb == "pause":
        command = c.Pause(request_id=rid, window=n)
    elif verb == "resume":
        command = c.Resume(request_id=rid, window=n)
    elif verb == "transfer":
        service_id = form.get("service_id") or None
        to_window = int(form["window"]) if small_number(form.get("window", "")) else None
        command = c.Transfer(request_id=rid, window=n, service_id=service_id,
                             to_window=to_window)
    elif verb == "sign-in":
        staff_id = account.staff_id or form.get("staff_id") or None
        if staff_id is None:
            raise Refused(400, "forbidden")
        command = c.SignIn(request_id=rid, window=n, staff_id=staff_id,
                           exclusive=not account.is_manager)
    else:  # sign-out
        command = c.SignIn(request_id=rid, window=n, staff_id=None)
    if not account.is_manager and verb != "sign-in":
        command = dataclasses.replace(command, acting_staff=account.staff_id)
    target = f"window {n}"
    ok, reply, code = await execute(request, session, command, verb, target)
    lang = lang_of(request)
    message = result_text(lang, verb, ok, reply, code)
    part = await console.live.get(console, "counter_live.html", n, lang, account.is_manager)
    return answer(request, f"{ROOT}/counter/{n}", ok, message,
                  {"code": code, "reply": reply, "html": part.html, "seq": part.seq},
                  status=status_of(ok, code))


def status_of(ok: bool, code: str) -> int:
    """The HTTP status of an action's answer: the error code's own, as in the API."""
    if ok:
        return 200
    try:
        return ErrorCode(code).status
    except ValueError:
        return 503  # unavailable: the dispatcher is stopping or its database failed


def result_text(lang: str, verb: str, ok: bool, reply: dict[str, Any] | None,
                code: str) -> str:
    if not ok:
        return f"{TEXTS(lang, 'error')}: {code}"
    ticket = (reply or {}).get("ticket")
    number = ticket["number"] if isinstance(ticket, dict) else ""
    keys = {"call-next": "called" if ticket else "nobody_waiting", "recall": "recalled",
            "no-show": "marked_no_show", "pause": "window_paused", "resume": "window_resumed",
            "transfer": "transferred", "sign-in": "signed_in", "sign-out": "signed_out"}
    return TEXTS(lang, keys.get(verb, "done"), number=number)


async def manager_action(request: web.Request, session: Session) -> web.Response:
    """Manager actions from the overview: green channel, cancel a ticket, sign someone out,
    pause/resume (via the window's verbs), reprint, close the day."""
    action = request.match_info["action"]
    form = await read_form(request)
    rid = request_id_of(form)
    command: c.Command
    if action == "green-channel":
        mode = form.get("mode", "")
        if mode not in ("auto", "on", "off"):
            raise Refused(400, "forbidden")
        command, target = c.SetGreenChannel(request_id=rid, mode=mode), mode  # type: ignore[arg-type]
    elif action == "cancel-ticket":
        tid = form.get("ticket_id", "") or ticket_id_of(request, form.get("number", ""))
        command, target = c.CancelTicket(request_id=rid, ticket_id=tid, reason="manager"), tid
    else:
        extra = ACTIONS.get(action)
        if extra is None:
            raise web.HTTPNotFound()
        command, target = extra(rid, form)
    ok, _, code = await execute(request, session, command, action, target)
    lang = lang_of(request)
    return answer(request, f"{ROOT}/", ok, TEXTS(lang, "done") if ok else
                  f"{TEXTS(lang, 'error')}: {code}", {"code": code}, status=status_of(ok, code))


def small_number(text: str) -> bool:
    """ASCII digits, at most 6 (str.isdigit takes "²", and int() refuses 4,300 digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 6


def ticket_id_of(request: web.Request, number: str) -> str:
    """Today's ticket of a number as people say it ("a12" → A012)."""
    state = request.app[CONSOLE_KEY].service.core.state
    text = number.strip().upper()
    prefix = text.rstrip("0123456789")
    digits = text[len(prefix):]
    if not prefix or not small_number(digits) or state.business_day is None:
        return text
    return f"{state.business_day.isoformat()}-{prefix}{int(digits):03d}"


def _reprint(rid: str, form: dict[str, str]) -> tuple[c.Command, str]:
    tid = form.get("ticket_id", "")
    kiosk = form.get("kiosk", "")
    return c.RequestReprint(request_id=rid, ticket_id=tid, kiosk=kiosk), f"{tid} at {kiosk}"


# Manager actions that map a form to a command: name → (request id, form) → (command, audit
# target).
ACTIONS: dict[str, Callable[[str, dict[str, str]], tuple[c.Command, str]]] = {
    "close-day": lambda rid, form: (c.SetIssuing(request_id=rid, open=False), "issuing"),
    "reopen-day": lambda rid, form: (c.SetIssuing(request_id=rid, open=True), "issuing"),
    "reprint": _reprint,
}
