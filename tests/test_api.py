"""The LAN API v1 over real loopback sockets: endpoints, roles, idempotency, persistence."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from base.errors import ErrorCode, QmsError
from dispatcher.domain.commands import CommandError
from dispatcher.server.main import refuse_reason
from dispatcher.server.schema import TRANSFER_NEEDS
from dispatcher.server.store import Store
from qms.cli import main
from qms.config import load_config

from .helpers import ADMIN, DESK3, HALL, KIOSK, SCREEN, small_config
from .live import LiveDispatcher, http_call

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"


def issue(live: LiveDispatcher, service: str, rid: str, **extra: Any) -> dict[str, Any]:
    status, body = live.call("POST", "/tickets",
                             {"request_id": rid, "service_id": service, **extra}, KIOSK)
    assert status == 201, body
    ticket: dict[str, Any] = body["ticket"]
    return ticket


def call_next(live: LiveDispatcher, window: int, rid: str, token: str = HALL) -> str | None:
    live.clock.advance(5)
    status, body = live.call("POST", f"/windows/{window}/call-next", {"request_id": rid}, token)
    assert status == 200, body
    return None if body["ticket"] is None else str(body["ticket"]["number"])


def test_health_needs_no_token(live: LiveDispatcher) -> None:
    status, body = live.call("GET", "/health")
    assert status == 200
    assert body["status"] == "ok" and body["version"]


def test_catalog_lists_departments_and_businesses(live: LiveDispatcher) -> None:
    for token in (KIOSK, HALL, SCREEN, ADMIN):
        status, body = live.call("GET", "/catalog", token=token)
        assert status == 200
    service = body["departments"][0]["services"][0]
    assert set(service) >= {"id", "name", "prefix", "minutes", "short_high_freq", "materials"}
    assert service == {"id": "yb-dabing", "name": "医保大病登记", "name_en": "", "prefix": "A",
                       "minutes": 4, "short_high_freq": True, "materials": ["身份证"]}


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-123", "Basic dGVzdA==",
                                    "Bearer ", "test-kiosk-token"])
def test_missing_or_unknown_token_is_401(live: LiveDispatcher, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for method, path, body in (("GET", "/state", None), ("GET", "/catalog", None),
                               ("POST", "/tickets", {"request_id": "x", "service_id": "sb-card"}),
                               ("POST", "/windows/1/call-next", {"request_id": "y"})):
        status, answer = live.call(method, path, body, headers=headers)
        assert status == 401, (method, path)
        assert answer["error"]["code"] == "unauthorized"


def test_roles_and_window_scopes_are_enforced(live: LiveDispatcher) -> None:
    ticket = {"request_id": "t1", "service_id": "sb-card"}
    assert live.call("POST", "/tickets", ticket, HALL)[0] == 403
    assert live.call("POST", "/tickets", ticket, SCREEN)[0] == 403
    assert live.call("POST", "/windows/3/call-next", {"request_id": "c"}, KIOSK)[0] == 403
    assert live.call("POST", "/windows/3/call-next", {"request_id": "c"}, SCREEN)[0] == 403
    status, body = live.call("POST", "/windows/1/call-next", {"request_id": "c"}, DESK3)
    assert status == 403 and "window 1" in body["error"]["message"]
    assert live.call("POST", "/windows/3/call-next", {"request_id": "c3"}, DESK3)[0] == 200
    assert live.call("POST", "/green-channel", {"request_id": "g", "mode": "on"}, HALL)[0] == 403
    # The manager's device may do everything.
    assert live.call("POST", "/tickets", {"request_id": "a", "service_id": "sb-card"},
                     ADMIN)[0] == 201
    assert live.call("POST", "/green-channel", {"request_id": "g2", "mode": "on"},
                     ADMIN)[0] == 200
    assert live.call("GET", "/state", token=SCREEN)[0] == 200


def test_issue_answers_with_ticket_ahead_and_wait(live: LiveDispatcher) -> None:
    issue(live, "sb-card", "k1")
    status, body = live.call("POST", "/tickets",
                             {"request_id": "k2", "service_id": "yb-baoxiao",
                              "sign_language": True}, KIOSK)
    assert status == 201
    assert body["ticket"]["number"] == "A001"
    assert body["ticket"]["sign_language"] is True
    assert body["ticket"]["issued_at"].endswith("+08:00")
    assert body["ahead"] == 1 and body["est_wait_min"] == 3


def test_a_retried_request_returns_the_first_answer(live: LiveDispatcher) -> None:
    first = live.call("POST", "/tickets", {"request_id": "same", "service_id": "sb-card"}, KIOSK)
    live.clock.advance(30)
    again = live.call("POST", "/tickets", {"request_id": "same", "service_id": "sb-card"}, KIOSK)
    assert again == first
    reused = live.call("POST", "/tickets", {"request_id": "same", "service_id": "yb-jilu"},
                       KIOSK)
    assert reused[0] == 409 and reused[1]["error"]["code"] == "request_id_reused"
    state = live.call("GET", "/state", token=SCREEN)[1]
    assert [t["number"] for t in state["waiting"]] == ["B001"]


def test_green_windows_take_short_business_seen_from_outside(live: LiveDispatcher) -> None:
    issue(live, "sb-card", "o1")  # B001, the oldest
    issue(live, "yb-baoxiao", "o2")  # A001, not short
    for i, s in enumerate(("yb-dabing", "yb-jilu", "yb-dabing")):  # A002–A004: 3 short > 2
        issue(live, s, f"s{i}")
    assert call_next(live, 3, "w3") == "B001"  # ordinary window: plain order
    assert call_next(live, 1, "w1") == "A002"  # green window: oldest short first
    assert call_next(live, 3, "w3b") == "A001"
    assert call_next(live, 2, "w2") == "A003"  # one short left (< 2): diversion off
    state = live.call("GET", "/state", token=SCREEN)[1]
    assert state["diversion_on"] is False
    assert [t["number"] for t in state["waiting"]] == ["A004"]


def test_caller_verbs(live: LiveDispatcher) -> None:
    issue(live, "sb-card", "a")
    issue(live, "sb-card", "b")
    assert call_next(live, 3, "c1") == "B001"
    status, body = live.call("POST", "/windows/3/recall", {"request_id": "r1"}, HALL)
    assert status == 200 and body["ticket"]["calls"] == 2
    status, body = live.call("POST", "/windows/3/no-show", {"request_id": "n1"}, HALL)
    assert status == 200 and body["ticket"]["status"] == "no_show"
    status, body = live.call("POST", "/windows/3/no-show", {"request_id": "n2"}, HALL)
    assert status == 409 and body["error"]["code"] == "no_current_ticket"
    assert call_next(live, 4, "c2") == "B002"
    status, body = live.call("POST", "/windows/4/transfer",
                             {"request_id": "t1", "service_id": "yb-baoxiao", "window": 3}, HALL)
    assert status == 200 and body["ticket"]["target_window"] == 3
    assert body["ticket"]["number"] == "B002"
    status, body = live.call("POST", "/windows/4/pause", {"request_id": "p1"}, HALL)
    assert status == 200 and body["window"]["status"] == "paused"
    status, body = live.call("POST", "/windows/4/call-next", {"request_id": "p2"}, HALL)
    assert status == 409 and body["error"]["code"] == "window_paused"
    status, body = live.call("POST", "/windows/4/resume", {"request_id": "p3"}, HALL)
    assert status == 200 and body["window"]["status"] == "open"
    assert call_next(live, 3, "c3") == "B002"
    status, body = live.call("POST", "/windows/3/sign-in", {"request_id": "si",
                                                            "staff_id": "s1"}, HALL)
    assert status == 200 and body["window"]["staff_id"] == "s1"


def test_state_shape(live: LiveDispatcher) -> None:
    issue(live, "sb-card", "a")
    call_next(live, 1, "c")
    status, state = live.call("GET", "/state", token=SCREEN)
    assert status == 200
    assert state["seq"] == 3  # day_started, ticket_issued, ticket_called
    assert state["date"] == "2026-11-30"
    assert [w["number"] for w in state["windows"]] == [1, 2, 3, 4]
    assert state["windows"][0]["green"] is True
    assert state["windows"][0]["current"]["number"] == "B001"
    assert state["recent_calls"][0] == {
        "seq": 3, "number": "B001", "window": 1, "at": state["recent_calls"][0]["at"],
        "recall": False, "ticket_id": "2026-11-30-B001", "service_id": "sb-card",
        "sign_language": False,
    }


def test_printing_is_reported_and_unreported_tickets_are_visible(live: LiveDispatcher) -> None:
    a = issue(live, "sb-card", "a")
    b = issue(live, "sb-card", "b")
    issue(live, "sb-card", "c")
    status, body = live.call("POST", f"/tickets/{a['id']}/print-report",
                             {"request_id": "pa", "printed": True}, KIOSK)
    assert status == 200 and body["ticket"]["print_status"] == "printed"
    status, body = live.call("POST", f"/tickets/{b['id']}/print-report",
                             {"request_id": "pb", "printed": False, "error": "paper out"}, KIOSK)
    assert body["ticket"]["print_status"] == "failed"
    assert body["ticket"]["print_error"] == "paper out"
    pending = live.call("GET", "/tickets?print_status=pending", token=HALL)[1]["tickets"]
    assert [t["number"] for t in pending] == ["B003"]  # the kiosk died mid-print: reprint it
    failed = live.call("GET", "/tickets?print_status=failed", token=HALL)[1]["tickets"]
    assert [t["number"] for t in failed] == ["B002"]
    status, body = live.call("GET", f"/tickets/{a['id']}", token=KIOSK)
    assert status == 200 and body["ticket"]["number"] == "B001"
    assert live.call("GET", "/tickets/2026-11-30-Z999", token=KIOSK)[0] == 404


def test_cancel_a_waiting_ticket(live: LiveDispatcher) -> None:
    a = issue(live, "sb-card", "a")
    status, body = live.call("POST", f"/tickets/{a['id']}/cancel", {"request_id": "x"}, KIOSK)
    assert status == 200 and body["ticket"]["status"] == "cancelled"


@pytest.mark.parametrize(
    ("method", "path", "raw", "status", "code"),
    [
        ("POST", "/tickets", b"{not json", 400, "bad_json"),
        ("POST", "/tickets", b"[1, 2]", 400, "bad_json"),
        ("POST", "/tickets", b"\xff\xfe", 400, "bad_json"),
        ("POST", "/tickets", b"", 400, "bad_json"),
        ("POST", "/tickets", b'{"x": ' + b"[" * 30000 + b"]" * 30000 + b"}", 400, "bad_json"),
        ("POST", "/tickets", b'{"request_id": 7, "service_id": "sb-card"}', 400, "bad_request"),
        ("POST", "/tickets", b'{"request_id": "r", "service_id": ["sb-card"]}', 400,
         "bad_request"),
        ("POST", "/tickets", b'{"request_id": "r", "service_id": "sb-card", "sign_language": 1}',
         400, "bad_request"),
        ("POST", "/tickets", b'{"request_id": "r", "service_id": "nope"}', 422,
         "unknown_service"),
        ("POST", "/tickets", b'{"service_id": "sb-card"}', 400, "bad_request"),
        ("POST", "/tickets", b'{"request_id": "", "service_id": "sb-card"}', 400, "bad_request"),
        ("POST", "/tickets", b'{"request_id": "r", "service_id": ""}', 400, "bad_request"),
        ("POST", "/tickets", b'{"request_id": "r\\n", "service_id": "sb-card"}', 400,
         "bad_request"),
        ("POST", "/tickets", b'{"request_id": "r\\u0000", "service_id": "sb-card"}', 400,
         "bad_request"),
        ("POST", "/windows/9/call-next", b'{"request_id": "r"}', 404, "unknown_window"),
        ("POST", "/windows/x/call-next", b'{"request_id": "r"}', 404, "unknown_window"),
        ("POST", "/windows/-1/call-next", b'{"request_id": "r"}', 404, "unknown_window"),
        ("POST", "/windows/3/transfer", b'{"request_id": "r", "window": "2"}', 400,
         "bad_request"),
        ("POST", "/windows/3/transfer", b'{"request_id": "r"}', 400, "bad_request"),
        ("POST", "/windows/3/transfer", b'{"request_id": "r", "service_id": null}', 400,
         "bad_request"),
        ("POST", "/windows/3/transfer", b'{"request_id": "r", "window": 1000}', 400,
         "bad_request"),
        ("POST", "/windows/%C2%B2/call-next", b'{"request_id": "r"}', 404, "unknown_window"),
        ("POST", "/windows/3/fly", b'{"request_id": "r"}', 404, "not_found"),
        ("GET", "/windows/3/call-next", None, 405, "method_not_allowed"),
        ("DELETE", "/tickets", None, 405, "method_not_allowed"),
        ("GET", "/nothing/here", None, 404, "not_found"),
        ("POST", "/tickets", b'{"request_id": "r", "pad": "' + b"x" * 70000 + b'"}', 413,
         "too_large"),
        ("POST", "/green-channel", b'{"request_id": "r", "mode": "maybe"}', 400, "bad_request"),
        ("GET", "/tickets?date=yesterday", None, 400, "bad_request"),
        ("GET", "/tickets?date=2026-13-45", None, 400, "bad_request"),
        ("GET", "/tickets?date=20261130", None, 400, "bad_request"),
        ("GET", "/tickets?date=", None, 400, "bad_request"),
        ("GET", "/tickets?status=lost", None, 400, "bad_request"),
        ("GET", "/tickets?print_status=maybe", None, 400, "bad_request"),
        ("GET", "/tickets?colour=red", None, 400, "bad_request"),
        ("GET", "/events", None, 426, "upgrade_required"),
        ("GET", "/events?since=x", None, 400, "bad_request"),
    ],
)
def test_malformed_requests_get_a_4xx_json_error_and_change_nothing(
    live: LiveDispatcher, method: str, path: str, raw: bytes | None, status: int, code: str
) -> None:
    issue(live, "sb-card", "before")
    seq = live.call("GET", "/health")[1]["seq"]
    got, body = live.call(method, path, token=ADMIN, raw=raw)
    assert (got, body["error"]["code"]) == (status, code), body
    assert body["error"]["message"]
    assert live.call("GET", "/health")[1]["seq"] == seq


def raw_call(live: LiveDispatcher, method: str, path: str, token: str | None = None
             ) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, headers) of one request to /api/v1 + path."""
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    try:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        conn.request(method, "/api/v1" + path, headers=headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}"), dict(resp.getheaders())
    finally:
        conn.close()


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/windows/3/call-next", "POST"),
    ("DELETE", "/tickets", "GET, HEAD, POST"),
    ("PUT", "/state", "GET, HEAD"),
    ("OPTIONS", "/tickets/2026-11-30-B001", "GET, HEAD"),
    ("PATCH", "/green-channel", "POST"),
    ("POST", "/health", "GET, HEAD"),
])
def test_a_405_names_the_allowed_methods(live: LiveDispatcher, method: str, path: str,
                                         allowed: str) -> None:
    status, body, headers = raw_call(live, method, path, ADMIN)
    assert status == 405 and body["error"]["code"] == "method_not_allowed"
    assert headers["Allow"] == allowed


