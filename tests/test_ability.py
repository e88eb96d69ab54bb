"""全岗通: handling times shrunk toward the center's median, computed by hand; suggestions where
the data disagree with the configured skill level."""

from __future__ import annotations

import dataclasses
import datetime as dt

from dispatcher.domain.ability import staff_ability
from dispatcher.domain.config import SkillLevel, Staff
from dispatcher.domain.history import Visit, calls_of

from .helpers import SHANGHAI

DAY = dt.date(2026, 11, 2)
NINE = dt.datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)
STAFF = {
    "s1": Staff("s1", "张敏", SkillLevel.CAN, {}),
    "s2": Staff("s2", "李静", SkillLevel.CAN, {"b": SkillLevel.PREFERRED}),
    "s3": Staff("s3", "王建国", SkillLevel.CANNOT, {"a": SkillLevel.CAN}),
}


def visit(i: int, staff: str, service: str, seconds: float, outcome: str = "done",
          transfers: int = 0) -> Visit:
    called = NINE + dt.timedelta(minutes=i)
    return Visit(DAY, f"A{i:03d}", service, called - dt.timedelta(minutes=5), called,
                 called + dt.timedelta(seconds=seconds) if outcome == "done" else None, 1,
                 staff, outcome, transfers=transfers)


def test_times_are_shrunk_toward_the_center_median_by_hand() -> None:
    visits = [visit(1, "s1", "a", 300), visit(2, "s1", "a", 300),
              visit(3, "s2", "a", 600), visit(4, "s2", "a", 600, transfers=1),
              visit(5, "s2", "a", 0, outcome="no_show")]
    r = staff_ability(visits, STAFF, prior_cases=2)
    # Median of 300, 300, 600, 600 = 450. s1: (600 + 2·450) / 4 = 375 → 0.833;
    # s2: (1200 + 900) / 4 = 525 → 1.167.
    assert r["medians"] == {"a": 450.0}
    s1, s2 = r["staff"]["s1"], r["staff"]["s2"]
    assert s1["by_service"]["a"]["shrunk_s"] == 375.0 and s1["by_service"]["a"]["ratio"] == 0.833
    assert s2["by_service"]["a"]["mean_s"] == 600.0 and s2["by_service"]["a"]["ratio"] == 1.167
    assert (s2["called"], s2["no_show"], s2["no_show_rate"], s2["transferred_in"]) == \
        (3, 1, 0.3333, 1)
    assert r["staff"]["s3"]["served"] == 0 and r["staff"]["s3"]["index"] is None


def test_suggestions_where_the_data_disagree_with_the_configured_level() -> None:
    visits = []
    i = 0
    for _ in range(40):  # the center's pace on "a": 600 s, s1's and s2's
        for who in ("s1", "s2"):
            i += 1
            visits.append(visit(i, who, "a", 600))
    for _ in range(12):  # s3 "cannot" do b on paper, yet serves it at the center's pace
        i += 1
        visits.append(visit(i, "s3", "b", 500))
        i += 1
        visits.append(visit(i, "s1", "b", 500))
    for _ in range(22):  # s2 "preferred" on b, but slow: 1.8× the others
        i += 1
        visits.append(visit(i, "s2", "b", 900))
    r = staff_ability(visits, STAFF)
    got = {(s["staff_id"], s["service_id"]): s["suggested"] for s in r["suggestions"]}
    assert got[("s3", "b")] == "can"
    assert got[("s2", "b")] in ("can", "low")
    assert ("s1", "a") not in got  # at the median: nothing to say
    assert r["staff"]["s1"]["breadth"] == 2 and r["staff"]["s2"]["breadth"] == 1


def test_the_transfer_rate_counts_native_visits_sent_on_over_all_called() -> None:
    """s1 called four native visits: kept three, sent one (business a) on to s2, who
    finished it. s1: 1 ÷ 4 = 0.25; s2: 0 ÷ 1. s3 has imported visits only: the export does
    not say who transferred, so no rate rather than a false 0."""
    native = [dataclasses.replace(visit(i, "s1", "a", 300), source="native") for i in range(3)]
    moved = dataclasses.replace(visit(3, "s2", "a", 300, transfers=1), source="native",
                                transferred_by=(("s1", "a"),))
    result = staff_ability([*native, moved, visit(4, "s3", "a", 300)], STAFF)["staff"]
    assert (result["s1"]["transferred_out"], result["s1"]["transfer_rate"]) == (1, 0.25)
    assert result["s1"]["transferred_out_by_service"] == {"a": 1}
    assert (result["s2"]["transferred_out"], result["s2"]["transfer_rate"]) == (0, 0.0)
    assert result["s2"]["transferred_in"] == 1
    assert result["s3"]["transfer_rate"] is None


def test_who_transferred_a_ticket_is_read_from_its_calls() -> None:
    def called(tid: str, staff: str, service: str, minute: int) -> dict[str, object]:
        return {"type": "ticket_called", "ticket_id": tid, "at": f"2026-11-02T09:{minute:02d}"
                ":00+08:00", "ticket": {"served_by": staff, "service_id": service}}

    moved = {"type": "ticket_transferred", "ticket_id": "T1"}
    calls = calls_of([called("T1", "s1", "a", 0), called("T2", "s2", "b", 1), moved,
                      called("T1", "s2", "b", 5), moved, called("T1", "s3", "c", 9)])
    assert calls["T1"].first_called_at == dt.datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
    assert calls["T1"].transferred_by == [("s1", "a"), ("s2", "b")]
    assert calls["T2"].transferred_by == []
