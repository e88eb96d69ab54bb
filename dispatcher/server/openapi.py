"""The OpenAPI 3.1 document of the LAN API v1, served at /api/v1/openapi.json.

Every schema in it is derived from the msgspec types of `dispatcher.server.schema` (the ones
the server decodes requests into), never written by hand; this module only adds the paths,
parameters, security and the statuses each operation really answers with.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from base.errors import ErrorCode as E
from dispatcher.server import schema as s

REF = "#/components/schemas/{name}"
TicketId = Annotated[str, msgspec.Meta(min_length=1, description="e.g. 2026-11-30-B001")]

_READ = (E.UNAUTHORIZED, E.UNAVAILABLE)
_WRITE = (E.BAD_JSON, E.BAD_REQUEST, E.UNAUTHORIZED, E.FORBIDDEN, E.REQUEST_ID_REUSED,
          E.TOO_LARGE, E.REQUEST_TIMEOUT, E.UNAVAILABLE)
_WINDOW = (*_WRITE, E.UNKNOWN_WINDOW)


@dataclass(frozen=True)
class Operation:
    """One operation: its types (schemas come from them) and the error codes it can answer."""

    method: str
    path: str
    operation_id: str
    summary: str
    answer: Any  # the type of the success answer (None: no content, e.g. 204)
    errors: tuple[E, ...] = ()
    status: int = 200
    body: Any = None  # the type of the request body
    query: type[msgspec.Struct] | None = None  # the query parameters, one per field
    public: bool = False  # no token needed
    links: tuple[str, ...] = ()  # operations taking this answer's `ticket.id` as `ticket_id`


OPERATIONS = (
    Operation("get", "/health", "health", "Liveness, version and the last committed seq "
              "(503 once the dispatcher has stopped serving, with the reason)",
              s.Health, (E.UNAVAILABLE,), public=True),
    Operation("get", "/openapi.json", "openapi", "This document", dict[str, Any], public=True),
    Operation("get", "/catalog", "catalog", "Departments, businesses and windows", s.Catalog,
              (E.UNAUTHORIZED,)),
    Operation("get", "/state", "state", "The queue now (STATE)", s.State, _READ),
    Operation("get", "/tickets", "listTickets",
              "Tickets of a day (default today), history included", s.TicketList,
              (E.BAD_REQUEST, *_READ), query=s.TicketQuery),
    Operation("post", "/tickets", "issueTicket",
              "Take a ticket, or check in a booking with its appointment_code (kiosk): 201; "
              "the same code again answers 200 with the same ticket", s.IssuedTicket,
              (*_WRITE, E.CANNOT_SERVE, E.ISSUING_CLOSED, E.UNKNOWN_SERVICE,
               E.UNKNOWN_APPOINTMENT, E.APPOINTMENT_NOT_TODAY, E.APPOINTMENT_TOO_EARLY,
               E.APPOINTMENT_TOO_LATE, E.APPOINTMENT_CANCELLED, E.APPOINTMENT_OTHER_BUSINESS),
              201,
              s.IssueTicketRequest, links=("getTicket", "reportPrint", "cancelTicket")),
    Operation("get", "/tickets/{ticket_id}", "getTicket", "One ticket, e.g. to reprint it",
              s.TicketAnswer, (*_READ, E.UNKNOWN_TICKET)),
    Operation("post", "/tickets/{ticket_id}/print-report", "reportPrint",
              "The kiosk reports whether the paper came out (kiosk)", s.TicketAnswer,
              (*_WRITE, E.UNKNOWN_TICKET), body=s.PrintReportRequest),
    Operation("post", "/tickets/{ticket_id}/cancel", "cancelTicket",
              "Cancel a waiting ticket (kiosk)", s.TicketAnswer,
              (*_WRITE, E.UNKNOWN_TICKET, E.TICKET_NOT_WAITING), body=s.CancelTicketRequest),
    Operation("post", "/windows/{n}/call-next", "callNext",
              "Finish the current ticket and call the next one by the calling policy (caller)",
              s.CalledTicket, (*_WINDOW, E.WINDOW_PAUSED), body=s.WindowRequest),
    Operation("post", "/windows/{n}/recall", "recall", "Call the current ticket again (caller)",
              s.TicketAnswer, (*_WINDOW, E.NO_CURRENT_TICKET), body=s.WindowRequest),
    Operation("post", "/windows/{n}/no-show", "noShow",
              "The current ticket did not come (caller)", s.TicketAnswer,
              (*_WINDOW, E.NO_CURRENT_TICKET), body=s.WindowRequest),
    Operation("post", "/windows/{n}/pause", "pause",
              "Close the window for a break, finishing its current ticket (caller)",
              s.WindowAnswer, (*_WINDOW, E.WINDOW_PAUSED), body=s.WindowRequest),
    Operation("post", "/windows/{n}/resume", "resume", "Open a paused window again (caller)",
              s.WindowAnswer, (*_WINDOW, E.WINDOW_NOT_PAUSED), body=s.WindowRequest),
    Operation("post", "/windows/{n}/transfer", "transfer",
              "Send the current ticket to another business and/or window (caller)",
              s.TicketAnswer,
              (*_WINDOW, E.NO_CURRENT_TICKET, E.CANNOT_SERVE, E.UNKNOWN_SERVICE),
              body=s.TransferBody),
    Operation("post", "/windows/{n}/sign-in", "signIn",
              "Who sits at the window; their skills follow (caller)", s.WindowAnswer,
              (*_WINDOW, E.UNKNOWN_STAFF), body=s.SignInRequest),
    Operation("post", "/green-channel", "greenChannel", "The manager's switch (admin)",
              s.GreenChannelAnswer, _WRITE, body=s.GreenChannelRequest),
    Operation("post", "/issuing", "setIssuing",
              "Close ticket issuing for the rest of the day, or reopen it (admin)",
              s.IssuingAnswer, _WRITE, body=s.IssuingRequest),
    Operation("post", "/tickets/{ticket_id}/reprint", "reprintTicket",
              "Print a waiting or called ticket again at a kiosk (admin)", s.TicketAnswer,
              (*_WRITE, E.UNKNOWN_TICKET, E.TICKET_NOT_WAITING, E.UNKNOWN_DEVICE),
              body=s.ReprintRequest),
    Operation("post", "/tickets/{ticket_id}/rating", "rateTicket",
              "A resident's 好差评 score for a ticket called or served today (caller of its "
              "window)", s.TicketAnswer,
              (*_WRITE, E.UNKNOWN_TICKET, E.NOT_SERVED, E.ALREADY_RATED), body=s.RatingRequest),
    Operation("post", "/windows/{n}/rating", "rateWindow",
              "A rating pad's score: for the window's current ticket, else the one it finished "
              "within [ratings] attach_min, else kept unattached (caller)", s.RatingAnswer,
              (*_WINDOW, E.ALREADY_RATED), body=s.RatingRequest),
    Operation("post", "/appointments", "createAppointment",
              "One booking, or a changed slot for its code (admin); names and phones are "
              "masked in every answer", s.AppointmentAnswer,
              (*_WRITE, E.INVALID_APPOINTMENT, E.SLOT_FULL, E.APPOINTMENT_CHECKED_IN), 201,
              s.AppointmentRequest),
    Operation("get", "/appointments", "listAppointments",
              "A day's bookings, names and phones masked (admin)", s.AppointmentList,
              (E.BAD_REQUEST, E.FORBIDDEN, *_READ), query=s.AppointmentQuery),
    Operation("post", "/appointments/{code}/cancel", "cancelAppointment",
              "Cancel a booking not checked in yet: its place is free again (admin)",
              s.AppointmentAnswer, (*_WRITE, E.UNKNOWN_APPOINTMENT, E.APPOINTMENT_CHECKED_IN),
              body=s.Mutation),
    Operation("post", "/appointments/{code}/followup", "followUpAppointment",
              "预约回访: record a call's outcome (admin). Each call counts an attempt; "
              "cancelled frees the place; rescheduled may carry the new slot. The same "
              "request id again changes nothing", s.AppointmentAnswer,
              (*_WRITE, E.UNKNOWN_APPOINTMENT, E.INVALID_APPOINTMENT, E.APPOINTMENT_CANCELLED,
               E.APPOINTMENT_TOO_LATE, E.APPOINTMENT_CHECKED_IN, E.SLOT_FULL,
               E.FOLLOWUP_TAKEN), body=s.FollowupRequest),
    Operation("put", "/bus/health", "busHealth",
              "The serial bus master's report of its devices; no request id (caller)", None,
              (E.BAD_JSON, E.BAD_REQUEST, E.UNAUTHORIZED, E.FORBIDDEN, E.TOO_LARGE,
               E.REQUEST_TIMEOUT), 204, s.BusHealthReport),
)

EVENTS_DESCRIPTION = (
    "WebSocket. First a snapshot {type: snapshot, seq, epoch, boot, state} (or, with "
    "?since=SEQ&epoch=EPOCH, {type: resume} and the missed events), then one message per "
    "change with seq rising by exactly 1; {type: heartbeat, last_seq} every 2 s when idle. "
    "A request without `Upgrade: websocket` is answered 426."
)
EVENTS_ERRORS = (E.BAD_REQUEST, E.UNAUTHORIZED, E.UPGRADE_REQUIRED, E.UNAVAILABLE)


def _error_responses(codes: tuple[E, ...]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in codes:
        if code.value not in by_status[code.status]:
            by_status[code.status].append(code.value)
    return {
        str(status): {
            "description": ", ".join(names),
            "content": {"application/json": {"schema": {"$ref": REF.format(name="Error")}}},
        }
        for status, names in sorted(by_status.items())
    }


def _parameters(path: str, query: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Path parameters (by name), then one query parameter per field of the query type."""
    params: list[dict[str, Any]] = []
    if "{n}" in path:
        params.append({"name": "n", "in": "path", "required": True,
                       "description": "a window number", "schema": _inline(s.WindowNumber)})
    if "{ticket_id}" in path:
        params.append({"name": "ticket_id", "in": "path", "required": True,
                       "schema": _inline(TicketId)})
    if "{code}" in path:
        params.append({"name": "code", "in": "path", "required": True,
                       "description": "a booking code", "schema": {"type": "string"}})
    if query is not None:
        required = set(query.get("required", ()))
        params.extend({"name": name, "in": "query", "required": name in required,
                       "schema": prop} for name, prop in query["properties"].items())
    return params


