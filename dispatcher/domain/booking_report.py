"""The month's bookings in figures (预约 in the monthly report): how many, how many checked in
or did not come, what the 预约回访 calls found, and whether the calls changed the no-show rate.

Definitions (a booking belongs to the month of its date):
- *settled* bookings are those whose visit is decided: checked in (checked_in or served) or
  no-show; cancelled ones and ones still to come are left out of the rates.
- check_in_rate = checked in ÷ settled; no_show_rate = no-show ÷ settled.
- A booking was *reached* by the follow-up when a call recorded confirmed or rescheduled;
  *not reached* when no call was recorded or every call was unreachable. The effect compares
  the no-show rates of the settled bookings of both groups: the difference (reached − not
  reached) and a two-sided two-proportion z-test p-value (None when a group is empty).
Pure: no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from dispatcher.domain.appointments import FOLLOWUP_OUTCOMES, Booking

CHECKED_IN = ("checked_in", "served")


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _p_value(a_bad: int, a_n: int, b_bad: int, b_n: int) -> float | None:
    """Two-sided p of the two-proportion z-test (pooled), or None without both samples."""
    if not a_n or not b_n:
        return None
    pooled = (a_bad + b_bad) / (a_n + b_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a_n + 1 / b_n))
    if se == 0:
        return 1.0
    z = (a_bad / a_n - b_bad / b_n) / se
    return round(math.erfc(abs(z) / math.sqrt(2)), 4)


def _reached(b: Booking) -> bool:
    f = b.followup or {}
    return any(h.get("outcome") in ("confirmed", "rescheduled") for h in f.get("history", ())) \
        or f.get("outcome") in ("confirmed", "rescheduled")


def _counts(bookings: list[Booking]) -> dict[str, Any]:
    status = Counter(b.status for b in bookings)
    checked = sum(status[s] for s in CHECKED_IN)
    settled = checked + status["no_show"]
    return {"bookings": len(bookings), "checked_in": checked, "no_show": status["no_show"],
            "cancelled": status["cancelled"], "to_come": status["booked"],
            "check_in_rate": _rate(checked, settled), "no_show_rate": _rate(status["no_show"],
                                                                            settled)}


def booking_report(bookings: Iterable[Booking]) -> dict[str, Any]:
    """The month's bookings: totals, per business, the follow-up and its effect."""
    every = list(bookings)
    out = _counts(every)
    by_service: dict[str, list[Booking]] = {}
    for b in every:
        by_service.setdefault(b.service_id, []).append(b)
    out["by_service"] = {sid: _counts(bs) for sid, bs in sorted(by_service.items())}
    called = [b for b in every if (b.followup or {}).get("outcome")]
    outcomes = Counter(str((b.followup or {})["outcome"]) for b in called)
    out["followup"] = {
        "called": len(called),
        "attempts": sum(int((b.followup or {}).get("attempts", 0)) for b in called),
        "outcomes": {o: outcomes[o] for o in FOLLOWUP_OUTCOMES},
        "missing_materials": sum(1 for b in called if (b.followup or {}).get("missing")),
    }
    settled = [b for b in every if b.status in (*CHECKED_IN, "no_show")]
    reached = [b for b in settled if _reached(b)]
    others = [b for b in settled if not _reached(b)]
    r_bad = sum(1 for b in reached if b.status == "no_show")
    o_bad = sum(1 for b in others if b.status == "no_show")
    out["followup_effect"] = {
        "reached": len(reached), "reached_no_show_rate": _rate(r_bad, len(reached)),
        "not_reached": len(others), "not_reached_no_show_rate": _rate(o_bad, len(others)),
        "difference": round(_rate(r_bad, len(reached)) - _rate(o_bad, len(others)), 4)
        if reached and others else None,
        "p_value": _p_value(r_bad, len(reached), o_bad, len(others)),
    }
    return out
