"""Benchmark the dispatcher on loopback; prints one JSON object.

    .venv/bin/python bench/dispatcher.py [--requests 3000]

Starts `qms dispatcher` as its own process (SQLite WAL, synchronous=FULL, a fresh database)
with the example catalog and 100 windows, then for 1, 10 and 100 concurrent clients measures
the latency of `POST /tickets` (each client issues tickets) and of `call-next` (each client
calls at its own window), and the requests served per second. These clients send their next
request as soon as the last is answered (a saturation test; the queue grows to `--requests`
tickets). A last run paces 100 clients at 10 requests/s each. Client and server share this
machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
WINDOWS = 100


def bench_config(tmp: Path) -> Path:
    text = (ROOT / "examples" / "center.toml").read_text(encoding="utf-8")
    text = text.replace("double_press_s = 3.0", "double_press_s = 0")
    all_windows = ", ".join(str(n) for n in range(1, WINDOWS + 1))
    text = re.sub(r"windows = \[1, 2, 3, 4, 5, 6, 7, 8\]", f"windows = [{all_windows}]", text)
    text += "".join(f"\n[[windows]]\nnumber = {n}\n" for n in range(9, WINDOWS + 1))
    path = tmp / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def client_loop(session: aiohttp.ClientSession, url: str, count: int,
                      body: dict[str, Any], rid_prefix: str, pace_s: float = 0.0) -> list[float]:
    """`count` requests one after another; with `pace_s`, one every pace_s seconds (jittered)."""
    latencies: list[float] = []
    rng = random.Random(rid_prefix)
    if pace_s:
        await asyncio.sleep(rng.uniform(0, pace_s))
    for i in range(count):
        if pace_s and i:
            await asyncio.sleep(max(0.0, rng.uniform(0.5, 1.5) * pace_s - latencies[-1]))
        start = time.perf_counter()
        async with session.post(url, json={**body, "request_id": f"{rid_prefix}-{i}"}) as r:
            await r.read()
            if r.status >= 400:
                raise RuntimeError(f"{url}: {r.status} {await r.text()}")
        latencies.append(time.perf_counter() - start)
    return latencies


async def phase(base: str, token: str, clients: int, per_client: int, path_of: Any,
                body: dict[str, Any], tag: str, pace_s: float = 0.0) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=0)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base_url=base, headers=headers,
                                     connector=connector) as session:
        start = time.perf_counter()
        results = await asyncio.gather(*(
            client_loop(session, path_of(i), per_client, body, f"{tag}-{clients}-{i}", pace_s)
            for i in range(clients)
        ))
        elapsed = time.perf_counter() - start
    latencies = [x for r in results for x in r]
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "per_s": round(len(latencies) / elapsed, 1),
    }


async def run(base: str, requests: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for clients in (1, 10, 100):
        per_client = max(5, requests // clients)
        tickets = await phase(base, "demo-kiosk-token", clients, per_client,
                              lambda i: "/api/v1/tickets", {"service_id": "yibao-dabing"}, "t")
        calls = await phase(base, "demo-hall-token", clients, per_client,
                            lambda i: f"/api/v1/windows/{i % WINDOWS + 1}/call-next", {}, "c")
        out[str(clients)] = {"tickets": tickets, "call_next": calls}
    # Paced: 100 devices each sending one request every 100 ms (1000 requests/s offered).
    tickets = await phase(base, "demo-kiosk-token", 100, 20, lambda i: "/api/v1/tickets",
                          {"service_id": "yibao-dabing"}, "pt", pace_s=0.1)
    calls = await phase(base, "demo-hall-token", 100, 20,
                        lambda i: f"/api/v1/windows/{i % WINDOWS + 1}/call-next", {}, "pc",
                        pace_s=0.1)
    out["100_paced_10_per_s_each"] = {"tickets": tickets, "call_next": calls}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000,
                        help="requests per phase, shared by the clients")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc = subprocess.Popen(
            [sys.executable, "-m", "dispatcher", "dispatcher", "--config",
             str(bench_config(tmp)), "--db", str(tmp / "bench.db"), "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            base = line.split("serving ")[1].split("/api/v1")[0]
            by_clients = asyncio.run(run(base, args.requests))
        finally:
            proc.terminate()
            proc.wait(10)
        size = (tmp / "bench.db").stat().st_size
    print(json.dumps({
        "synchronous": "FULL", "journal_mode": "wal", "windows": WINDOWS,
        "by_concurrent_clients": by_clients, "db_bytes_after": size,
    }, indent=1))


if __name__ == "__main__":
    main()
