"""LAN API v1 (PROTOCOL.md) over aiohttp: HTTP/1.1 + JSON, WebSocket events.

Every request but health and the OpenAPI document carries `Authorization: Bearer TOKEN`:
401 without a known token, 403 for a wrong role or window. Every error is
`{"error": {"code", "message"}}` with a 4xx status; malformed input never changes state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from dispatcher import __version__
from dispatcher.domain import commands as c
from dispatcher.domain.commands import CommandError
from dispatcher.domain.config import Config, Device
from dispatcher.domain.core import MAX_REQUEST_ID
from dispatcher.server.openapi import openapi_document
from dispatcher.server.service import DispatcherService, Unavailable

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_BODY = 64 * 1024
HEARTBEAT_S = 2.0  # a subscriber hears from us at least this often
SERVICE_KEY = web.AppKey("service", DispatcherService)
CONFIG_KEY = web.AppKey("config", Config)
SOCKETS_KEY: web.AppKey[weakref.WeakSet[Any]] = web.AppKey("sockets", weakref.WeakSet)

STATUS_BY_CODE = {
    "bad_request": 400,
    "bad_json": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "unknown_window": 404,
    "unknown_ticket": 404,
    "method_not_allowed": 405,
    "request_id_reused": 409,
    "window_paused": 409,
    "window_not_paused": 409,
    "no_current_ticket": 409,
    "ticket_not_waiting": 409,
    "cannot_serve": 409,
    "too_large": 413,
    "unknown_service": 422,
    "unknown_staff": 422,
    "unknown_appointment": 422,
    "unavailable": 503,
}


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_response(code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=STATUS_BY_CODE.get(code, 400)
    )


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err.code, err.message)
    except CommandError as err:
        return error_response(err.code, err.message)
    except Unavailable as err:
        return error_response("unavailable", str(err))
    except web.HTTPRequestEntityTooLarge:
        return error_response("too_large", f"the body is larger than {MAX_BODY} bytes")
    except web.HTTPMethodNotAllowed as exc:
        return error_response("method_not_allowed",
                              f"{request.method} is not allowed here (allowed: "
                              f"{', '.join(sorted(exc.allowed_methods))})")
    except web.HTTPNotFound:
        return error_response("not_found", f"no such endpoint: {request.path}")
    except web.HTTPException as exc:
        if exc.status >= 500:
            raise
        return error_response("bad_request", exc.reason)


# -- authentication ---------------------------------------------------------------------------


def find_device(config: Config, header: str | None) -> Device | None:
    """The device whose token the header carries; every token compared in constant time."""
    if not header or not header.startswith("Bearer "):
        return None
    given = header[len("Bearer "):].strip().encode("utf-8", "replace")
    found = None
    for device in config.devices:
        if hmac.compare_digest(given, device.token.encode()):
            found = device
    return found


def authorize(request: web.Request, roles: tuple[str, ...], window: int | None = None) -> Device:
    device = find_device(request.app[CONFIG_KEY], request.headers.get("Authorization"))
    if device is None:
        raise ApiError("unauthorized", "a known device token is required (Authorization: Bearer)")
    if device.role == "admin":
        return device
    if device.role not in roles:
        raise ApiError("forbidden", f"a {device.role} device may not do this")
    if window is not None and window not in device.windows:
        raise ApiError("forbidden", f"device {device.name} may not operate window {window}")
    return device


# -- request bodies ---------------------------------------------------------------------------


async def read_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if len(raw) > MAX_BODY:
        raise ApiError("too_large", f"the body is larger than {MAX_BODY} bytes")
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        raise ApiError("bad_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError("bad_json", "the body must be a JSON object")
    return body


def field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], *,
          required: bool = False, default: Any = None, max_len: int | None = None) -> Any:
    if name not in body or body[name] is None:
        if required:
            raise ApiError("bad_request", f"{name} is required")
        return default
    value = body[name]
    if isinstance(value, bool) and kind is not bool and not (
        isinstance(kind, tuple) and bool in kind
    ):
        raise ApiError("bad_request", f"{name} has the wrong type")
    if not isinstance(value, kind):
        raise ApiError("bad_request", f"{name} has the wrong type")
    if isinstance(value, str):
        if max_len is not None and len(value) > max_len:
            raise ApiError("bad_request", f"{name} is longer than {max_len} characters")
        if required and not value.strip():
            raise ApiError("bad_request", f"{name} must not be empty")
    return value


def request_id(body: dict[str, Any]) -> str:
    rid: str = field(body, "request_id", str, required=True, max_len=MAX_REQUEST_ID)
    if not rid.isprintable():
        raise ApiError("bad_request", "request_id must be printable text")
    return rid


def window_number(request: web.Request) -> int:
    text = request.match_info["n"]
    if not text.isdigit() or len(text) > 6:
        raise ApiError("unknown_window", f"there is no window {text!r}")
    n = int(text)
    if n not in request.app[SERVICE_KEY].core.state.windows:
        raise ApiError("unknown_window", f"there is no window {n}")
    return n


# -- handlers ---------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    return json_response({"status": "ok", "version": __version__, "seq": service.seq,
                          "epoch": service.epoch})


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document(__version__))


async def catalog(request: web.Request) -> web.Response:
    authorize(request, ("kiosk", "caller", "display"))
    config = request.app[CONFIG_KEY]
    return json_response({
        "center": {"name": config.center.name, "name_en": config.center.name_en},
        "departments": [
            {
                "id": d.id, "name": d.name, "name_en": d.name_en, "prefix": d.prefix,
                "services": [
                    {"id": s.id, "name": s.name, "name_en": s.name_en, "prefix": s.prefix,
                     "minutes": s.minutes, "short_high_freq": s.short_high_freq,
                     "materials": list(s.materials)}
                    for s in d.services
                ],
            }
            for d in config.departments
        ],
        "windows": [{"number": w.number, "green": w.green} for w in config.windows],
    })


async def state(request: web.Request) -> web.Response:
    authorize(request, ("kiosk", "caller", "display"))
    service = request.app[SERVICE_KEY]
    return json_response(await service.read(service.state_dict))


async def list_tickets(request: web.Request) -> web.Response:
    authorize(request, ("kiosk", "caller", "display"))
    service = request.app[SERVICE_KEY]
    q = request.query
    for key in q:
        if key not in ("date", "status", "print_status"):
            raise ApiError("bad_request", f"unknown query parameter {key!r}")
    day = q.get("date")
    if day is None:
        current = service.core.state.business_day
        day = current.isoformat() if current else None
    elif len(day) != 10:
        raise ApiError("bad_request", "date must be YYYY-MM-DD")
    tickets = await service.read(
        lambda: service.store.tickets(day, q.get("status"), q.get("print_status"))
    )
    return json_response({"date": day, "tickets": tickets})


async def get_ticket(request: web.Request) -> web.Response:
    authorize(request, ("kiosk", "caller", "display"))
    service = request.app[SERVICE_KEY]
    tid = request.match_info["ticket_id"]
    ticket = await service.read(lambda: service.store.ticket(tid))
    if ticket is None:
        raise ApiError("unknown_ticket", f"there is no ticket {tid!r}")
    return json_response({"ticket": ticket})


async def run(request: web.Request, command: c.Command, device: Device,
              status: int = 200) -> web.Response:
    outcome = await request.app[SERVICE_KEY].execute(command, device.name)
    return json_response(outcome.reply, status=status)


async def issue_ticket(request: web.Request) -> web.Response:
    device = authorize(request, ("kiosk",))
    body = await read_body(request)
    command = c.IssueTicket(
        request_id=request_id(body),
        service_id=field(body, "service_id", str, required=True, max_len=64),
        sign_language=field(body, "sign_language", bool, default=False),
        appointment_code=field(body, "appointment_code", str, max_len=32),
    )
    return await run(request, command, device, status=201)


async def report_print(request: web.Request) -> web.Response:
    device = authorize(request, ("kiosk",))
    body = await read_body(request)
    command = c.ReportPrint(
        request_id=request_id(body), ticket_id=request.match_info["ticket_id"],
        printed=field(body, "printed", bool, required=True),
        error=field(body, "error", str, max_len=200),
    )
    return await run(request, command, device)


async def cancel_ticket(request: web.Request) -> web.Response:
    device = authorize(request, ("kiosk",))
    body = await read_body(request)
    command = c.CancelTicket(
        request_id=request_id(body), ticket_id=request.match_info["ticket_id"],
        reason=field(body, "reason", str, default="cancelled", max_len=100),
    )
    return await run(request, command, device)


def window_verb(
    make: Callable[[str, int, dict[str, Any]], c.Command],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        n = window_number(request)
        device = authorize(request, ("caller",), window=n)
        body = await read_body(request)
        return await run(request, make(request_id(body), n, body), device)

    return handler


def _transfer(rid: str, n: int, body: dict[str, Any]) -> c.Command:
    return c.Transfer(
        request_id=rid, window=n,
        service_id=field(body, "service_id", str, max_len=64),
        to_window=field(body, "window", int),
    )


def _sign_in(rid: str, n: int, body: dict[str, Any]) -> c.Command:
    return c.SignIn(request_id=rid, window=n, staff_id=field(body, "staff_id", str, max_len=64))


async def green_channel(request: web.Request) -> web.Response:
    device = authorize(request, ())
    body = await read_body(request)
    mode = field(body, "mode", str, required=True)
    if mode not in ("auto", "on", "off"):
        raise ApiError("bad_request", "mode must be auto, on or off")
    return await run(request, c.SetGreenChannel(request_id=request_id(body), mode=mode), device)


async def events(request: web.Request) -> web.StreamResponse:
    authorize(request, ("kiosk", "caller", "display"))
    service = request.app[SERVICE_KEY]
    since_text = request.query.get("since")
    since = None
    if since_text is not None:
        if not since_text.isdigit() or len(since_text) > 15:
            raise ApiError("bad_request", "since must be a sequence number")
        since = int(since_text)
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError("bad_request", "this endpoint is a WebSocket")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S * 2, max_msg_size=4096)
    await ws.prepare(request)
    request.app[SOCKETS_KEY].add(ws)
    sub = await service.subscribe(since, request.query.get("epoch"))

    async def pump() -> None:
        last: int | None = None
        while True:
            try:
                message = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                await ws.send_json({"type": "heartbeat", "last_seq": last})
                continue
            if message is None:
                await ws.close(code=1001, message=b"resync")
                return
            last = message["seq"]
            await ws.send_str(json.dumps(message, ensure_ascii=False))

    task = asyncio.create_task(pump())
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await task
        service.unsubscribe(sub)
    return ws


def build_app(config: Config, service: DispatcherService) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_BODY)
    app[SERVICE_KEY] = service
    app[CONFIG_KEY] = config
    app[SOCKETS_KEY] = weakref.WeakSet()
    p = PREFIX
    app.router.add_get(f"{p}/health", health)
    app.router.add_get(f"{p}/openapi.json", openapi)
    app.router.add_get(f"{p}/catalog", catalog)
    app.router.add_get(f"{p}/state", state)
    app.router.add_get(f"{p}/tickets", list_tickets)
    app.router.add_post(f"{p}/tickets", issue_ticket)
    app.router.add_get(f"{p}/tickets/{{ticket_id}}", get_ticket)
    app.router.add_post(f"{p}/tickets/{{ticket_id}}/print-report", report_print)
    app.router.add_post(f"{p}/tickets/{{ticket_id}}/cancel", cancel_ticket)
    verbs: dict[str, Callable[[str, int, dict[str, Any]], c.Command]] = {
        "call-next": lambda rid, n, _: c.CallNext(request_id=rid, window=n),
        "recall": lambda rid, n, _: c.Recall(request_id=rid, window=n),
        "no-show": lambda rid, n, _: c.NoShow(request_id=rid, window=n),
        "pause": lambda rid, n, _: c.Pause(request_id=rid, window=n),
        "resume": lambda rid, n, _: c.Resume(request_id=rid, window=n),
        "transfer": _transfer,
        "sign-in": _sign_in,
    }
    for verb, make in verbs.items():
        app.router.add_post(f"{p}/windows/{{n}}/{verb}", window_verb(make))
    app.router.add_post(f"{p}/green-channel", green_channel)
    app.router.add_get(f"{p}/events", events)

    async def close_sockets(app: web.Application) -> None:
        sockets: weakref.WeakSet[Any] = app[SOCKETS_KEY]
        for ws in list(sockets):
            await ws.close(code=1001, message=b"server shutdown")

    app.on_shutdown.append(close_sockets)
    return app


# -- listening --------------------------------------------------------------------------------


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT or :PORT (loopback)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen must be HOST:PORT, not {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_tokens_in_use(config: Config, shipped_tokens: frozenset[str]) -> list[str]:
    """Names of devices whose token is a demo token (the shipped example's, or demo-*)."""
    return [d.name for d in config.devices
            if d.token in shipped_tokens or d.token.startswith("demo-")]