def test_errors_name_the_field_they_refuse(live: LiveDispatcher) -> None:
    for raw, name in (
        (b'{"request_id": "r", "service_id": ["sb-card"]}', "`$.service_id`"),
        (b'{"request_id": 7, "service_id": "sb-card"}', "`$.request_id`"),
        (b'{"request_id": "r", "service_id": "sb-card", "sign_language": 1}',
         "`$.sign_language`"),
        (b'{"request_id": "r", "service_id": "sb-card", "appointment_code": "' + b"7" * 33
         + b'"}', "`$.appointment_code`"),
    ):
        status, body = live.call("POST", "/tickets", token=KIOSK, raw=raw)
        assert (status, body["error"]["code"]) == (400, "bad_request"), body
        assert name in body["error"]["message"], body
    # Well-formed (a check-in may leave the business out), but it names no business.
    status, body = live.call("POST", "/tickets", token=KIOSK, raw=b'{"request_id": "r"}')
    assert (status, body["error"]["code"]) == (422, "unknown_service"), body
    assert "`service_id`" in body["error"]["message"], body
    status, body = live.call("POST", "/green-channel", token=ADMIN,
                             raw=b'{"request_id": "g", "mode": "maybe"}')
    assert status == 400 and "`$.mode`" in body["error"]["message"]
    status, body = live.call("GET", "/tickets?date=2026-13-45", token=HALL)
    assert status == 400 and "`$.date`" in body["error"]["message"]


