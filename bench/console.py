"""How fast the web console is; prints one JSON object, then a summary.

    .venv/bin/python -m bench.console [--quick]      (from the repository root)

A dispatcher process (`serve()` with the example center and its demo logins on, a fresh
database in a temporary folder; [policy] double_press_s = 0 so a window can call back to back,
everything else as shipped), a hall-screen subscriber holding /api/v1/events open and reading
every message, and Debian's Chromium driven by Playwright:

1. press → page: Chromium logged in as the demo manager on /console/counter/1. For each press
   the page itself times (performance.now) from the 叫号 button's click() until a
   MutationObserver sees #current-number show another number; also until the next animation
   frame, and until the press's own POST is answered; and the dispatcher's CPU per press.
   Target: p99 ≤ 200 ms.
2. overview first paint with 300 tickets waiting: /console/ in a fresh page (same browser
   context, logged in), 20 times: first-contentful-paint and the HTML's response time
   (navigation timing responseEnd − requestStart). Target: ≤ 500 ms. Each load is followed
   by one of the login page (the same CSS and script, next to no HTML): the browser's own
   floor on this machine.
3. what open consoles cost the API: call-next latency (caller token, one keep-alive HTTP
   connection, windows 1–8 in turn, each call sent when the last is answered, or one every
   --pace-ms) over K calls, with no console open and with 30 manager sessions each holding
   the overview's live WebSocket; the two alternate (ABBA…) 3 times, and the median of the
   p99 ratios is the figure. Target: ≤ 1.20. Also the p50 ratio and the dispatcher's CPU
   per call (read from /proc).

Tickets are issued through the kiosk API with their print reported done, as a kiosk does
(an unreported ticket counts as unprinted after a minute and is listed on the overview).
The dispatcher, the subscribers (one process: hall screen and console sessions), this script
and Chromium are separate processes sharing this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import multiprocessing
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
KIOSK, CALLER, DISPLAY = "demo-kiosk-token", "demo-hall-token", "demo-display-token"
MANAGER = ("admin", "demo-admin")
WINDOWS = list(range(1, 9))
# Businesses every window of the example serves (s08 does 医保, 社保 and 一网通办 only), so a
# call at any window finds a ticket.
SERVICES = ["yibao-dabing", "shebao-ka-shenling", "yibao-jiuyi-jilu-ce",
            "shebao-zige-renzheng", "yiwang-bangban", "yibao-yidi-beian"]
SERVE = """
import asyncio, sys
from pathlib import Path
from dispatcher.server.main import serve
from qms.config import load_config
asyncio.run(serve(load_config(Path(sys.argv[1])), Path(sys.argv[2]), "127.0.0.1", 0,
                  demo_accounts=True))
"""

# One press, timed in the page: click() → #current-number shows another number (→ the next
# animation frame; → the press's POST answered, when the form is no longer busy).
PRESS_JS = """
(timeoutMs) => new Promise((resolve, reject) => {
  const live = document.getElementById("live");
  const form = document.querySelector('form[action$="/call-next"]');
  const button = form.querySelector("button[type=submit]");
  const textOf = () => { const el = document.getElementById("current-number");
                         return el ? el.textContent.trim() : null; };
  if (form.dataset.busy || button.disabled) { reject(new Error("button busy")); return; }
  const before = textOf();
  const seqBefore = live.dataset.seq;
  let t0 = 0, shown = null, frame = null, via = null;
  const timer = setTimeout(() => { observer.disconnect();
    reject(new Error(`no new number within ${timeoutMs} ms (still ${textOf()})`)); }, timeoutMs);
  const finish = () => {
    if (form.dataset.busy || (frame === null && performance.now() - shown < 250)) {
      setTimeout(finish, 1); return; }
    clearTimeout(timer);
    resolve({shown: shown - t0, frame: frame === null ? null : frame - t0,
             answered: performance.now() - t0, via, before, after: textOf()});
  };
  const observer = new MutationObserver(() => {
    const now = performance.now();
    const text = textOf();
    if (shown !== null || text === null || text === before) return;
    shown = now;
    via = live.dataset.seq !== seqBefore ? "websocket" : "response";
    observer.disconnect();
    requestAnimationFrame(() => { frame = performance.now(); });
    finish();
  });
  observer.observe(live, {childList: true, subtree: true, characterData: true});
  t0 = performance.now();
  button.click();
})
"""

# The paint and navigation timing of the page just loaded (FCP from the navigation's start).
PAINT_JS = """
() => new Promise((resolve) => {
  const nav = performance.getEntriesByType("navigation")[0];
  const done = (fcp) => resolve({
    fcp, response: nav.responseEnd - nav.requestStart,
    first_byte: nav.responseStart - nav.requestStart,
    dom_content_loaded: nav.domContentLoadedEventEnd, html_bytes: nav.decodedBodySize});
  const entry = () => performance.getEntriesByName("first-contentful-paint")[0];
  if (entry()) { done(entry().startTime); return; }
  new PerformanceObserver(() => { if (entry()) done(entry().startTime); })
    .observe({type: "paint", buffered: true});
  setTimeout(() => done(entry() ? entry().startTime : null), 5000);
})
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def summary(values: list[float], digits: int = 1) -> dict[str, float]:
    return {"p50": round(statistics.median(values), digits),
            "p90": round(percentile(values, 0.90), digits),
            "p99": round(percentile(values, 0.99), digits),
            "max": round(max(values), digits)}


