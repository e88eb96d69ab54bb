"""LAN API v1 (PROTOCOL.md) over aiohttp: HTTP/1.1 + JSON, WebSocket events.

Every request but health and the OpenAPI document carries `Authorization: Bearer TOKEN`:
401 without a known token, 403 for a wrong role or window. Every error is
`{"error": {"code", "message"}}` with its code's status; malformed input never changes state.
Bodies and query parameters are decoded into the types of `dispatcher.server.schema`, from
which /openapi.json is derived: what the document allows is what the server accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import ipaddress
import json
import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

import msgspec
from aiohttp import WSMsgType, web
from msgspec import UNSET

from base.errors import ErrorCode, QmsError
from dispatcher import __version__
from dispatcher.domain import commands as c
from dispatcher.domain.appointments import check_in_problem
from dispatcher.domain.config import Config, Device
from dispatcher.server import schema as s
from dispatcher.server.openapi import openapi_document
from dispatcher.server.presence import Presence
from dispatcher.server.service import DispatcherService, Unavailable

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_BODY = 64 * 1024
MAX_DEPTH = 32  # JSON nesting a body may have (ours nest 2 deep)
BODY_TIMEOUT_S = 10.0  # a body must arrive within this once its headers have
HEARTBEAT_S = 2.0  # a subscriber hears from us at least this often
SERVICE_KEY = web.AppKey("service", DispatcherService)
CONFIG_KEY = web.AppKey("config", Config)
SOCKETS_KEY: web.AppKey[weakref.WeakSet[Any]] = web.AppKey("sockets", weakref.WeakSet)
PRESENCE_KEY = web.AppKey("presence", Presence)

T = TypeVar("T")
B = TypeVar("B", bound=s.Mutation)
WINDOW_NUMBER = re.compile(r"[0-9]{1,6}")  # ASCII digits: str.isdigit() also takes "²"


class ApiError(QmsError):
    """A request the server refuses before it reaches the core."""


def error_response(code: ErrorCode, message: str,
                   detail: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": {**(detail or {}), "code": code.value,
                                        "message": message}}, status=code.status)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except QmsError as err:  # ApiError and the core's CommandError
        response = error_response(err.code, err.message, err.detail)
        if err.code is ErrorCode.UPGRADE_REQUIRED:
            response.headers["Upgrade"] = "websocket"
            response.headers["Connection"] = "Upgrade"
        return response
    except Unavailable as err:
        return error_response(ErrorCode.UNAVAILABLE, str(err))
    except web.HTTPRequestEntityTooLarge:
        return error_response(ErrorCode.TOO_LARGE, f"the body is larger than {MAX_BODY} bytes")
    except web.HTTPMethodNotAllowed as exc:
        allowed = ", ".join(sorted(exc.allowed_methods))
        response = error_response(ErrorCode.METHOD_NOT_ALLOWED,
                                  f"{request.method} is not allowed here (allowed: {allowed})")
        response.headers["Allow"] = allowed  # RFC 9110: a 405 names the methods there are
        return response
    except web.HTTPNotFound:
        return error_response(ErrorCode.NOT_FOUND, f"no such endpoint: {request.path}")
    except web.HTTPException as exc:
        if exc.status < 400 or exc.status >= 500:  # redirects (the console's) go out as they are
            raise
        return error_response(ErrorCode.BAD_REQUEST, exc.reason)


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
        raise ApiError(ErrorCode.UNAUTHORIZED,
                       "a known device token is required (Authorization: Bearer)")
    if device.role == "admin":
        return device
    if device.role not in roles:
        raise ApiError(ErrorCode.FORBIDDEN, f"a {device.role} device may not do this")
    if window is not None and window not in device.windows:
        raise ApiError(ErrorCode.FORBIDDEN,
                       f"device {device.name} may not operate window {window}")
    return device


# -- request bodies and queries ---------------------------------------------------------------


async def read_body(request: web.Request, kind: type[T]) -> T:
    """The body decoded into `kind` (a type of `dispatcher.server.schema`), else ApiError."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            raw = await request.read()
    except TimeoutError:
        raise ApiError(ErrorCode.REQUEST_TIMEOUT,
                       f"the body did not arrive within {BODY_TIMEOUT_S:g} s") from None
    if len(raw) > MAX_BODY:
        raise ApiError(ErrorCode.TOO_LARGE, f"the body is larger than {MAX_BODY} bytes")
    return decode_body(raw, kind)