def test_transfer_needs_a_business_or_a_window_as_the_schema_says(live: LiveDispatcher) -> None:
    transfer = live.call("GET", "/openapi.json")[1]["paths"]["/windows/{n}/transfer"]["post"]
    schema = transfer["requestBody"]["content"]["application/json"]["schema"]
    assert [branch["required"] for branch in schema["anyOf"]] == [["service_id"], ["window"]]
    assert TRANSFER_NEEDS in schema["description"]
    issue(live, "sb-card", "a")
    assert call_next(live, 3, "c") == "B001"
    seq = live.call("GET", "/health")[1]["seq"]
    for body in ({"request_id": "t1"}, {"request_id": "t2", "service_id": None, "window": None}):
        status, answer = live.call("POST", "/windows/3/transfer", body, HALL)
        assert (status, answer["error"]) == (400, {"code": "bad_request",
                                                   "message": TRANSFER_NEEDS})
    # Well-formed, but the ticket is there already: not possible (409), like any other window
    # that cannot take it.
    status, answer = live.call("POST", "/windows/3/transfer", {"request_id": "t3", "window": 3},
                               HALL)
    assert (status, answer["error"]["code"]) == (409, "cannot_serve")
    assert live.call("GET", "/health")[1]["seq"] == seq
    status, answer = live.call("POST", "/windows/3/transfer", {"request_id": "t4", "window": 4},
                               HALL)
    assert status == 200 and answer["ticket"]["target_window"] == 4


