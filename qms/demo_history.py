"""A realistic year (or any range) of ticket history for the example center, in the history CSV
of PROTOCOL.md "History and reports": what `qms demo` imports so that the report, forecast and
staff pages show real charts at once, and what tests and benchmarks feed the reports.

Deterministic: the same config, seed and day always give the same rows, whatever range the day
is generated in (each day draws from its own `Random(f"{seed}-{day}")`; the business mix and
each staff member's speed come from the seed alone). Pure Python, standard library only; a year
(≈ 160 000 rows at `daily_mean` 600) takes a few seconds.

Open days and hours
  - Working days (`dispatcher.domain.calendar.is_working_day`, with the config's own extra
    holidays and workdays): public holidays closed, 调休 make-up weekend days open a full day.
    Tickets 08:45–16:30; windows 09:00–12:00 and 13:30–17:00. Before lunch staff clear the hall
    of the tickets issued before 12:00; tickets taken over lunch wait for 13:30; at closing
    everyone holding a ticket is served.
  - Ordinary Saturdays (not a public holiday): the service morning, tickets 08:20–11:15,
    windows 08:30–11:30, the first six windows open, volume × 0.30. Sundays closed.
  - Arrivals within the day follow `ARRIVAL_PROFILE` (15-minute slots: a crowd at opening, the
    morning peak 09:00–10:30, the noon dip, the afternoon peak 14:00–15:00, thin after 16:00).

Daily volume = `daily_mean` × weekday (Mon 1.20, Tue 1.03, Wed 0.98, Thu 0.94, Fri 0.85; a
make-up weekend day 0.90) × month (`MONTH_FACTORS`: January 1.10, August lull 0.86, December
year-end 医保 rush 1.12) × Spring Festival (the 3 weeks before its holiday 1.15, the 2 weeks
after 0.80) × trend (+6 %/year; 1.0 on 2026-01-01) × long holidays (next to a closed run of
≥ 3 days: the nearest working day 1.25, the one beyond it 1.10); then negative-binomial noise
(gamma shape 30 × Poisson: a day's CV ≈ 0.19). Hospital bursts: on 35 % of working days one
(10 %: two) run of 4–9 short 医保 tickets 5–50 s apart between 09:00 and 11:00 — patients of
the hospital next door (within the day's volume).

Business mix (from the seed): each short high-frequency business a weight ≈ 14 (lognormal,
σ 0.5); the others a Zipf tail 107 / (rank + 5)^1.2, ranked by `minutes` × noise (simple
business is commoner; the rarest come a few times a month). Seasonal: 医保 × 1.5 in December
and × 1.2 in January, 就业 × 1.4 in July (graduates), 居住证 × 1.3 in March–May (school places
for migrant children). About two thirds of the tickets are short business.

Service: each open window has its configured staff member, absent on 3 % of days (the relief
staff member — on no window — then covers one absent window half the time, else it stays
closed). A window calls as the dispatcher's rules do: a ticket waiting ≥ the starvation limit
first; at a green window the green-channel business during its schedule, then short business
while the diversion is on (more than `short_threshold` short tickets waiting turns it on, fewer
turns it off, equal keeps it); otherwise the oldest ticket its staff can do ("low" skills only
when nothing else waits); ordinary windows leave green-channel tickets to the green windows
until they waited `max_wait_min`. Service time: lognormal (σ 0.45), median `minutes` × 60 ×
0.70 × the staff member's speed — a fixed personal factor 0.80–1.25, × 0.85 on "preferred"
business, × 0.88 on one department they are quietly good at (for the staff-ability page to
find), × 1.30 on "low" business — × a hurry factor 1 / (1 + 0.08 × waiting per open window)
(≥ 0.70): a full hall is served faster. Measured: the mean service is ≈ 0.68 of `minutes`.
Call-next finishes the current ticket and calls the next at once, so a served ticket's
finished_at is usually its window's next call; an idle window calls a new arrival after 5–30 s.

Outcomes: no-show 3.5 % + 4 % per hour waited (≈ 4 % overall): called, marked absent 60–150 s
later — called_at, window and staff_id, no finished_at (PROTOCOL: empty where it does not
apply). Cancelled 1 %: left before being called (no called_at, finished_at, window, staff_id).
Careless double press (0.4 % of calls when someone waits, ≈ 0.3 % of all): the window's next
call 2–5 s later, the ticket "finished" in seconds (the report's quick-call flag). On 15 % of
working days (≈ 3 a month) one window's last service runs on to 17:25–17:55, after closing.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
import itertools
import math
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO

from dispatcher.domain.calendar import is_holiday, is_working_day
from dispatcher.domain.config import Config, SkillLevel
from dispatcher.domain.history import CSV_COLUMNS

__all__ = ["CSV_COLUMNS", "expected_volume", "generate_history", "history_csv_text",
           "write_history_csv"]

# ---- volume ----
WEEKDAY_FACTORS = (1.20, 1.03, 0.98, 0.94, 0.85)  # Mon–Fri
MAKEUP_SATURDAY_FACTOR = 0.90
SATURDAY_SHARE = 0.30
MONTH_FACTORS = (1.10, 1.00, 1.04, 1.00, 0.98, 1.00, 0.98, 0.86, 1.00, 0.97, 1.00, 1.12)
SPRING_BEFORE_DAYS, SPRING_BEFORE_FACTOR = 21, 1.15
SPRING_AFTER_DAYS, SPRING_AFTER_FACTOR = 14, 0.80
# 春节 (the first day of the lunar year): the Spring Festival's place in the calendar.
SPRING_FESTIVAL = {
    2020: dt.date(2020, 1, 25), 2021: dt.date(2021, 2, 12), 2022: dt.date(2022, 2, 1),
    2023: dt.date(2023, 1, 22), 2024: dt.date(2024, 2, 10), 2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17), 2027: dt.date(2027, 2, 6), 2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13), 2030: dt.date(2030, 2, 3),
}
TREND_PER_YEAR = 0.06
TREND_REFERENCE = dt.date(2026, 1, 1)
LONG_HOLIDAY_DAYS = 3  # a closed run at least this long makes the days next to it busy
NEXT_TO_HOLIDAY = (1.25, 1.10)  # the working day right before/after it, the one before that
DAY_SHAPE = 30.0  # gamma shape of the day's noise: CV ≈ 1/√30
BURST_CHANCES = (0.35, 0.10)  # one burst, a second one
BURST_SIZE = (4, 9)



def _hm(h: int, m: int) -> int:
    return h * 3600 + m * 60


# ---- the day ----

SLOT_S = 900
WEEKDAY_ISSUE_START = _hm(8, 45)
WEEKDAY_SESSIONS = ((_hm(9, 0), _hm(12, 0)), (_hm(13, 30), _hm(17, 0)))
# Relative arrivals per 15 minutes from 08:45 to 16:30.
ARRIVAL_PROFILE = (1.6, 2.0, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.3, 1.1, 0.9, 0.6,   # 08:45–11:45
                   0.4, 0.25, 0.2, 0.2, 0.25, 0.4, 0.8,                          # 11:45–13:30
                   1.3, 1.5, 1.6, 1.6, 1.5, 1.4, 1.3, 1.1, 0.9, 0.7, 0.5, 0.3)   # 13:30–16:30
SATURDAY_ISSUE_START = _hm(8, 20)
SATURDAY_SESSIONS = ((_hm(8, 30), _hm(11, 30)),)
SATURDAY_PROFILE = (1.2, 1.8, 1.8, 1.7, 1.6, 1.4, 1.3, 1.1, 1.0, 0.8, 0.6, 0.3)  # 08:20–11:20
SATURDAY_WINDOWS = 6
SATURDAY_ISSUE_END = _hm(11, 15)
WEEKDAY_ISSUE_END = _hm(16, 30)

# ---- service ----
SERVICE_MEDIAN_SHARE = 0.70
SERVICE_SIGMA = 0.45
MIN_SERVICE_S = 30
PRESSURE_SPEEDUP, MAX_SPEEDUP = 0.08, 0.70  # a full hall: staff work faster
SPEED_RANGE = (0.80, 1.25)
PREFERRED_SPEED = 0.85
STRONG_DEPARTMENT_SPEED = 0.88
LOW_SPEED = 1.30
ABSENT_CHANCE = 0.03
RELIEF_CHANCE = 0.5
REACTION_S = (5, 30)
NO_SHOW_BASE, NO_SHOW_PER_HOUR = 0.035, 0.04
NO_SHOW_HOLD_S = (60, 150)
CANCEL_CHANCE = 0.01
DOUBLE_PRESS_CHANCE = 0.004
DOUBLE_PRESS_S = (2, 5)
LATE_FINISH_CHANCE = 0.15
LATE_FINISH = (_hm(17, 25), _hm(17, 55))
STAGGER_S = 120  # windows open within this many seconds of the session's start

# ---- mix ----
SHORT_WEIGHT, SHORT_SIGMA = 14.0, 0.5
TAIL_WEIGHT, TAIL_OFFSET, TAIL_EXPONENT, TAIL_NOISE = 107.0, 5, 1.2, 0.6
SEASONAL_MIX = {  # department id: {month: factor}
    "yibao": {12: 1.5, 1: 1.2},
    "jiuye": {7: 1.4},
    "juzhuzheng": {3: 1.3, 4: 1.3, 5: 1.3},
}
HOSPITAL_DEPARTMENT = "yibao"

_INF = 1 << 40
_NO_SHOW, _DONE, _CANCELLED, _WAITING = "no_show", "done", "cancelled", ""


@cache
def _clock() -> tuple[str, ...]:
    """HH:MM:SS of every second of the day (formatting 200k rows fast)."""
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))


@dataclass(frozen=True)
class _Person:
    id: str
    levels: tuple[int, ...]  # per service index
    median_s: tuple[float, ...]  # per service index: the median service time


@dataclass(frozen=True)
class _Center:
    ids: tuple[str, ...]
    prefixes: tuple[str, ...]
    short: tuple[bool, ...]
    departments: tuple[str, ...]
    windows: tuple[tuple[int, bool, str], ...]  # (number, green, staff id) of usable windows
    people: dict[str, _Person]
    relief: tuple[str, ...]
    base_weights: tuple[float, ...]
    hospital: tuple[int, ...]  # short 医保 business (the bursts), or all short business
    threshold: int
    short_rule: bool
    starve_s: int  # 0: no starvation rule
    gc_services: frozenset[int]
    gc_limit_s: int
    gc_schedule: tuple[tuple[frozenset[int], int, int], ...]  # (weekdays, start s, end s)
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]


def _center(config: Config, seed: int) -> _Center:
    services = list(config.services.values())
    index = {s.id: i for i, s in enumerate(services)}
    rng = random.Random(f"{seed}-mix")
    # The tail's order: shorter business tends to be commoner (noise from the seed).
    noisy = {i: s.minutes * rng.lognormvariate(0.0, TAIL_NOISE) for i, s in enumerate(services)
             if not s.short_high_freq}
    tail = sorted(noisy, key=lambda i: (noisy[i], i))
    rank = {i: r for r, i in enumerate(tail)}
    weights = []
    for i, s in enumerate(services):
        if s.short_high_freq:
            weights.append(SHORT_WEIGHT * rng.lognormvariate(0.0, SHORT_SIGMA))
        else:
            weights.append(TAIL_WEIGHT / (rank[i] + TAIL_OFFSET) ** TAIL_EXPONENT)
    dept_ids = sorted({s.department_id for s in services})
    people: dict[str, _Person] = {}
    for staff in sorted(config.staff, key=lambda p: p.id):
        prng = random.Random(f"{seed}-staff-{staff.id}")
        speed = prng.uniform(*SPEED_RANGE)
        strong = prng.choice(dept_ids)
        levels, medians = [], []
        for s in services:
            level = int(staff.level(s.id))
            factor = speed
            if level == SkillLevel.PREFERRED:
                factor *= PREFERRED_SPEED
            elif level == SkillLevel.LOW:
                factor *= LOW_SPEED
            if s.department_id == strong:
                factor *= STRONG_DEPARTMENT_SPEED
            levels.append(level)
            medians.append(s.minutes * 60 * SERVICE_MEDIAN_SHARE * factor)
        people[staff.id] = _Person(staff.id, tuple(levels), tuple(medians))
    assigned = {w.staff_id for w in config.windows}
    windows = tuple((w.number, w.green, w.staff_id) for w in config.windows
                    if w.open_at_start and w.staff_id is not None and w.staff_id in people)
    hospital = tuple(i for i, s in enumerate(services)
                     if s.short_high_freq and s.department_id == HOSPITAL_DEPARTMENT) or \
        tuple(i for i, s in enumerate(services) if s.short_high_freq)
    rules = config.policy.rules
    gc = config.green_channel
    return _Center(
        ids=tuple(s.id for s in services), prefixes=tuple(s.prefix for s in services),
        short=tuple(s.short_high_freq for s in services),
        departments=tuple(s.department_id for s in services),
        windows=windows, people=people,
        relief=tuple(p for p in sorted(people) if p not in assigned),
        base_weights=tuple(weights), hospital=hospital,
        threshold=config.policy.short_threshold, short_rule="short_high_freq" in rules,
        starve_s=config.policy.starvation_max_wait_min * 60 if "starvation" in rules else 0,
        gc_services=frozenset(index[s] for s in gc.service_ids if s in index)
        if "green_channel" in rules else frozenset(),
        gc_limit_s=gc.max_wait_min * 60,
        gc_schedule=tuple((r.days, r.start.hour * 3600 + r.start.minute * 60,
                           r.end.hour * 3600 + r.end.minute * 60) for r in gc.schedule),
        holidays=frozenset(config.ratings.holidays), workdays=frozenset(config.ratings.workdays),
    )


def _month_weights(c: _Center, month: int) -> list[float]:
    """Cumulative business weights of a month (its seasonal mix)."""
    cum, total = [], 0.0
    for w, dept in zip(c.base_weights, c.departments, strict=True):
        total += w * SEASONAL_MIX.get(dept, {}).get(month, 1.0)
        cum.append(total)
    return cum


# ---- the calendar ----

def _working(c: _Center, day: dt.date) -> bool:
    return is_working_day(day, c.holidays, c.workdays)


def _closed_run(c: _Center, day: dt.date, step: int) -> int:
    """How many days in a row from `day` (going by `step`) the center is not working."""
    n = 0
    while n < 40 and not _working(c, day):
        n += 1
        day += dt.timedelta(days=step)
    return n


def _holiday_factor(c: _Center, day: dt.date) -> float:
    """Busy days next to a long closed run: the last working days before, the first after."""
    one = dt.timedelta(days=1)
    factor = 1.0
    for step in (1, -1):
        near = day + step * one
        if _closed_run(c, near, step) >= LONG_HOLIDAY_DAYS:
            factor *= NEXT_TO_HOLIDAY[0]
        elif _working(c, near) and _closed_run(c, near + step * one, step) >= LONG_HOLIDAY_DAYS:
            factor *= NEXT_TO_HOLIDAY[1]
    return factor


def _spring_factor(c: _Center, day: dt.date) -> float:
    festival = SPRING_FESTIVAL.get(day.year if day.month < 7 else day.year + 1)
    if festival is None:
        return 1.0
    one = dt.timedelta(days=1)
    start = end = festival  # the closed run around the festival
    while not _working(c, start - one) and (festival - start).days < 10:
        start -= one
    while not _working(c, end + one) and (end - festival).days < 10:
        end += one
    if start - dt.timedelta(days=SPRING_BEFORE_DAYS) <= day < start:
        return SPRING_BEFORE_FACTOR
    if end < day <= end + dt.timedelta(days=SPRING_AFTER_DAYS):
        return SPRING_AFTER_FACTOR
    return 1.0


def _day_kind(c: _Center, day: dt.date) -> str:
    """"full" (a working day), "saturday" (the service morning) or "" (closed)."""
    if _working(c, day):
        return "full"
    if day.weekday() == 5 and not is_holiday(day, c.holidays):
        return "saturday"  # an ordinary Saturday, not one inside a public holiday
    return ""


def expected_volume(config: Config, day: dt.date, daily_mean: float = 600.0) -> float:
    """The day's expected number of tickets before its noise (0 when closed)."""
    return _expected(_center(config, 0), day, daily_mean)


