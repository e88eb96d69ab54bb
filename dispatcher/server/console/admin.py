"""Managers' pages: accounts and the audit log (with its CSV export)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from aiohttp import web

from dispatcher.server.console.accounts import AccountError, Session
from dispatcher.server.console.site import (
    CONSOLE_KEY,
    ROOT,
    address_of,
    answer,
    html,
    lang_of,
    page_context,
    read_form,
    wants_html,
)
from dispatcher.server.console.texts import TEXTS


async def accounts_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    accounts = await console.blocking(console.accounts.accounts)
    return html(console.render("accounts.html", **page_context(
        request, session, accounts=accounts, error=request.query.get("error"),
        staff=console.config.staff)))


async def accounts_action(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    form = await read_form(request)
    action = request.match_info["action"]
    username = form.get("username", "").strip()
    store = console.accounts
    try:
        if action == "add":
            await console.blocking(store.add, username, form.get("password", ""),
                                   form.get("role", "staff"), form.get("staff_id") or None)
        elif action == "passwd":
            await console.blocking(store.set_password, username, form.get("password", ""))
        elif action in ("disable", "enable"):
            await console.blocking(store.set_disabled, username, action == "disable")
        else:
            raise web.HTTPNotFound()
    except AccountError as err:
        await console.blocking(store.audit, session.account.username, address_of(request),
                               f"account-{action}", username, f"refused: {err}")
        if wants_html(request):
            raise web.HTTPSeeOther(f"{ROOT}/accounts?error={quote(str(err))}") from None
        return web.json_response({"ok": False, "error": {"code": "account",
                                                          "message": str(err)}}, status=400)
    await console.blocking(store.audit, session.account.username, address_of(request),
                           f"account-{action}", username, "ok")
    return answer(request, f"{ROOT}/accounts", True, TEXTS(lang_of(request), "done"))


async def audit_page(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    entries = await console.blocking(console.accounts.audit_entries)
    return html(console.render("audit.html", **page_context(request, session, entries=entries)))


async def audit_csv(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    text = await console.blocking(console.accounts.audit_csv)
    day = dt.date.today().isoformat()
    return web.Response(
        body=("\ufeff" + text).encode("utf-8"),  # the BOM: Excel opens it as UTF-8
        content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="qms-audit-{day}.csv"'})