def decode_body(raw: bytes, kind: type[T]) -> T:
    """bad_json when `raw` is not a JSON object or nests deeper than MAX_DEPTH; bad_request
    naming the field it gets wrong."""
    if nesting_depth(raw) > MAX_DEPTH:
        raise ApiError(ErrorCode.BAD_JSON, f"the body nests deeper than {MAX_DEPTH} levels")
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as err:
        if not raw.lstrip(b" \t\r\n").startswith(b"{"):
            raise ApiError(ErrorCode.BAD_JSON, "the body must be a JSON object") from None
        raise ApiError(ErrorCode.BAD_REQUEST, str(err)) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        raise ApiError(ErrorCode.BAD_JSON, f"the body is not valid JSON: {err}") from None
    except RecursionError:
        raise ApiError(ErrorCode.BAD_JSON, "the body is nested too deeply") from None


def nesting_depth(raw: bytes) -> int:
    """How deep JSON arrays and objects nest in `raw` (brackets inside strings not counted)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def decode_query(query: Mapping[str, str], kind: type[T]) -> T:
    """The query parameters decoded into `kind`, else bad_request naming the parameter."""
    try:
        return msgspec.convert(dict(query), type=kind, strict=False)
    except msgspec.ValidationError as err:
        raise ApiError(ErrorCode.BAD_REQUEST, f"query: {err}") from None


def window_number(request: web.Request) -> int:
    text = request.match_info["n"]
    if not WINDOW_NUMBER.fullmatch(text):
        raise ApiError(ErrorCode.UNKNOWN_WINDOW, f"there is no window {text!r}")
    n = int(text)
    if n not in request.app[SERVICE_KEY].core.state.windows:
        raise ApiError(ErrorCode.UNKNOWN_WINDOW, f"there is no window {n}")
    return n


# -- handlers ---------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    if service.failure is not None:  # fail-stop: about to exit, say why
        raise ApiError(ErrorCode.UNAVAILABLE, service.failure)
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
    query = decode_query(request.query, s.TicketQuery)
    if query.date is UNSET:
        current = service.core.state.business_day
        day = current.isoformat() if current else None
    else:
        day = query.date.isoformat()
    status = None if query.status is UNSET else query.status.value
    printed = None if query.print_status is UNSET else query.print_status.value
    tickets = await service.read(lambda: service.store.tickets(day, status, printed))
    return json_response({"date": day, "tickets": tickets})


async def get_ticket(request: web.Request) -> web.Response:
    authorize(request, ("kiosk", "caller", "display"))
    service = request.app[SERVICE_KEY]
    tid = request.match_info["ticket_id"]
    ticket = await service.read(lambda: service.store.ticket(tid))
    if ticket is None:
        raise ApiError(ErrorCode.UNKNOWN_TICKET, f"there is no ticket {tid!r}")
    return json_response({"ticket": ticket})


RESERVED_IDS = ("day-", "con-")  # the dispatcher's own (day starts) and the console's


async def execute(request: web.Request, command: c.Command, device: Device) -> Any:
    """A device's command through the service; its answer (reply)."""
    if command.request_id.startswith(RESERVED_IDS):
        raise ApiError(ErrorCode.BAD_REQUEST,
                       f"request ids starting with {' or '.join(RESERVED_IDS)} are reserved")
    outcome = await request.app[SERVICE_KEY].execute(command, device.name)
    return outcome.reply


async def run(request: web.Request, command: c.Command, device: Device,
              status: int = 200) -> web.Response:
    return json_response(await execute(request, command, device), status=status)


async def issue_ticket(request: web.Request) -> web.Response:
    device = authorize(request, ("kiosk",))
    body = await read_body(request, s.IssueTicketRequest)
    if body.appointment_code:
        return await check_in(request, device, body, body.appointment_code)
    if body.service_id is None:
        raise ApiError(ErrorCode.UNKNOWN_SERVICE,
                       "name the business (`service_id`) or check in (`appointment_code`)")
    command = c.IssueTicket(
        request_id=body.request_id, service_id=body.service_id,
        sign_language=bool(body.sign_language),
    )
    return await run(request, command, device, status=201)