def _inline(kind: Any) -> dict[str, Any]:
    """The schema of a type that needs no components (a constrained scalar)."""
    schema: dict[str, Any] = msgspec.json.schema(kind)
    return schema


def openapi_document(version: str) -> dict[str, Any]:
    """The whole document; `version` is the dispatcher's."""
    types: list[Any] = [s.Error]
    for op in OPERATIONS:
        if op.answer is not None:
            types.append(op.answer)
        if op.body is not None:
            types.append(op.body)
        if op.query is not None:
            types.append(op.query)
    types.append(s.EventsQuery)
    refs, components = msgspec.json.schema_components(types, ref_template=REF)
    schema_of = dict(zip(map(id, types), refs, strict=True))
    queries = {op.query.__name__: components.pop(op.query.__name__)
               for op in OPERATIONS if op.query is not None}
    events_query = components.pop(s.EventsQuery.__name__)

    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for op in OPERATIONS:
        query = queries[op.query.__name__] if op.query is not None else None
        success: dict[str, Any] = {"description": op.summary}
        if op.answer is not None:
            success["content"] = {"application/json": {"schema": schema_of[id(op.answer)]}}
        if op.links:
            success["links"] = {
                target: {"operationId": target,
                         "parameters": {"ticket_id": "$response.body#/ticket/id"}}
                for target in op.links
            }
        entry: dict[str, Any] = {
            "operationId": op.operation_id,
            "summary": op.summary,
            "responses": {str(op.status): success, **_error_responses(op.errors)},
        }
        if op.public:
            entry["security"] = []
        params = _parameters(op.path, query)
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": schema_of[id(op.body)]}}}
        paths[op.path][op.method] = entry

    upgrade = _error_responses((E.UPGRADE_REQUIRED,))["426"]
    upgrade["headers"] = {"Upgrade": {"required": True, "schema": {"const": "websocket"}}}
    paths["/events"]["get"] = {
        "operationId": "events",
        "summary": "The event stream (WebSocket)",
        "description": EVENTS_DESCRIPTION,
        "parameters": _parameters("/events", events_query),
        "responses": {"101": {"description": "switching to WebSocket"},
                      **_error_responses(EVENTS_ERRORS), "426": upgrade},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "qms dispatcher LAN API",
            "version": version,
            "description": (
                "Every error is {\"error\": {\"code\", \"message\"}} with the status of its "
                "code. A method a path does not take is answered 405 with `Allow`; an unknown "
                "path 404 (not_found). Every mutating request carries a client-chosen "
                "request_id: repeating it returns the first answer and changes nothing."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": dict(paths),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components,
        },
    }