def _expected(c: _Center, day: dt.date, daily_mean: float) -> float:
    kind = _day_kind(c, day)
    if not kind:
        return 0.0
    if kind == "saturday":
        factor = SATURDAY_SHARE
    else:
        wd = day.weekday()
        factor = WEEKDAY_FACTORS[wd] if wd < 5 else MAKEUP_SATURDAY_FACTOR
        factor *= _holiday_factor(c, day)
    trend = math.exp(math.log1p(TREND_PER_YEAR) * (day - TREND_REFERENCE).days / 365.25)
    return daily_mean * factor * MONTH_FACTORS[day.month - 1] * _spring_factor(c, day) * trend


# ---- one day ----

def _draw_count(rng: random.Random, mean: float) -> int:
    lam = mean * rng.gammavariate(DAY_SHAPE, 1.0 / DAY_SHAPE)
    if lam < 30:  # Poisson by multiplication (small days)
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def _arrivals(c: _Center, rng: random.Random, full: bool, n: int, cum: list[float]
              ) -> tuple[list[int], list[int]]:
    """Issue times (sorted) and their businesses."""
    start, profile = (WEEKDAY_ISSUE_START, ARRIVAL_PROFILE) if full else \
        (SATURDAY_ISSUE_START, SATURDAY_PROFILE)
    end = WEEKDAY_ISSUE_END if full else SATURDAY_ISSUE_END
    bursts: list[tuple[int, int]] = []
    if full:
        for chance in BURST_CHANCES:
            if rng.random() >= chance:
                break
            at = rng.randrange(_hm(9, 0), _hm(11, 0))
            for _ in range(rng.randint(*BURST_SIZE)):
                at += rng.randint(5, 50)
                bursts.append((at, c.hospital[rng.randrange(len(c.hospital))]))
    n = max(0, n - len(bursts))
    slot_cum = list(_cumulate(profile))
    slots = rng.choices(range(len(profile)), cum_weights=slot_cum, k=n)
    rand = rng.random
    times = [min(end, start + s * SLOT_S + int(rand() * SLOT_S)) for s in slots]
    services = rng.choices(range(len(cum)), cum_weights=cum, k=n)
    pairs = sorted([*zip(times, services, strict=True), *bursts], key=lambda p: p[0])
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _cumulate(values: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for v in values:
        total += v
        yield total


def _staffing(c: _Center, rng: random.Random, full: bool) -> list[tuple[int, bool, _Person]]:
    """The day's open windows: (number, green, staff member)."""
    windows = c.windows if full else c.windows[:SATURDAY_WINDOWS]
    relief = [p for p in c.relief if rng.random() >= ABSENT_CHANCE] if full else []
    out = []
    for number, green, staff_id in windows:
        if rng.random() < ABSENT_CHANCE:
            if relief and rng.random() < RELIEF_CHANCE:
                out.append((number, green, c.people[relief.pop(0)]))
            continue
        out.append((number, green, c.people[staff_id]))
    return out


def _simulate_day(c: _Center, day: dt.date, seed: int, daily_mean: float,
                  cum: list[float]) -> list[dict[str, str]]:
    kind = _day_kind(c, day)
    if not kind:
        return []
    full = kind == "full"
    rng = random.Random(f"{seed}-{day.isoformat()}")
    n = _draw_count(rng, _expected(c, day, daily_mean))
    issue, svc = _arrivals(c, rng, full, n, cum)
    n = len(issue)
    staffed = _staffing(c, rng, full)
    sessions = WEEKDAY_SESSIONS if full else SATURDAY_SESSIONS
    rand, randint, lognorm = rng.random, rng.randint, rng.lognormvariate

    called = [-1] * n
    finished = [-1] * n
    window_of = [0] * n
    outcome = [_WAITING] * n
    for i in range(n):
        if rand() < CANCEL_CHANCE:
            outcome[i] = _CANCELLED

    wd = day.weekday()
    gc_spans = [(a, b) for days, a, b in c.gc_schedule if wd in days]
    gc_set = c.gc_services
    short = c.short
    starve_s = c.starve_s
    gc_limit = c.gc_limit_s
    threshold = c.threshold
    short_rule = c.short_rule
    greens_open = any(g for _, g, _ in staffed)
    levels = [p.levels for _, _, p in staffed]
    medians = [p.median_s for _, _, p in staffed]
    is_green = [g for _, g, _ in staffed]
    numbers = [str(w) for w, _, _ in staffed]
    staff_ids = [p.id for _, _, p in staffed]
    n_windows = max(1, len(staffed))
    last_call = [-1] * len(staffed)  # the window's latest called ticket
    heap = [(sessions[0][0] + randint(0, STAGGER_S), w) for w in range(len(staffed))]
    heapq.heapify(heap)
    idle: dict[int, int] = {}  # window -> idle since
    queue: list[int] = []
    short_waiting = 0
    diversion = False
    ai = 0
    breaks = list(itertools.pairwise(sessions))

    def gc_active(t: int) -> bool:
        return any(a <= t < b for a, b in gc_spans)

    def select(w: int, t: int, cutoff: int) -> int:
        """The position in the queue of the ticket window w calls at t, or -1."""
        lv = levels[w]
        if starve_s and queue and issue[queue[0]] <= t - starve_s:
            limit = t - starve_s
            for k, i in enumerate(queue):
                if issue[i] > limit or issue[i] >= cutoff:
                    break
                if lv[svc[i]]:
                    return k
        gc_on = bool(gc_set) and bool(gc_spans) and gc_active(t)
        if is_green[w]:
            if gc_on:
                for k, i in enumerate(queue):
                    if issue[i] >= cutoff:
                        break
                    if svc[i] in gc_set and lv[svc[i]]:
                        return k
            if diversion:
                for k, i in enumerate(queue):
                    if issue[i] >= cutoff:
                        break
                    if short[svc[i]] and lv[svc[i]] >= 2:
                        return k
        low = -1
        for k, i in enumerate(queue):
            if issue[i] >= cutoff:
                break
            s = svc[i]
            level = lv[s]
            if level >= 2:
                if gc_on and not is_green[w] and greens_open and s in gc_set \
                        and t - issue[i] < gc_limit:
                    continue
                return k
            if level == 1 and low < 0:
                low = k
        return low

    def call(w: int, t: int, cutoff: int) -> bool:
        nonlocal short_waiting, diversion
        k = select(w, t, cutoff)
        if k < 0:
            return False
        i = queue.pop(k)
        if short[svc[i]] and short_rule:
            short_waiting -= 1
            if short_waiting < threshold:
                diversion = False
        called[i] = t
        window_of[i] = w
        last_call[w] = i
        wait_h = (t - issue[i]) / 3600
        if rand() < NO_SHOW_BASE + NO_SHOW_PER_HOUR * min(wait_h, 1.5):
            outcome[i] = _NO_SHOW
            heapq.heappush(heap, (t + randint(*NO_SHOW_HOLD_S), w))
            return True
        outcome[i] = _DONE
        if queue and rand() < DOUBLE_PRESS_CHANCE:
            end = t + randint(*DOUBLE_PRESS_S)
        else:
            hurry = max(MAX_SPEEDUP, 1.0 / (1.0 + PRESSURE_SPEEDUP * len(queue) / n_windows))
            end = t + max(MIN_SERVICE_S,
                          int(medians[w][svc[i]] * hurry * lognorm(0.0, SERVICE_SIGMA)))
        finished[i] = end
        heapq.heappush(heap, (end, w))
        return True

    while True:
        ta = issue[ai] if ai < n else _INF
        tf = heap[0][0] if heap else _INF
        if ta == _INF and tf == _INF:
            break
        if ta <= tf:  # a ticket is issued
            i = ai
            ai += 1
            if outcome[i] == _CANCELLED:
                continue
            queue.append(i)
            if short[svc[i]] and short_rule:
                short_waiting += 1
                if short_waiting > threshold:
                    diversion = True
            if idle and any(b <= ta < a for (_, b), (a, _) in breaks):
                for w in sorted(idle):  # idle at the break: back when the next session opens
                    nxt = next(a for (_, b), (a, _) in breaks if b <= ta < a)
                    heapq.heappush(heap, (nxt + randint(0, STAGGER_S), w))
                idle.clear()
            if idle:
                s = svc[i]
                able = [(since, w) for w, since in idle.items() if levels[w][s]]
                if able:
                    _, w = min(able)
                    del idle[w]
                    heapq.heappush(heap, (ta + randint(*REACTION_S), w))
            continue
        t, w = heapq.heappop(heap)
        # Before the first session: wait for it. Within one: call. Between two: clear the hall
        # of the tickets issued before the break, then go to lunch. After the last: serve who
        # is left, then close.
        for si, (a, b) in enumerate(sessions):
            if t < a:
                heapq.heappush(heap, (a + randint(0, STAGGER_S), w))
                break
            if t < b:
                if not call(w, t, _INF):
                    idle[w] = t
                break
            if si + 1 < len(sessions) and t < sessions[si + 1][0]:
                if not call(w, t, b):
                    heapq.heappush(heap, (sessions[si + 1][0] + randint(0, STAGGER_S), w))
                break
        else:
            call(w, t, _INF)

    if full and rand() < LATE_FINISH_CHANCE:
        late = [i for i in last_call if i >= 0 and outcome[i] == _DONE
                and called[i] >= _hm(16, 0)]
        if late:
            i = late[rng.randrange(len(late))]
            finished[i] = max(finished[i], randint(*LATE_FINISH))

    clock = _clock()
    date = day.isoformat()
    counters: dict[str, int] = {}
    rows = []
    for i in range(n):
        prefix = c.prefixes[svc[i]]
        number = counters.get(prefix, 0) + 1
        counters[prefix] = number
        o = outcome[i]
        if o in (_CANCELLED, _WAITING):  # (a ticket nobody open could serve: cancelled)
            rows.append({"date": date, "number": f"{prefix}{number:03d}",
                         "service_id": c.ids[svc[i]], "issued_at": clock[issue[i]],
                         "called_at": "", "finished_at": "", "window": "", "staff_id": "",
                         "outcome": _CANCELLED})
            continue
        w = window_of[i]
        rows.append({"date": date, "number": f"{prefix}{number:03d}",
                     "service_id": c.ids[svc[i]], "issued_at": clock[issue[i]],
                     "called_at": clock[called[i]],
                     "finished_at": clock[min(finished[i], 86399)] if o == _DONE else "",
                     "window": numbers[w], "staff_id": staff_ids[w], "outcome": o})
    return rows


# ---- the API ----

def generate_history(config: Config, first_day: dt.date, last_day: dt.date, seed: int = 2026,
                     daily_mean: float = 600.0) -> Iterator[dict[str, str]]:
    """The history rows of `first_day` … `last_day` (inclusive): days in order, each day's
    tickets in issue order; every row has exactly the PROTOCOL columns, as strings."""
    c = _center(config, seed)
    months: dict[int, list[float]] = {}
    day = first_day
    while day <= last_day:
        cum = months.get(day.month)
        if cum is None:
            cum = months[day.month] = _month_weights(c, day.month)
        yield from _simulate_day(c, day, seed, daily_mean, cum)
        day += dt.timedelta(days=1)


def history_csv_text(rows: Iterable[dict[str, str]]) -> str:
    """The history CSV (header row first) as text."""
    out = io.StringIO()
    _write(out, rows)
    return out.getvalue()


def write_history_csv(path: str | Path, rows: Iterable[dict[str, str]]) -> int:
    """Write the history CSV (UTF-8, header row); the number of rows written."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        return _write(f, rows)


def _write(f: IO[str], rows: Iterable[dict[str, str]]) -> int:
    writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def seed_demo_history(db: Path, config: Config, today: dt.date, days: int = 365) -> int:
    """The year before `today` imported into `db` like another system's export (checked by
    the same parser); nothing when the database holds imported history already. The number
    of tickets imported."""
    from dispatcher.domain.history import parse_history_csv
    from dispatcher.server.history import HistoryStore

    store = HistoryStore(db)
    try:
        if store.has_imported():
            return 0
        last = today - dt.timedelta(days=1)
        text = history_csv_text(generate_history(config, last - dt.timedelta(days=days - 1),
                                                 last))
        visits, problems = parse_history_csv(text, config.services, config.center.tz)
        if problems:
            raise ValueError(f"the generated history is not valid: {problems[0]}")
        # In slices: the demo runs meanwhile, and one year in one transaction would hold the
        # database's write lock for seconds (a real import stays all or none).
        added = 0
        for start in range(0, len(visits), 5000):
            added += store.import_visits(visits[start:start + 5000]).added
        return added
    finally:
        store.close()
