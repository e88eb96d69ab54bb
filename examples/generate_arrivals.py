"""Generate the example arrivals CSVs for `qms simulate` (reproducible: fixed seeds).

    .venv/bin/python examples/generate_arrivals.py      # rewrites examples/arrivals-*.csv

The model, meant to look like a real center, not to flatter any policy:

* Residents arrive as a Poisson process whose rate follows the time of day (a queue at the
  door when the center opens, a mid-morning peak, a lull before lunch).
* Their business is drawn from the catalog with department weights (医保 and 社保 busiest) and,
  within a department, short high-frequency business three times as likely as the rest.
* Patients of the hospital next door come in bursts after clinic sessions: a few minutes in
  which several people arrive with 医保 short business (大病登记, 就医记录册 …).
* Handling times are log-normal around each business's typical minutes (σ = 0.35), at least 60 s.
"""

from __future__ import annotations

import csv
import itertools
import math
import random
from pathlib import Path

from dispatcher.domain.config import Config
from qms.config import load_config

HERE = Path(__file__).resolve().parent

DEPARTMENT_WEIGHT = {
    "yibao": 6.0, "shebao": 5.0, "jiuye": 2.0, "minzheng": 1.5, "canlian": 0.8, "weijian": 1.5,
    "zhufang": 0.8, "tuiyi": 0.5, "laoling": 2.5, "juzhuzheng": 2.0, "zonghe": 1.5, "yiwang": 2.5,
}
HOSPITAL_SERVICES = (
    "yibao-dabing", "yibao-jiuyi-jilu-ce", "yibao-jilu-ce-shenling", "yibao-jilu-ce-buban",
    "yibao-jiesuandan-buda",
)


def _rate_per_min(profile: list[tuple[float, float]], minute: float) -> float:
    """Piecewise-linear arrival rate (residents per minute) at `minute` after midnight."""
    for (m0, r0), (m1, r1) in itertools.pairwise(profile):
        if m0 <= minute < m1:
            return r0 + (r1 - r0) * (minute - m0) / (m1 - m0)
    return 0.0


def _pick_service(config: Config, rng: random.Random) -> str:
    depts = [d for d in config.departments if d.id in DEPARTMENT_WEIGHT]
    dept = rng.choices(depts, weights=[DEPARTMENT_WEIGHT[d.id] for d in depts])[0]
    weights = [3.0 if s.short_high_freq else 1.0 for s in dept.services]
    return rng.choices(dept.services, weights=weights)[0].id


def _duration(config: Config, service_id: str, rng: random.Random) -> int:
    typical = config.services[service_id].minutes * 60
    return max(60, round(rng.lognormvariate(math.log(typical), 0.35)))


def generate(
    config: Config,
    seed: int,
    profile: list[tuple[float, float]],
    door_queue: int,
    bursts: list[tuple[float, int]],
) -> list[tuple[int, str, int]]:
    rng = random.Random(seed)
    rows: list[tuple[int, str, int]] = []
    start = profile[0][0]
    # People already waiting at the door take numbers in the first few minutes.
    for _ in range(door_queue):
        t = start * 60 + rng.uniform(0, 240)
        sid = _pick_service(config, rng)
        rows.append((int(t), sid, _duration(config, sid, rng)))
    # Thinning of a non-homogeneous Poisson process.
    peak = max(r for _, r in profile)
    t = start
    end = profile[-1][0]
    while True:
        t += rng.expovariate(peak)
        if t >= end:
            break
        if rng.random() < _rate_per_min(profile, t) / peak:
            sid = _pick_service(config, rng)
            rows.append((int(t * 60), sid, _duration(config, sid, rng)))
    # Hospital bursts: (minute after midnight, people), spread over about 8 minutes.
    for at_min, people in bursts:
        for _ in range(people):
            t = at_min * 60 + rng.uniform(0, 480)
            sid = rng.choice(HOSPITAL_SERVICES)
            rows.append((int(t), sid, _duration(config, sid, rng)))
    rows.sort()
    return rows


def write(path: Path, rows: list[tuple[int, str, int]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["time", "service_id", "duration_s"])
        for t, sid, d in rows:
            w.writerow([f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}", sid, d])


def write_booked(path: Path, rows: list[tuple[int, str, int]], config: Config,
                 seed: int, share: float = 0.15) -> int:
    """The same morning with a share of the residents of longer business booked: each checks
    in when they arrive, for the half-hour slot that starts next (check-in opens 30 min
    before a slot). Returns how many are booked."""
    rng = random.Random(seed)
    booked = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["time", "service_id", "duration_s", "appointment"])
        for t, sid, d in rows:
            slot = ""
            if not config.services[sid].short_high_freq and rng.random() < share:
                start = -(-t // 1800) * 1800  # the next half hour (or this one, on the dot)
                slot = f"{start // 3600:02d}:{start // 60 % 60:02d}"
                booked += 1
            w.writerow([f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}", sid, d, slot])
    return booked


def main() -> None:
    config = load_config(HERE / "center.toml")
    h = 60.0
    # A Monday peak morning, 08:30–12:00.
    peak = generate(
        config, seed=20261130,
        profile=[(8.5 * h, 0.55), (9.0 * h, 0.8), (9.75 * h, 0.9), (10.5 * h, 0.7),
                 (11.25 * h, 0.45), (12.0 * h, 0.25)],
        door_queue=20,
        bursts=[(9.25 * h, 6), (9.9 * h, 5), (10.5 * h, 7), (11.2 * h, 4)],
    )
    # A quiet Wednesday afternoon, 13:30–17:00.
    quiet = generate(
        config, seed=20261202,
        profile=[(13.5 * h, 0.45), (14.5 * h, 0.55), (15.5 * h, 0.45), (17.0 * h, 0.2)],
        door_queue=6,
        bursts=[(14.2 * h, 3)],
    )
    write(HERE / "arrivals-peak.csv", peak)
    write(HERE / "arrivals-quiet.csv", quiet)
    booked = write_booked(HERE / "arrivals-peak-booked.csv", peak, config, seed=20261130)
    print(f"peak: {len(peak)} arrivals ({booked} booked in arrivals-peak-booked.csv), "
          f"quiet: {len(quiet)} arrivals")


if __name__ == "__main__":
    main()