def test_an_empty_service_id_is_refused_as_the_schema_says(live: LiveDispatcher) -> None:
    doc = live.call("GET", "/openapi.json")[1]
    service_id = doc["components"]["schemas"]["IssueTicketRequest"]["properties"]["service_id"]
    # (optional since appointments: a check-in may leave it out; when given, never empty)
    text = next(t for t in service_id.get("anyOf", [service_id]) if t.get("type") == "string")
    assert text["minLength"] == 1
    status, body = live.call("POST", "/tickets", {"request_id": "e", "service_id": ""}, KIOSK)
    assert status == 400 and "`$.service_id`" in body["error"]["message"]
    # Not empty, so well-formed: it names no business of the catalog.
    status, body = live.call("POST", "/tickets", {"request_id": "s", "service_id": " "}, KIOSK)
    assert (status, body["error"]["code"]) == (422, "unknown_service")


def test_request_ids_are_text_without_control_characters(live: LiveDispatcher) -> None:
    for i, rid in enumerate(("取号-1", "a b", "x" * 128, "\u00a0\u200b")):
        status, body = live.call("POST", "/tickets", {"request_id": rid, "service_id": "sb-card"},
                                 KIOSK)
        assert status == 201, (rid, body)
        assert body["ticket"]["number"] == f"B{i + 1:03d}"
    for rid in ("", "x" * 129, "r\n", "\tr", "r\x7f", "r\x85"):
        status, body = live.call("POST", "/tickets", {"request_id": rid, "service_id": "sb-card"},
                                 KIOSK)
        assert (status, body["error"]["code"]) == (400, "bad_request"), rid
        assert "`$.request_id`" in body["error"]["message"]


