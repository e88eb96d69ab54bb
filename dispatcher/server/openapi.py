"""The OpenAPI 3.0 document of the LAN API v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

_REQUEST_ID = {"type": "string", "minLength": 1, "maxLength": 128,
               "description": "client-chosen; a repeat returns the first answer"}
_ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}}}},
}
_TICKET = {
    "type": "object",
    "required": ["id", "number", "service_id", "status", "issued_at", "sign_language"],
    "properties": {
        "id": {"type": "string"}, "number": {"type": "string", "example": "A012"},
        "service_id": {"type": "string"},
        "status": {"type": "string",
                   "enum": ["waiting", "called", "done", "no_show", "cancelled"]},
        "issued_at": {"type": "string", "format": "date-time"},
        "sign_language": {"type": "boolean"},
        "business_day": {"type": "string", "format": "date"},
        "window": {"type": "integer", "nullable": True},
        "target_window": {"type": "integer", "nullable": True},
        "print_status": {"type": "string", "enum": ["pending", "printed", "failed"]},
    },
}
_WINDOW = {
    "type": "object", "required": ["number", "green", "status", "current"],
    "properties": {"number": {"type": "integer"}, "green": {"type": "boolean"},
                   "status": {"type": "string", "enum": ["open", "paused"]},
                   "current": {"allOf": [{"$ref": "#/components/schemas/Ticket"}],
                               "nullable": True}},
}


def _body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["request_id", *required],
        "properties": {"request_id": _REQUEST_ID, **properties}}}}}


def _answer(schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    errors = {code: {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}
        for code, text in (("400", "malformed request"), ("401", "no known token"),
                           ("403", "wrong role or window"), ("404", "unknown window or ticket"),
                           ("409", "not possible in the current state"),
                           ("413", "body too large"), ("422", "unknown business or staff"))}
    return {status: {"description": "ok", "content": {"application/json": {"schema": schema}}},
            **errors}


def _ticket_answer(status: str = "200") -> dict[str, Any]:
    return _answer({"type": "object", "properties": {
        "ticket": {"$ref": "#/components/schemas/Ticket"}}}, status)


def _window_answer() -> dict[str, Any]:
    return _answer({"type": "object", "properties": {
        "window": {"$ref": "#/components/schemas/Window"}}})


_N = [{"name": "n", "in": "path", "required": True, "schema": {"type": "integer"}}]
_TID = [{"name": "ticket_id", "in": "path", "required": True, "schema": {"type": "string"}}]


def openapi_document(version: str) -> dict[str, Any]:
    verb = {"parameters": _N}
    paths: dict[str, Any] = {
        "/health": {"get": {"security": [], "responses": _answer({"type": "object"})}},
        "/catalog": {"get": {"responses": _answer({"type": "object"})}},
        "/state": {"get": {"responses": _answer({"type": "object"})}},
        "/tickets": {
            "get": {"parameters": [
                {"name": "date", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "status", "in": "query", "schema": {"type": "string"}},
                {"name": "print_status", "in": "query", "schema": {"type": "string"}},
            ], "responses": _answer({"type": "object"})},
            "post": {"requestBody": _body({
                "service_id": {"type": "string"}, "sign_language": {"type": "boolean"},
                "appointment_code": {"type": "string", "maxLength": 32}}, ("service_id",)),
                "responses": _answer({"type": "object", "properties": {
                    "ticket": {"$ref": "#/components/schemas/Ticket"},
                    "ahead": {"type": "integer"}, "est_wait_min": {"type": "integer"}}}, "201")},
        },
        "/tickets/{ticket_id}": {"get": {"parameters": _TID, "responses": _ticket_answer()}},
        "/tickets/{ticket_id}/print-report": {"post": {
            "parameters": _TID,
            "requestBody": _body({"printed": {"type": "boolean"},
                                  "error": {"type": "string", "maxLength": 200}}, ("printed",)),
            "responses": _ticket_answer()}},
        "/tickets/{ticket_id}/cancel": {"post": {
            "parameters": _TID, "requestBody": _body({"reason": {"type": "string"}}),
            "responses": _ticket_answer()}},
        "/windows/{n}/call-next": {"post": {**verb, "requestBody": _body({}),
                                            "responses": _answer({"type": "object"})}},
        "/windows/{n}/recall": {"post": {**verb, "requestBody": _body({}),
                                         "responses": _ticket_answer()}},
        "/windows/{n}/no-show": {"post": {**verb, "requestBody": _body({}),
                                          "responses": _ticket_answer()}},
        "/windows/{n}/pause": {"post": {**verb, "requestBody": _body({}),
                                        "responses": _window_answer()}},
        "/windows/{n}/resume": {"post": {**verb, "requestBody": _body({}),
                                         "responses": _window_answer()}},
        "/windows/{n}/transfer": {"post": {**verb, "requestBody": _body({
            "service_id": {"type": "string"}, "window": {"type": "integer"}}),
            "responses": _ticket_answer()}},
        "/windows/{n}/sign-in": {"post": {**verb, "requestBody": _body({
            "staff_id": {"type": "string", "nullable": True}}), "responses": _window_answer()}},
        "/green-channel": {"post": {"requestBody": _body({
            "mode": {"type": "string", "enum": ["auto", "on", "off"]}}, ("mode",)),
            "responses": _answer({"type": "object"})}},
        "/events": {"get": {
            "description": "WebSocket. First a snapshot {type: snapshot, seq, epoch, state} "
                           "(or, with ?since=SEQ&epoch=EPOCH, {type: resume} and the missed "
                           "events), then one message per change with seq rising by exactly 1;"
                           " {type: heartbeat, last_seq} every 2 s when idle.",
            "parameters": [{"name": "since", "in": "query", "schema": {"type": "integer"}},
                           {"name": "epoch", "in": "query", "schema": {"type": "string"}}],
            "responses": {"101": {"description": "switching to WebSocket"}}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "qms dispatcher LAN API", "version": version},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Ticket": _TICKET, "Window": _WINDOW, "Error": _ERROR},
        },
        "paths": paths,
    }
