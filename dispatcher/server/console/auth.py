"""Logging in and out (throttled, audited) and the language switch."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from base.texts import DEFAULT_LANG
from dispatcher.server.console.accounts import Session
from dispatcher.server.console.site import (
    CONSOLE_KEY,
    COOKIE,
    LANG_COOKIE,
    ROOT,
    Refused,
    address_of,
    html,
    lang_of,
    log,
    page_context,
    read_form,
    refusal,
    same_origin,
)
from dispatcher.server.console.texts import TEXTS


async def login_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    return html(console.render("login.html", **page_context(
        request, None, error=None, username="", next=safe_next(request.query.get("next")))))


def safe_next(target: str | None) -> str:
    """Only a console path: never an open redirect to another site."""
    if target and target.startswith(f"{ROOT}/") and not target.startswith("//"):
        return target
    return f"{ROOT}/"


async def login(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    try:
        form = await read_form(request)
    except Refused as refused:
        return refusal(request, None, refused)
    username = form.get("username", "").strip()[:64]
    password = form.get("password", "")[:1024]
    target = safe_next(form.get("next"))
    address = address_of(request)

    def again(key: str, status: int, **values: object) -> web.Response:
        body = console.render("login.html", **page_context(
            request, None, error=TEXTS(lang_of(request), key, **values), username=username,
            next=target))
        return html(body, status)

    if not same_origin(request):
        return again("csrf", 403)
    wait = console.throttle.wait_s(username, address)
    if not wait:
        # Counted before the (slow) password check, so attempts sent at once cannot all pass
        # the limit; a good password takes its own attempt back.
        console.throttle.failed(username, address)
    shown = username if await console.blocking(console.accounts.known, username) \
        else "(unknown)"
    if wait:
        await console.blocking(console.accounts.audit, shown, address, "login", "",
                               "throttled")
        response = again("throttled", 429, s=wait)
        response.headers["Retry-After"] = str(wait)
        return response
    account = await asyncio.get_running_loop().run_in_executor(
        console.hasher, console.accounts.authenticate, username, password)
    if account is None:
        await console.blocking(console.accounts.audit, shown, address, "login", "",
                               "refused")
        log.info("console login refused for a user name from %s", address)
        return again("wrong_login", 401)
    console.throttle.succeeded(username, address)
    token, session = await console.blocking(console.accounts.open_session, account, address)
    await console.blocking(console.accounts.audit, account.username, address, "login", "", "ok")
    response = web.HTTPSeeOther(target)
    set_session_cookie(response, token, int(session.expires_at - time.time()))
    raise response


def set_session_cookie(response: web.StreamResponse, token: str, max_age: int) -> None:
    response.set_cookie(COOKIE, token, path=f"{ROOT}/", httponly=True, samesite="Strict",
                        max_age=max_age)


async def logout(request: web.Request, session: Session) -> web.Response:
    console = request.app[CONSOLE_KEY]
    token = request.cookies.get(COOKIE, "")
    await console.blocking(console.accounts.close_session, token)
    await console.blocking(console.accounts.audit, session.account.username,
                           address_of(request), "logout", "", "ok")
    response = web.HTTPSeeOther(f"{ROOT}/login")
    response.del_cookie(COOKIE, path=f"{ROOT}/")
    raise response


async def switch_lang(request: web.Request) -> web.Response:
    lang = request.query.get("to", DEFAULT_LANG)
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    if lang in TEXTS.languages:
        response.set_cookie(LANG_COOKIE, lang, path=f"{ROOT}/", samesite="Strict",
                            max_age=365 * 86400)
    raise response