def bench_config(tmp: Path) -> Path:
    """The example center with [policy] double_press_s = 0 (a window may call back to back)."""
    text = (ROOT / "examples" / "center.toml").read_text(encoding="utf-8")
    text, replaced = re.subn(r"(?m)^double_press_s = [0-9.]+", "double_press_s = 0", text)
    if replaced != 1:
        raise SystemExit("examples/center.toml: no [policy] double_press_s line to override")
    path = tmp / "center.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the dispatcher ------------------------------------------------------------------------------


class Dispatcher:
    """`serve()` in a process of its own (demo logins on), on an ephemeral loopback port;
    with `cpu` set, pinned to that core."""

    def __init__(self, tmp: Path, cpu: int | None = None) -> None:
        self.log_path = tmp / "dispatcher.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(bench_config(tmp)), str(tmp / "qms.db")],
            stdout=subprocess.PIPE, stderr=self._log, text=True, cwd=ROOT)
        if cpu is not None:
            os.sched_setaffinity(self.proc.pid, {cpu})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "serving " not in line:
            self.stop()
            raise SystemExit(f"the dispatcher did not start: {self.log_path.read_text()[-2000:]}")
        self.base = line.split("serving ")[1].split("/api/v1")[0]
        self.port = int(urlsplit(self.base).port or 0)

    def cpu_s(self) -> float:
        """The dispatcher's CPU time so far (user + system)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: serve() stops in order
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()

    def log_problems(self) -> list[str]:
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line for line in lines
                if re.search(r"Traceback|Error|ERROR|WARNING|exception", line)][:20]


class Api:
    """The LAN API over one keep-alive connection (a request is retried once on a connection
    the server closed while idle: the same request id gets the first answer)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.ids = itertools.count(1)
        self.boot = os.urandom(4).hex()

    def rid(self, tag: str) -> str:
        return f"bench-{self.boot}-{tag}-{next(self.ids)}"

    def call(self, method: str, path: str, token: str, body: dict[str, Any] | None = None
             ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, "/api/v1" + path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                self.conn.close()
                if attempt == 2:
                    raise
        return response.status, json.loads(data) if data else None

    def waiting(self) -> int:
        status, state = self.call("GET", "/state", DISPLAY)
        assert status == 200, state
        return len(state["waiting"])

    def issue(self, count: int) -> None:
        """`count` tickets, each with its print reported done."""
        for i in range(count):
            status, reply = self.call("POST", "/tickets", KIOSK, {
                "request_id": self.rid("t"), "service_id": SERVICES[i % len(SERVICES)]})
            if status != 201:
                raise SystemExit(f"issuing a ticket: {status} {reply}")
            tid = reply["ticket"]["id"]
            status, reply = self.call("POST", f"/tickets/{tid}/print-report", KIOSK,
                                      {"request_id": self.rid("p"), "printed": True})
            if status != 200:
                raise SystemExit(f"reporting a print: {status} {reply}")

    def top_up(self, target: int) -> int:
        """Issue tickets until `target` wait (none are taken back if more wait already)."""
        missing = max(0, target - self.waiting())
        self.issue(missing)
        return missing

    def call_next(self, n: int) -> tuple[float, dict[str, Any]]:
        body = {"request_id": self.rid("c")}
        start = time.perf_counter()
        status, reply = self.call("POST", f"/windows/{n}/call-next", CALLER, body)
        elapsed = time.perf_counter() - start
        if status != 200 or not reply.get("ticket") or reply.get("ignored"):
            raise SystemExit(f"call-next at window {n}: {status} {reply}")
        return elapsed, reply


# -- subscribers: the hall screen and console sessions, in a process of their own ---------------


def subscribers_main(base: str, conn: Connection) -> None:
    """The hall screen's event stream (all along) and console sessions' live WebSockets (on
    command); every message is read. Commands over `conn`: ("login", [(user, password,
    query)…]), ("open", None), ("close", None), ("counts", None), ("quit", None)."""
    asyncio.run(_subscribers(base, conn))


async def _subscribers(base: str, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    counts = {"hall_messages": 0, "hall_reconnects": 0, "live_messages": 0, "live_closed": 0,
              "live_bytes": 0}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector,
                                     cookie_jar=aiohttp.DummyCookieJar()) as http_session:
        hall_ready: asyncio.Future[None] = loop.create_future()
        hall = asyncio.create_task(_hall(http_session, base, counts, hall_ready))
        await asyncio.wait_for(hall_ready, 30)
        conn.send("ready")
        sessions: list[tuple[str, str]] = []  # (cookie token, live query)
        readers: list[asyncio.Task[None]] = []
        while True:
            command, arg = await loop.run_in_executor(None, conn.recv)
            if command == "login":
                for username, password, query in arg:
                    token = await _login(http_session, base, username, password)
                    sessions.append((token, query))
                conn.send(len(sessions))
            elif command == "open":
                counts.update(live_messages=0, live_closed=0, live_bytes=0)
                ready = [loop.create_future() for _ in sessions]
                readers = [asyncio.create_task(_live(http_session, base, token, query, f, counts))
                           for (token, query), f in zip(sessions, ready, strict=True)]
                await asyncio.wait_for(asyncio.gather(*ready), 60)
                conn.send(len(readers))
            elif command == "close":
                for task in readers:
                    task.cancel()
                await asyncio.gather(*readers, return_exceptions=True)
                readers = []
                conn.send(dict(counts))
            elif command == "counts":
                conn.send(dict(counts))
            else:
                break
        hall.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hall


async def _hall(http_session: aiohttp.ClientSession, base: str, counts: dict[str, int],
                ready: asyncio.Future[None]) -> None:
    headers = {"Authorization": f"Bearer {DISPLAY}"}
    while True:
        async with http_session.ws_connect(f"{base}/api/v1/events", headers=headers) as ws:
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                json.loads(msg.data)
                counts["hall_messages"] += 1
                if not ready.done():
                    ready.set_result(None)
        counts["hall_reconnects"] += 1
        await asyncio.sleep(0.1)


async def _login(http_session: aiohttp.ClientSession, base: str, username: str,
                 password: str) -> str:
    async with http_session.post(f"{base}/console/login", allow_redirects=False,
                                 data={"username": username, "password": password,
                                       "next": "/console/"}) as response:
        cookie = response.cookies.get("qms_console")
        if response.status != 303 or cookie is None:
            raise RuntimeError(f"login {username}: {response.status} {await response.text()}")
        return cookie.value


async def _live(http_session: aiohttp.ClientSession, base: str, token: str, query: str,
                ready: asyncio.Future[None], counts: dict[str, int]) -> None:
    headers = {"Cookie": f"qms_console={token}", "Origin": base}
    try:
        async with http_session.ws_connect(f"{base}/console/live?{query}", headers=headers,
                                           max_msg_size=0) as ws:
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                json.loads(msg.data)
                counts["live_messages"] += 1
                counts["live_bytes"] += len(msg.data)
                if not ready.done():
                    ready.set_result(None)
        counts["live_closed"] += 1
    except Exception as exc:
        if not ready.done():
            ready.set_exception(exc)
        raise


class Subscribers:
    def __init__(self, base: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=subscribers_main, args=(base, child), daemon=True)
        self.proc.start()
        child.close()
        if not self.conn.poll(60) or self.conn.recv() != "ready":
            raise SystemExit("the hall-screen subscriber did not connect")

    def ask(self, command: str, arg: Any = None, timeout_s: float = 300) -> Any:
        self.conn.send((command, arg))
        if not self.conn.poll(timeout_s):
            raise SystemExit(f"subscribers: no answer to {command}")
        return self.conn.recv()

    def stop(self) -> None:
        if self.proc.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(("quit", None))
            self.proc.join(10)
            if self.proc.is_alive():
                self.proc.terminate()
                self.proc.join(5)


# -- the browser ---------------------------------------------------------------------------------


def login(page: Page, base: str, target: str) -> None:
    page.goto(f"{base}/console/login?next={target}")
    page.fill("input[name=username]", MANAGER[0])
    page.fill("input[name=password]", MANAGER[1])
    with page.expect_navigation():
        page.click("button[type=submit]")
    if not page.url.endswith(target):
        raise SystemExit(f"login did not land on {target}: {page.url}")


def wait_live(page: Page) -> None:
    """Until the page's live WebSocket has delivered its first update."""
    # Polled from here: wait_for_function's polling evaluates a string, which the console's
    # Content-Security-Policy (no 'unsafe-eval') refuses.
    deadline = time.monotonic() + 15
    while not page.evaluate("() => document.getElementById('live').dataset.seq !== undefined"):
        if time.monotonic() > deadline:
            raise SystemExit(f"{page.url}: no live update within 15 s")
        time.sleep(0.01)


def measure_presses(browser: Browser, dispatcher: Dispatcher, api: Api, presses: int,
                    gap_s: float) -> dict[str, Any]:
    base = dispatcher.base
    warmup = 5
    api.top_up(presses + warmup + 20)
    context = browser.new_context()
    page = context.new_page()
    login(page, base, "/console/counter/1")
    wait_live(page)
    time.sleep(1.0)  # let the issuing's live updates settle
    results: list[dict[str, Any]] = []
    cpu = 0.0
    for i in range(warmup + presses):
        if i == warmup:
            cpu = dispatcher.cpu_s()
        result = page.evaluate(PRESS_JS, 10_000)
        if i >= warmup:
            results.append(result)
        time.sleep(gap_s)
    time.sleep(0.5)
    cpu = dispatcher.cpu_s() - cpu
    context.close()
    shown = [float(r["shown"]) for r in results]
    frames = [float(r["frame"]) for r in results if r["frame"] is not None]
    answered = [float(r["answered"]) for r in results]
    return {
        "presses": len(results),
        "window": 1,
        "gap_between_presses_ms": round(gap_s * 1000),
        "click_to_number_shown_ms": summary(shown),
        "click_to_next_frame_ms": summary(frames) if frames else None,
        "click_to_post_answered_ms": summary(answered),
        "number_arrived_first_by": {
            via: sum(1 for r in results if r["via"] == via) for via in ("response", "websocket")},
        "dispatcher_cpu_ms_per_press": round(cpu / len(results) * 1000, 2),
    }


def measure_overview(browser: Browser, base: str, api: Api, waiting: int, loads: int
                     ) -> dict[str, Any]:
    """Fresh pages of /console/, each followed by one of the login page (the same CSS and
    script, next to no HTML): the browser's own floor on this machine."""
    have = api.waiting()
    if have > waiting:
        raise SystemExit(f"{have} tickets wait already, more than {waiting}")
    api.issue(waiting - have)
    assert api.waiting() == waiting
    context: BrowserContext = browser.new_context()
    page = context.new_page()
    login(page, base, "/console/")
    page.close()
    time.sleep(1.0)
    results: list[dict[str, Any]] = []
    floor: list[dict[str, Any]] = []
    for _ in range(loads):
        page = context.new_page()
        page.goto(f"{base}/console/", wait_until="load")
        results.append(page.evaluate(PAINT_JS))
        wait_live(page)
        page.close()
        page = context.new_page()
        page.goto(f"{base}/console/login", wait_until="load")
        floor.append(page.evaluate(PAINT_JS))
        page.close()
    context.close()
    fcp = [float(r["fcp"]) for r in results if r["fcp"] is not None]
    floor_fcp = [float(r["fcp"]) for r in floor if r["fcp"] is not None]
    response = [float(r["response"]) for r in results]
    return {
        "waiting": waiting,
        "loads": len(results),
        "first_contentful_paint_ms": {
            "median": round(statistics.median(fcp), 1), "max": round(max(fcp), 1),
            "first_load": round(fcp[0], 1)} if fcp else None,
        "loads_without_fcp_entry": len(results) - len(fcp),
        "html_response_ms": {"median": round(statistics.median(response), 1),
                             "max": round(max(response), 1)},
        "html_first_byte_ms_median": round(statistics.median(
            float(r["first_byte"]) for r in results), 1),
        "dom_content_loaded_ms_median": round(statistics.median(
            float(r["dom_content_loaded"]) for r in results), 1),
        "html_bytes": int(results[-1]["html_bytes"]),
        "login_page_fcp_ms": {"median": round(statistics.median(floor_fcp), 1),
                              "max": round(max(floor_fcp), 1)} if floor_fcp else None,
        "login_page_html_response_ms_median": round(statistics.median(
            float(r["response"]) for r in floor), 1),
    }


# -- call-next with and without console sessions -------------------------------------------------


def measure_sessions(dispatcher: Dispatcher, api: Api, subs: Subscribers, calls: int,
                     sessions: int, counter_sessions: int, repeats: int, keep_waiting: int,
                     pace_s: float) -> dict[str, Any]:
    logins = [(*MANAGER, "view=overview")] * sessions
    logins += [(f"s{n:02d}", "demo", f"view=counter&n={n}")
               for n in WINDOWS[:counter_sessions]]
    started = time.perf_counter()
    subs.ask("login", logins)
    login_s = time.perf_counter() - started
    runs: list[dict[str, Any]] = []
    for rep in range(repeats):
        order = ("none", "sessions") if rep % 2 == 0 else ("sessions", "none")
        for condition in order:
            api.top_up(keep_waiting + calls)
            if condition == "sessions":
                subs.ask("open")
            time.sleep(1.0)  # connections made, first updates sent
            cpu0 = dispatcher.cpu_s()
            latencies: list[float] = []
            wall0 = time.perf_counter()
            for i in range(calls):
                elapsed, _ = api.call_next(WINDOWS[i % len(WINDOWS)])
                latencies.append(elapsed * 1000)
                if pace_s:
                    time.sleep(max(0.0, pace_s - elapsed))
            wall = time.perf_counter() - wall0
            cpu = dispatcher.cpu_s() - cpu0
            run: dict[str, Any] = {
                "repeat": rep + 1, "condition": condition,
                "p50_ms": round(statistics.median(latencies), 2),
                "p99_ms": round(percentile(latencies, 0.99), 2),
                "max_ms": round(max(latencies), 2),
                "calls_per_s": round(calls / wall, 1),
                "dispatcher_cpu_ms_per_call": round(cpu / calls * 1000, 2),
            }
            if condition == "sessions":
                time.sleep(0.5)  # the last updates arrive
                after = subs.ask("close")
                run["live_messages"] = after["live_messages"]
                run["live_kib_per_session"] = round(
                    after["live_bytes"] / 1024 / max(1, len(logins)))
                run["live_closed_by_server"] = after["live_closed"]
            runs.append(run)
    ratios: dict[str, list[float]] = {"p99_ms": [], "p50_ms": [],
                                      "dispatcher_cpu_ms_per_call": []}
    for rep in range(1, repeats + 1):
        by = {r["condition"]: r for r in runs if r["repeat"] == rep}
        for key, values in ratios.items():
            values.append(by["sessions"][key] / by["none"][key])

    def pooled(condition: str, key: str) -> float:
        values = [float(r[key]) for r in runs if r["condition"] == condition]
        return round(statistics.median(values), 2)

    return {
        "calls_per_run": calls,
        "pace": f"one call every {pace_s * 1000:g} ms" if pace_s else "back to back",
        "overview_sessions": sessions,
        "counter_sessions": counter_sessions,
        "logins_s": round(login_s, 2),
        "runs": runs,
        "median_p50_ms": {c: pooled(c, "p50_ms") for c in ("none", "sessions")},
        "median_p99_ms": {c: pooled(c, "p99_ms") for c in ("none", "sessions")},
        "p99_ratios": [round(r, 3) for r in ratios["p99_ms"]],
        "p99_ratio_median": round(statistics.median(ratios["p99_ms"]), 3),
        "p50_ratio_median": round(statistics.median(ratios["p50_ms"]), 3),
        "dispatcher_cpu_per_call_ratio_median": round(
            statistics.median(ratios["dispatcher_cpu_ms_per_call"]), 2),
    }


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer of everything)")
    parser.add_argument("--presses", type=int, help="counter presses (200; quick 40)")
    parser.add_argument("--loads", type=int, help="overview loads (20; quick 5)")
    parser.add_argument("--calls", type=int, help="call-next per run (500; quick 150)")
    parser.add_argument("--repeats", type=int, help="runs per condition (3; quick 1)")
    parser.add_argument("--sessions", type=int, default=30, help="overview sessions (30)")
    parser.add_argument("--counter-sessions", type=int, default=0,
                        help="staff sessions on counter pages besides (0–8)")
    parser.add_argument("--gap-ms", type=float, default=100.0, help="pause between presses")
    parser.add_argument("--pace-ms", type=float, default=0.0,
                        help="call-next: one call every this many ms (0: back to back)")
    parser.add_argument("--pin", action="store_true",
                        help="the dispatcher on core 0, everything else (browser, clients, "
                             "the 30 sessions' readers) on core 1: as in a center, where the "
                             "consoles' browsers run on other computers")
    args = parser.parse_args()
    pinned = args.pin and len(os.sched_getaffinity(0)) >= 2
    if pinned:
        os.sched_setaffinity(0, {1})  # inherited by the browser and the subscriber process
    presses = args.presses or (40 if args.quick else 200)
    loads = args.loads or (5 if args.quick else 20)
    calls = args.calls or (150 if args.quick else 500)
    repeats = args.repeats or (1 if args.quick else 3)
    waiting = 300
    wall0 = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]

    with tempfile.TemporaryDirectory(prefix="qms-bench-console-") as tmp_name:
        tmp = Path(tmp_name)
        dispatcher = Dispatcher(tmp, cpu=0 if pinned else None)
        subs: Subscribers | None = None
        try:
            subs = Subscribers(dispatcher.base)
            api = Api(dispatcher.port)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
                chromium_version = browser.version
                press = measure_presses(browser, dispatcher, api, presses, args.gap_ms / 1000)
                paint = measure_overview(browser, dispatcher.base, api, waiting, loads)
                browser.close()
            load = measure_sessions(dispatcher, api, subs, calls, args.sessions,
                                    args.counter_sessions, repeats, waiting,
                                    args.pace_ms / 1000)
            hall = subs.ask("counts")
        finally:
            if subs is not None:
                subs.stop()
            dispatcher.stop()
        problems = dispatcher.log_problems()
        fs = subprocess.run(["stat", "-f", "-c", "%T", tmp_name], capture_output=True,
                            text=True, check=False).stdout.strip()

    report: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "chromium": chromium_version, "playwright": version("playwright"),
                    "aiohttp": aiohttp.__version__, "database_fs": fs,
                    "load_average_before": load_before,
                    "load_average_after": [round(x, 2) for x in os.getloadavg()],
                    "pinned": "dispatcher on core 0, the rest on core 1" if pinned else "no"},
        "config": "examples/center.toml with [policy] double_press_s = 0",
        "press_to_page": press,
        "overview_first_paint": paint,
        "call_next_with_console_sessions": load,
        "hall_subscriber": {"messages": hall["hall_messages"],
                            "reconnects": hall["hall_reconnects"]},
        "dispatcher_log_problems": problems,
        "wall_s": round(time.perf_counter() - wall0, 1),
    }
    print(json.dumps(report, indent=1, ensure_ascii=False))
    p99 = press["click_to_number_shown_ms"]["p99"]
    fcp = paint["first_contentful_paint_ms"]
    ratio = load["p99_ratio_median"]
    print(f"press→page p99 = {p99} ms (target 200)")
    floor = paint["login_page_fcp_ms"]
    if fcp and floor:
        print(f"overview FCP median = {fcp['median']} ms, max {fcp['max']} ms (target 500; "
              f"login page: median {floor['median']} ms, max {floor['max']} ms)")
    print(f"overview HTML response median = {paint['html_response_ms']['median']} ms, "
          f"max {paint['html_response_ms']['max']} ms")
    print(f"call-next p99 ratio = {ratio} (target ≤ 1.20; "
          f"p99 {load['median_p99_ms']['none']} → {load['median_p99_ms']['sessions']} ms; "
          f"p50 ×{load['p50_ratio_median']}, dispatcher CPU per call "
          f"×{load['dispatcher_cpu_per_call_ratio_median']}; {load['pace']})")
    print(f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"wall {report['wall_s']} s, pinned: {report['machine']['pinned']}")


if __name__ == "__main__":
    main()
