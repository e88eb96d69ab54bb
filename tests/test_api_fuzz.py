"""Thousands of random and malformed requests: never a 5xx, an error never changes state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import ADMIN, DESK3, HALL, KIOSK, SCREEN, small_config
from .live import LiveDispatcher

# Header values http.client can send: printable Latin-1 (it refuses CR, LF and the rest).
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                    blacklist_characters="\x7f"), max_size=20)
TOKENS = (st.sampled_from([KIOSK, HALL, DESK3, SCREEN, ADMIN]) | st.none()
          | HEADER_TEXT | HEADER_TEXT.map(lambda t: "Bearer " + t))
SEGMENT = st.sampled_from(["1", "3", "9", "0", "-1", "2026-11-30-B001", "x", "%00", "..",
                           "999999999999"]) | st.text(min_size=1, max_size=12).map(
                               lambda s: quote(s, safe=""))
VERBS = st.sampled_from(["call-next", "recall", "no-show", "pause", "resume", "transfer",
                         "sign-in", "nope"])
PATHS = st.one_of(
    st.sampled_from(["/tickets", "/state", "/catalog", "/health", "/green-channel", "/events",
                     "/openapi.json", "/", "/tickets?print_status=pending",
                     "/tickets?date=2026-11-30"]),
    st.builds(lambda s: f"/tickets/{s}", SEGMENT),
    st.builds(lambda s: f"/tickets/{s}/print-report", SEGMENT),
    st.builds(lambda s: f"/tickets/{s}/cancel", SEGMENT),
    st.builds(lambda s, v: f"/windows/{s}/{v}", SEGMENT, VERBS),
    st.builds(lambda s: "/" + quote(s, safe="/?=&"), st.text(max_size=30)),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=8,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "request_id": JSON | st.text(max_size=140),
        "service_id": JSON | st.sampled_from(["sb-card", "yb-dabing", "nope", ""]),
        "sign_language": JSON,
        "appointment_code": JSON,
        "window": JSON | st.integers(-2, 6),
        "staff_id": JSON | st.sampled_from(["s1", "ghost"]),
        "printed": JSON,
        "error": JSON,
        "mode": JSON | st.sampled_from(["on", "off", "auto", "sometimes"]),
        "reason": JSON,
    },
)
BODIES = st.one_of(
    st.none(),
    JSON.map(lambda v: json.dumps(v).encode()),
    FIELDS.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDispatcher]:
    db: Path = tmp_path_factory.mktemp("fuzz") / "qms.db"
    live = LiveDispatcher(small_config(), db).start()
    # Some state for the verbs to act on.
    for i in range(4):
        live.call("POST", "/tickets", {"request_id": f"seed-{i}", "service_id": "sb-card"}, KIOSK)
    live.call("POST", "/windows/3/call-next", {"request_id": "seed-call"}, HALL)
    yield live
    live.stop()


@settings(max_examples=2500, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
       path=PATHS, token=TOKENS, body=BODIES)
def test_random_requests_never_get_5xx_and_errors_change_nothing(
    server: LiveDispatcher, method: str, path: str, token: str | None, body: bytes | None
) -> None:
    before = server.call("GET", "/health")[1]["seq"]
    headers = {} if token is None else {
        "Authorization": token if token.startswith("Bearer ") else f"Bearer {token}"}
    status, answer = server.call(method, path, raw=body, headers=headers)
    assert status < 500, (status, answer)
    after = server.call("GET", "/health")[1]["seq"]
    if status >= 400:
        assert after == before, (method, path, status, answer)
        if isinstance(answer, dict):
            assert set(answer["error"]) == {"code", "message"}
        else:  # not HTTP at all (a control byte in a header): aiohttp's own plain 400
            assert status == 400 and answer.startswith("400"), answer


def test_the_server_is_still_consistent_after_the_fuzzing(server: LiveDispatcher) -> None:
    state: dict[str, Any] = server.call("GET", "/state", token=SCREEN)[1]
    assert server.call("GET", "/health")[1]["status"] == "ok"
    assert state["seq"] == server.call("GET", "/health")[1]["seq"]