async def check_in(request: web.Request, device: Device, body: s.IssueTicketRequest,
                   code: str) -> web.Response:
    """An appointment's check-in at the kiosk: its ticket (201) within the check-in window;
    the same ticket again (200) for a code already checked in; else 422 saying why."""
    service = request.app[SERVICE_KEY]
    config = service.config
    booking = await service.read(lambda: service.store.booking(code))
    if booking is None or booking.status not in ("checked_in", "served"):
        problem = check_in_problem(booking, service.clock(), config.center.tz,
                                   config.appointments)
        if problem is not None:
            # Late on the booked day: the kiosk may offer an ordinary number for the business.
            late = problem[0] == "appointment_too_late" and booking is not None and \
                booking.date == service.clock().astimezone(config.center.tz).date()
            raise ApiError(ErrorCode(problem[0]), problem[1],
                           {"service_id": booking.service_id} if late and booking else None)
    assert booking is not None
    if body.service_id is not None and body.service_id != booking.service_id:
        raise ApiError(ErrorCode.APPOINTMENT_OTHER_BUSINESS,
                       f"appointment {code} is for {booking.service_id}, not {body.service_id}")
    tz = config.center.tz
    command = c.IssueTicket(
        request_id=body.request_id, service_id=booking.service_id,
        sign_language=bool(body.sign_language), appointment_code=code,
        appointment_start=dt.datetime.combine(booking.date, booking.slot_start, tz).isoformat(),
        appointment_end=dt.datetime.combine(booking.date, booking.slot_end, tz).isoformat(),
    )
    reply = await execute(request, command, device)
    return json_response(reply, status=200 if reply.get("checked_in") else 201)


async def report_print(request: web.Request) -> web.Response:
    device = authorize(request, ("kiosk",))
    body = await read_body(request, s.PrintReportRequest)
    command = c.ReportPrint(
        request_id=body.request_id, ticket_id=request.match_info["ticket_id"],
        printed=body.printed, error=body.error,
    )
    response = await run(request, command, device)
    request.app[PRESENCE_KEY].printed(device.name, body.printed, body.error)
    return response


async def cancel_ticket(request: web.Request) -> web.Response:
    device = authorize(request, ("kiosk",))
    body = await read_body(request, s.CancelTicketRequest)
    command = c.CancelTicket(
        request_id=body.request_id, ticket_id=request.match_info["ticket_id"],
        reason="cancelled" if body.reason is None else body.reason,
    )
    return await run(request, command, device)


