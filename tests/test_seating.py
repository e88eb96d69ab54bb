"""Seating suggestion: the day's forecast residents through the simulator, each served at the
speed its staff member has measured; a slow hand at a busy window is moved."""

from __future__ import annotations

import dataclasses
import datetime as dt

from dispatcher.domain.config import SkillLevel, Staff
from dispatcher.domain.seating import forecast_arrivals, suggest_seating

from .helpers import small_config

DAY = dt.date(2026, 11, 30)


def test_forecast_residents_spread_over_the_hours_and_businesses_in_their_shares() -> None:
    hours = [0.0] * 24
    hours[9], hours[10] = 3.0, 1.0
    arrivals = forecast_arrivals(40, {"a": 0.75, "b": 0.25}, hours, {"a": 120.0})
    assert len(arrivals) == 40
    assert sum(1 for a in arrivals if a.at_s < 10 * 3600) == 30
    assert [a.service_id for a in arrivals].count("a") == 30
    assert {a.duration_s for a in arrivals if a.service_id == "b"} == {300.0}  # no median
    assert arrivals == sorted(arrivals, key=lambda a: a.at_s)


def test_a_slow_hand_gives_way_to_a_faster_one_without_a_window() -> None:
    config = small_config()
    spare = Staff("s9", "替", SkillLevel.CAN, {})
    config = dataclasses.replace(config, staff=(*config.staff, spare))
    hours = [0.0] * 24
    hours[9] = hours[10] = 1.0
    arrivals = forecast_arrivals(90, {"sb-card": 1.0}, hours, {"sb-card": 360.0})
    ratios = {("s1", "sb-card"): 3.0}  # s1 takes three times the center's time
    result = suggest_seating(config, arrivals, ratios, DAY, rounds=1)
    assert result["configured"]["seating"]["1"] == "s1"
    assert result["suggested"]["seating"]["1"] != "s1"
    assert "s9" in result["suggested"]["seating"].values()
    assert result["suggested"]["service_level"] > result["configured"]["service_level"]
    assert result["moves"] and result["moves"][0]["from"] == "s1"
    nobody = suggest_seating(config, arrivals, ratios, DAY, rounds=1,
                             available=["s2", "s3", "s4"])
    assert nobody["configured"]["seating"]["1"] is None  # s1 is away: window 1 closed