def test_every_error_code_has_its_status() -> None:
    assert {code.value: code.status for code in ErrorCode} == {
        "bad_request": 400, "bad_json": 400, "unauthorized": 401, "forbidden": 403,
        "not_found": 404, "unknown_window": 404, "unknown_ticket": 404,
        "method_not_allowed": 405, "request_id_reused": 409, "window_paused": 409,
        "window_not_paused": 409, "no_current_ticket": 409, "ticket_not_waiting": 409,
        "cannot_serve": 409, "request_timeout": 408, "too_large": 413,
        "upgrade_required": 426,
        "unknown_service": 422, "unknown_staff": 422, "unknown_appointment": 422,
        "appointment_not_today": 422, "appointment_too_early": 422,
        "appointment_too_late": 422, "appointment_cancelled": 422, "unavailable": 503,
        "issuing_closed": 409, "unknown_device": 422, "not_served": 409, "already_rated": 409,
        "appointment_other_business": 422, "invalid_appointment": 422, "slot_full": 409,
        "appointment_checked_in": 409,
        "followup_taken": 409,
    }
    error = CommandError("no_current_ticket", "window 3 has no current ticket")
    assert isinstance(error, QmsError) and error.code is ErrorCode.NO_CURRENT_TICKET
    assert error.status == 409 and str(error) == "window 3 has no current ticket"
    with pytest.raises(ValueError):
        CommandError("no_such_code", "a code must be one of ErrorCode")