def window_verb(
    kind: type[B], make: Callable[[B, int], c.Command],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A caller verb: the window (404), the device's right to it (403), then the body."""

    async def handler(request: web.Request) -> web.Response:
        n = window_number(request)
        device = authorize(request, ("caller",), window=n)
        body = await read_body(request, kind)
        return await run(request, make(body, n), device)

    return handler


def _transfer(body: s.TransferRequest, n: int) -> c.Command:
    if body.service_id is None and body.window is None:  # the schema's anyOf (TransferBody)
        raise ApiError(ErrorCode.BAD_REQUEST, s.TRANSFER_NEEDS)
    if body.window == n:  # well-formed (no schema relates path and body), but not possible
        raise ApiError(ErrorCode.CANNOT_SERVE,
                       f"the ticket is at window {n} already: transfer it to another window")
    return c.Transfer(request_id=body.request_id, window=n, service_id=body.service_id,
                      to_window=body.window)


def _plain(cls: type[c.CallNext | c.Recall | c.NoShow | c.Pause | c.Resume]
           ) -> Callable[[s.WindowRequest, int], c.Command]:
    """A verb whose body is only the request id."""
    return lambda body, n: cls(request_id=body.request_id, window=n)


def _sign_in(body: s.SignInRequest, n: int) -> c.Command:
    return c.SignIn(request_id=body.request_id, window=n, staff_id=body.staff_id)


async def rate_ticket(request: web.Request) -> web.Response:
    """好差评 for a ticket: by a caller device allowed at the ticket's window (the core checks
    the window, as the ticket is when the rating is taken)."""
    device = authorize(request, ("caller",))
    body = await read_body(request, s.RatingRequest)
    command = c.RateTicket(request_id=body.request_id, ticket_id=request.match_info["ticket_id"],
                           score=body.score, allowed_windows=_windows_of(device))
    return await run(request, command, device)


def _rate_window(body: s.RatingRequest, n: int) -> c.Command:
    return c.RateTicket(request_id=body.request_id, window=n, score=body.score)


def _windows_of(device: Device) -> tuple[int, ...] | None:
    """The windows a device may operate; None for a manager's (every window)."""
    return None if device.role == "admin" else device.windows


async def bus_health(request: web.Request) -> web.Response:
    """The bus master's report of its devices (a state: no request id; repeating it is
    harmless)."""
    device = authorize(request, ("caller",))
    body = await read_body(request, s.BusHealthReport)
    request.app[PRESENCE_KEY].bus_reported(device.name, body)
    return web.Response(status=204)


async def green_channel(request: web.Request) -> web.Response:
    device = authorize(request, ())
    body = await read_body(request, s.GreenChannelRequest)
    command = c.SetGreenChannel(request_id=body.request_id, mode=body.mode.value)
    return await run(request, command, device)


async def set_issuing(request: web.Request) -> web.Response:
    device = authorize(request, ())
    body = await read_body(request, s.IssuingRequest)
    return await run(request, c.SetIssuing(request_id=body.request_id, open=body.open), device)


async def reprint_ticket(request: web.Request) -> web.Response:
    device = authorize(request, ())
    body = await read_body(request, s.ReprintRequest)
    command = c.RequestReprint(request_id=body.request_id,
                               ticket_id=request.match_info["ticket_id"], kiosk=body.kiosk)
    return await run(request, command, device)


async def events(request: web.Request) -> web.StreamResponse:
    device = authorize(request, ("kiosk", "caller", "display"))
    service = request.app[SERVICE_KEY]
    query = decode_query(request.query, s.EventsQuery)
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError(ErrorCode.UPGRADE_REQUIRED,
                       "this endpoint is a WebSocket: send Upgrade: websocket")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S * 2, max_msg_size=4096)
    # Subscribe first: a stopping service refuses with a proper 503 before the upgrade.
    sub = await service.subscribe(None if query.since is UNSET else query.since,
                                  None if query.epoch is UNSET else query.epoch)
    try:
        await ws.prepare(request)
    except BaseException:
        service.unsubscribe(sub)
        raise
    request.app[SOCKETS_KEY].add(ws)
    presence = request.app[PRESENCE_KEY]
    presence.opened(device.name)

    async def pump() -> None:
        last: int | None = None
        while True:
            try:  # asyncio.timeout: 3.11's wait_for may swallow the cancel that ends us
                async with asyncio.timeout(HEARTBEAT_S):
                    message = await sub.queue.get()
            except TimeoutError:
                await ws.send_json({"type": "heartbeat", "last_seq": last})
                continue
            if message is None:
                await ws.close(code=1001, message=b"resync")
                return
            last = message["seq"]
            await ws.send_str(json.dumps(message, ensure_ascii=False))

    try:
        await run_socket(ws, pump())
    finally:
        service.unsubscribe(sub)
        presence.closed(device.name)
    return ws


async def run_socket(ws: web.WebSocketResponse, pump: Coroutine[Any, Any, None]) -> None:
    """Run `pump` (what the server sends) while reading `ws` until the peer or the server
    closes it; then stop the pump."""
    task = asyncio.create_task(pump)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.ERROR:
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await task


def build_app(config: Config, service: DispatcherService,
              presence: Presence | None = None) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=MAX_BODY)
    app[SERVICE_KEY] = service
    app[CONFIG_KEY] = config
    app[SOCKETS_KEY] = weakref.WeakSet()
    app[PRESENCE_KEY] = presence or Presence(service.clock)
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
    verbs = {
        "call-next": window_verb(s.WindowRequest, _plain(c.CallNext)),
        "recall": window_verb(s.WindowRequest, _plain(c.Recall)),
        "no-show": window_verb(s.WindowRequest, _plain(c.NoShow)),
        "pause": window_verb(s.WindowRequest, _plain(c.Pause)),
        "resume": window_verb(s.WindowRequest, _plain(c.Resume)),
        "transfer": window_verb(s.TransferRequest, _transfer),
        "sign-in": window_verb(s.SignInRequest, _sign_in),
        "rating": window_verb(s.RatingRequest, _rate_window),
    }
    for verb, handler in verbs.items():
        app.router.add_post(f"{p}/windows/{{n}}/{verb}", handler)
    app.router.add_post(f"{p}/green-channel", green_channel)
    app.router.add_post(f"{p}/issuing", set_issuing)
    app.router.add_post(f"{p}/tickets/{{ticket_id}}/reprint", reprint_ticket)
    app.router.add_post(f"{p}/tickets/{{ticket_id}}/rating", rate_ticket)
    app.router.add_put(f"{p}/bus/health", bus_health)
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
