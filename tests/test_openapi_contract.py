"""The API contract from outside: schemathesis fuzzes a live dispatcher from its own
/openapi.json with every check, and the document's schemas are the msgspec types' own.

The fuzzer runs as the `schemathesis run` CLI in a subprocess (all its phases: examples,
coverage, fuzzing, stateful), deterministic and bounded, against a dispatcher on a loopback
port; `before_call` below is loaded into it as its hooks module.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import msgspec
import pytest
import schemathesis

from dispatcher.server import schema as s
from dispatcher.server.openapi import OPERATIONS, REF

from .helpers import ADMIN, HALL, KIOSK, SCREEN, small_config
from .live import LiveDispatcher

ROOT = Path(__file__).resolve().parent.parent
MAX_EXAMPLES = 25  # per operation and phase: about 1,000 requests, 20-30 s on two cores
# A schema-valid body can still name a business, staff member or appointment that does not
# exist: the API answers 422 (unknown_service, unknown_staff, unknown_appointment), as it
# answers 404 for a window or ticket that does not exist. schemathesis accepts 404 (and 409)
# for valid data by default; 422 is this API's 404 for references inside the body.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
"""

_fresh = itertools.count(1)


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case[Any],
                kwargs: dict[str, Any]) -> None:
    """Give every valid request_id a fresh suffix (still valid), so that a value the fuzzer
    repeats reaches the core instead of an answer to request_id_reused; an invalid one is left
    as it is, for the server to refuse."""
    body = case.body
    if not isinstance(body, dict):
        return
    rid = body.get("request_id")
    try:
        msgspec.convert({"request_id": rid}, s.Mutation)
    except msgspec.ValidationError:
        return
    assert isinstance(rid, str)
    body["request_id"] = f"{rid[:100]}~{next(_fresh)}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveDispatcher]:
    live = LiveDispatcher(small_config(), tmp_path / "qms.db").start()
    for i, service in enumerate(("sb-card", "yb-dabing", "yb-baoxiao", "sb-card")):
        status, _ = live.call("POST", "/tickets",
                              {"request_id": f"seed-{i}", "service_id": service}, KIOSK)
        assert status == 201
    assert live.call("POST", "/windows/3/call-next", {"request_id": "seed-call"}, HALL)[0] == 200
    yield live
    live.stop()