def test_state_survives_a_restart_and_a_retry_after_it_gets_the_first_answer(
    tmp_path: Path,
) -> None:
    db = tmp_path / "qms.db"
    first = LiveDispatcher(small_config(), db).start()
    a = first.call("POST", "/tickets", {"request_id": "k-1", "service_id": "sb-card"}, KIOSK)
    first.call("POST", "/windows/3/call-next", {"request_id": "c-1"}, HALL)
    state_before = first.call("GET", "/state", token=SCREEN)[1]
    first.stop()
    second = LiveDispatcher(small_config(), db, clock=first.clock).start()
    try:
        assert second.call("GET", "/state", token=SCREEN)[1] == state_before
        again = second.call("POST", "/tickets", {"request_id": "k-1", "service_id": "sb-card"},
                            KIOSK)
        assert again == a
        b = second.call("POST", "/tickets", {"request_id": "k-2", "service_id": "sb-card"},
                        KIOSK)
        assert b[1]["ticket"]["number"] == "B002"
    finally:
        second.stop()


def test_a_retry_of_an_earlier_day_is_answered_from_the_database(tmp_path: Path) -> None:
    server = LiveDispatcher(small_config(), tmp_path / "qms.db").start()
    try:
        first = server.call("POST", "/tickets", {"request_id": "old", "service_id": "sb-card"},
                            KIOSK)
        for day in range(3):  # three business days later the core has forgotten it
            server.clock.advance(24 * 3600)
            server.call("POST", "/tickets", {"request_id": f"d{day}", "service_id": "sb-card"},
                        KIOSK)
        assert server.call("POST", "/tickets", {"request_id": "old", "service_id": "sb-card"},
                           KIOSK) == first
    finally:
        server.stop()


def test_the_database_is_wal_with_synchronous_full(tmp_path: Path) -> None:
    store = Store(tmp_path / "x.db")
    try:
        assert store.pragmas() == ("wal", 2)
    finally:
        store.close()


def test_history_is_kept_across_days(live: LiveDispatcher) -> None:
    issue(live, "sb-card", "a")
    live.clock.advance(24 * 3600)
    issue(live, "sb-card", "b")
    old = live.call("GET", "/tickets?date=2026-11-30", token=HALL)[1]["tickets"]
    assert [(t["number"], t["status"], t["cancel_reason"]) for t in old] == [
        ("B001", "cancelled", "expired")
    ]
    today = live.call("GET", "/tickets", token=HALL)[1]
    assert today["date"] == "2026-12-01" and today["tickets"][0]["number"] == "B001"