def test_schemathesis_finds_no_failure_with_every_check(server: LiveDispatcher,
                                                        tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
        "run", f"{server.url}/api/v1/openapi.json",
        "--header", f"Authorization: Bearer {ADMIN}",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--workers", "1",
        # Not HTTP: GET /events upgrades to a WebSocket (test_events_without_upgrade below).
        "--exclude-path", "/events",
        "--report", "json", "--report-json-path", str(report),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": __name__, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=240)
    took = time.monotonic() - started
    assert report.exists(), run.stdout + run.stderr
    result = json.loads(report.read_text())
    operations, cases = result["operations"], result["test_cases"]
    print(f"schemathesis: {operations['tested']} operations, {cases['generated']} test cases, "
          f"{cases['with_failures']} with failures, {len(result['errors'])} errors, "
          f"{took:.1f} s")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert result["failures"] == [] and result["errors"] == []
    assert cases["with_failures"] == 0 and cases["errored"] == 0
    # Every operation but /events (excluded) and /openapi.json (the document it fuzzes from).
    assert operations["tested"] == operations["selected"] == len(OPERATIONS) - 1
    assert cases["generated"] >= 500
    phases = result["phases"]
    assert {name: phases[name]["status"] for name in ("coverage", "fuzzing", "stateful")} == {
        "coverage": "success", "fuzzing": "success", "stateful": "success"}
    assert result["warnings"]["unsupported_regex"] == []  # it understood every pattern
    # The fuzzing left a consistent dispatcher behind.
    health = server.call("GET", "/health")[1]
    assert health["status"] == "ok"
    assert server.call("GET", "/state", token=SCREEN)[1]["seq"] == health["seq"]


def test_events_without_upgrade_is_answered_as_documented(server: LiveDispatcher) -> None:
    doc = server.call("GET", "/openapi.json")[1]
    responses = doc["paths"]["/events"]["get"]["responses"]
    assert set(responses) == {"101", "400", "401", "426", "503"}
    assert "Upgrade" in responses["426"]["headers"]
    for method in ("GET", "HEAD"):
        status, body, headers = _raw(server, method, "/events", ADMIN)
        assert status == 426
        assert headers["Upgrade"] == "websocket"
        assert "upgrade" in headers["Connection"].lower()
        if method == "GET":
            error = msgspec.json.decode(body, type=s.Error).error
            assert error.code == "upgrade_required" and error.message
    status, body, _ = _raw(server, "GET", "/events?since=-1", ADMIN)
    assert status == 400 and "$.since" in msgspec.json.decode(body, type=s.Error).error.message
    assert _raw(server, "GET", "/events", None)[0] == 401


def _raw(server: LiveDispatcher, method: str, path: str, token: str | None
         ) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        conn.request(method, "/api/v1" + path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


BODY_TYPES: dict[tuple[str, str], Any] = {
    ("post", "/tickets"): s.IssueTicketRequest,
    ("post", "/tickets/{ticket_id}/print-report"): s.PrintReportRequest,
    ("post", "/tickets/{ticket_id}/cancel"): s.CancelTicketRequest,
    ("post", "/tickets/{ticket_id}/rating"): s.RatingRequest,
    ("post", "/windows/{n}/rating"): s.RatingRequest,
    ("put", "/bus/health"): s.BusHealthReport,
    ("post", "/appointments"): s.AppointmentRequest,
    ("post", "/appointments/{code}/cancel"): s.Mutation,
    ("post", "/appointments/{code}/followup"): s.FollowupRequest,
    **{("post", f"/windows/{{n}}/{verb}"): s.WindowRequest
       for verb in ("call-next", "recall", "no-show", "pause", "resume")},
    ("post", "/windows/{n}/transfer"): s.TransferBody,
    ("post", "/windows/{n}/sign-in"): s.SignInRequest,
    ("post", "/green-channel"): s.GreenChannelRequest,
    ("post", "/issuing"): s.IssuingRequest,
    ("post", "/tickets/{ticket_id}/reprint"): s.ReprintRequest,
}


def test_request_bodies_in_the_document_are_the_msgspec_types(server: LiveDispatcher) -> None:
    doc = server.call("GET", "/openapi.json")[1]
    with_body = {(method, path) for path, item in doc["paths"].items()
                 for method, op in item.items() if "requestBody" in op}
    assert with_body == set(BODY_TYPES)
    types = list(BODY_TYPES.values())
    refs, components = msgspec.json.schema_components(types, ref_template=REF)
    for (method, path), ref in zip(BODY_TYPES, refs, strict=True):
        body = doc["paths"][path][method]["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"] == ref, (method, path)
    for name, component in components.items():
        assert doc["components"]["schemas"][name] == component, name
    # The rules the server applies are in it: the transfer's one-of, request_id's pattern.
    transfer = doc["paths"]["/windows/{n}/transfer"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert [branch["required"] for branch in transfer["anyOf"]] == [["service_id"], ["window"]]
    request_id = doc["components"]["schemas"]["IssueTicketRequest"]["properties"]["request_id"]
    assert request_id["maxLength"] == 128 and request_id["pattern"] == s.NO_CONTROL_CHARACTERS
    service_id = doc["components"]["schemas"]["IssueTicketRequest"]["properties"]["service_id"]
    text = next(t for t in service_id.get("anyOf", [service_id]) if t.get("type") == "string")
    assert text["minLength"] == 1  # optional (a check-in leaves it out), never empty


BOUNDARY_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("/tickets", {"request_id": "b1", "service_id": "sb-card"}),
    ("/tickets", {"request_id": "b2", "service_id": "sb-card", "sign_language": None,
                  "appointment_code": None, "unknown": [1]}),
    ("/tickets", {"request_id": "b3", "service_id": "sb-card", "appointment_code": ""}),
    ("/tickets", {"request_id": "b4", "service_id": ""}),
    ("/tickets", {"request_id": "b5", "service_id": " "}),
    ("/tickets", {"request_id": "b6", "service_id": "x" * 65}),
    ("/tickets", {"request_id": "b7", "service_id": None}),
    ("/tickets", {"request_id": "b8", "service_id": "sb-card", "sign_language": "yes"}),
    ("/tickets", {"request_id": "b9", "service_id": "sb-card", "appointment_code": "7" * 33}),
    ("/tickets", {"request_id": "", "service_id": "sb-card"}),
    ("/tickets", {"request_id": "x" * 128, "service_id": "sb-card"}),
    ("/tickets", {"request_id": "x" * 129, "service_id": "sb-card"}),
    ("/tickets", {"request_id": " ", "service_id": "sb-card"}),
    ("/tickets", {"request_id": "取号\u200b", "service_id": "sb-card"}),
    ("/tickets", {"request_id": "b10\n", "service_id": "sb-card"}),
    ("/tickets", {"request_id": "b11\x9f", "service_id": "sb-card"}),
    ("/tickets", {"request_id": 11, "service_id": "sb-card"}),
    ("/tickets", {"service_id": "sb-card"}),
    ("/windows/3/transfer", {"request_id": "t1"}),
    ("/windows/3/transfer", {"request_id": "t2", "service_id": None, "window": None}),
    ("/windows/3/transfer", {"request_id": "t3", "window": 0}),
    ("/windows/3/transfer", {"request_id": "t4", "window": 1000}),
    ("/windows/3/transfer", {"request_id": "t6", "window": True}),
    ("/windows/3/transfer", {"request_id": "t7", "window": 9}),
    ("/windows/3/transfer", {"request_id": "t8", "service_id": "", "window": 4}),
    ("/windows/3/sign-in", {"request_id": "s1", "staff_id": None}),
    ("/windows/3/sign-in", {"request_id": "s2", "staff_id": ""}),
    ("/windows/3/sign-in", {"request_id": "s3", "staff_id": "nobody"}),
    ("/windows/3/pause", {"request_id": "p1", "extra": "ignored"}),
    ("/green-channel", {"request_id": "g1", "mode": "on"}),
    ("/green-channel", {"request_id": "g2", "mode": "ON"}),
    ("/green-channel", {"request_id": "g3"}),
    ("/tickets/2026-11-30-B001/print-report", {"request_id": "r1", "printed": None}),
    ("/tickets/2026-11-30-B001/print-report", {"request_id": "r2", "printed": False,
                                               "error": "x" * 201}),
    ("/tickets/2026-11-30-B002/cancel", {"request_id": "c1", "reason": "x" * 101}),
    ("/tickets/2026-11-30-B002/cancel", {"request_id": "c2", "reason": None}),
]


def test_the_server_refuses_exactly_what_the_schema_refuses(server: LiveDispatcher) -> None:
    """Boundary bodies through an independent validator (jsonschema-rs, the schema's own
    regex dialect) and through the server: 400 exactly where the schema says invalid."""
    doc = server.call("GET", "/openapi.json")[1]
    for path, body in BOUNDARY_BODIES:
        template = next(t for t in doc["paths"] if _matches(t, path))
        schema = doc["paths"][template]["post"]["requestBody"]["content"]["application/json"][
            "schema"]
        valid = jsonschema_rs.validator_for({**schema, "components": doc["components"]}
                                            ).is_valid(body)
        status, answer = server.call("POST", path, body, ADMIN)
        assert (status != 400) == valid, (path, body, status, answer)
        assert status < 500
    # The one difference: JSON Schema counts 2.0 as an integer, the server wants it written 2
    # (as the WindowNumber description says).
    status, answer = server.call("POST", "/windows/3/transfer", {"request_id": "t", "window": 2.0},
                                 ADMIN)
    assert status == 400 and "`$.window`" in answer["error"]["message"]


def _matches(template: str, path: str) -> bool:
    parts, given = template.split("/"), path.split("/")
    return len(parts) == len(given) and all(
        a == b or a.startswith("{") for a, b in zip(parts, given, strict=True))


def test_query_parameters_in_the_document_are_the_query_types(server: LiveDispatcher) -> None:
    doc = server.call("GET", "/openapi.json")[1]
    _, components = msgspec.json.schema_components([s.TicketQuery], ref_template=REF)
    own = components.pop("TicketQuery")
    params = {p["name"]: p for p in doc["paths"]["/tickets"]["get"]["parameters"]}
    assert {name: p["schema"] for name, p in params.items()} == own["properties"]
    assert all(p["in"] == "query" and not p["required"] for p in params.values())
    for name, component in components.items():
        assert doc["components"]["schemas"][name] == component
    assert own["properties"]["date"] == {"type": "string", "format": "date"}
    assert set(doc["components"]["schemas"]["TicketStatus"]["enum"]) == {
        "waiting", "called", "done", "no_show", "cancelled"}
    assert set(doc["components"]["schemas"]["PrintStatus"]["enum"]) == {
        "pending", "printed", "failed"}


def test_answers_of_the_live_server_decode_into_the_answer_types(
    server: LiveDispatcher,
) -> None:
    """The answer types (the document's response schemas) fit what the server sends."""
    issued = server.call("POST", "/tickets", {"request_id": "a", "service_id": "sb-card"},
                         KIOSK)
    assert issued[0] == 201
    answer = msgspec.convert(issued[1], s.IssuedTicket)
    assert answer.ticket.number == "B003" and answer.windows
    for path, kind in (("/state", s.State), ("/catalog", s.Catalog), ("/tickets", s.TicketList),
                       (f"/tickets/{answer.ticket.id}", s.TicketAnswer)):
        status, body = server.call("GET", path, token=SCREEN)
        assert status == 200
        msgspec.convert(body, kind)
    msgspec.convert(server.call("GET", "/health")[1], s.Health)
    called = server.call("POST", "/windows/1/call-next", {"request_id": "c"}, HALL)[1]
    assert msgspec.convert(called, s.CalledTicket).ticket is not None
    status, body = server.call("POST", "/windows/9/call-next", {"request_id": "x"}, HALL)
    assert status == 404 and msgspec.convert(body, s.Error).error.code == "unknown_window"