def test_refuses_non_loopback_with_demo_tokens(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dispatcher", "--config", str(EXAMPLE), "--listen", "0.0.0.0:8470"]) == 2
    assert "demo token" in capsys.readouterr().err
    config = load_config(EXAMPLE)
    assert refuse_reason(config, "127.0.0.1") is None
    assert refuse_reason(config, "::1") is None
    assert refuse_reason(small_config(), "192.0.2.10") is None  # secret tokens: allowed


def test_openapi_document_is_served(live: LiveDispatcher) -> None:
    status, doc = live.call("GET", "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert "/windows/{n}/call-next" in doc["paths"]


# -- WebSocket events ---------------------------------------------------------------------------


async def read_messages(url: str, token: str, count: int, params: dict[str, str] | None = None,
                        ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session, \
            session.ws_connect(f"{url}/api/v1/events", params=params) as ws:
        while len(out) < count:
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            data = json.loads(msg.data)
            if data["type"] != "heartbeat":
                out.append(data)
    return out


def test_events_start_with_a_snapshot_then_one_message_per_change(
    live: LiveDispatcher,
) -> None:
    issue(live, "sb-card", "a")

    async def scenario() -> list[dict[str, Any]]:
        reader = asyncio.create_task(read_messages(live.url, SCREEN, 3))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(issue, live, "yb-dabing", "b")
        await asyncio.to_thread(call_next, live, 3, "c")
        return await reader

    snapshot, issued, called = asyncio.run(scenario())
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 2
    assert snapshot["state"]["waiting"][0]["number"] == "B001"
    assert snapshot["epoch"]
    assert (issued["type"], issued["seq"], issued["ticket"]["number"]) == ("ticket_issued", 3,
                                                                          "A001")
    assert (called["type"], called["seq"], called["window"]) == ("ticket_called", 4, 3)


def test_a_subscriber_resumes_from_its_last_seq(live: LiveDispatcher) -> None:
    issue(live, "sb-card", "a")
    snapshot = asyncio.run(read_messages(live.url, SCREEN, 1))[0]
    issue(live, "sb-card", "b")
    issue(live, "sb-card", "c")
    params = {"since": str(snapshot["seq"]), "epoch": snapshot["epoch"]}
    resumed = asyncio.run(read_messages(live.url, SCREEN, 3, params))
    assert [m["type"] for m in resumed] == ["resume", "ticket_issued", "ticket_issued"]
    assert [m["seq"] for m in resumed[1:]] == [snapshot["seq"] + 1, snapshot["seq"] + 2]
    stale = asyncio.run(read_messages(live.url, SCREEN, 1, {"since": "1", "epoch": "other"}))
    assert stale[0]["type"] == "snapshot"


def test_event_log_in_the_database_matches_seq(live: LiveDispatcher) -> None:
    for i in range(5):
        issue(live, "sb-card", f"k{i}")
    conn = sqlite3.connect(live.db)
    seqs = [s for (s,) in conn.execute("SELECT seq FROM events ORDER BY seq")]
    conn.close()
    assert seqs == list(range(1, 7))


def test_sigterm_stops_the_service_cleanly_and_keeps_every_ticket(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "qms", "dispatcher", "--config", str(EXAMPLE),
         "--db", str(tmp_path / "q.db"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("qms dispatcher serving http://127.0.0.1:")
    port = int(line.split("127.0.0.1:")[1].split("/")[0])
    status, body = http_call(port, "POST", "/tickets",
                             {"request_id": "x", "service_id": "yibao-dabing"},
                             "demo-kiosk-token")
    assert status == 201
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    store = Store(tmp_path / "q.db")
    try:
        assert store.ticket(body["ticket"]["id"]) is not None
    finally:
        store.close()


def test_a_clock_set_back_after_a_restart_never_reissues_a_number(tmp_path: Path) -> None:
    db = tmp_path / "qms.db"
    first = LiveDispatcher(small_config(), db).start()
    first.clock.advance(24 * 3600)  # Tuesday
    a = first.call("POST", "/tickets", {"request_id": "a", "service_id": "sb-card"}, KIOSK)[1]
    first.stop()
    first.clock.advance(-30 * 3600)  # the Pi boots without a battery clock: Monday again
    second = LiveDispatcher(small_config(), db, clock=first.clock).start()
    try:
        b = second.call("POST", "/tickets", {"request_id": "b", "service_id": "sb-card"},
                        KIOSK)[1]
        assert (a["ticket"]["number"], b["ticket"]["number"]) == ("B001", "B002")
        assert b["ticket"]["business_day"] == a["ticket"]["business_day"] == "2026-12-01"
    finally:
        second.stop()
