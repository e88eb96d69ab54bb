"""`qms simulate`: the PROTOCOL.md JSON, both policies, determinism, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dispatcher.domain.simulate import ArrivalsError, read_arrivals, simulate
from qms.cli import main
from qms.config import load_config

from .helpers import small_config

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLASS_KEYS = {"tickets", "mean_wait_s", "p90_wait_s", "max_wait_s"}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["simulate", *args]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one JSON object on one line
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.parametrize("policy", ["center", "fifo"])
def test_simulate_prints_the_protocol_json(
    capsys: pytest.CaptureFixture[str], policy: str
) -> None:
    result = run_cli(
        capsys, "--config", str(EXAMPLES / "center.toml"),
        "--arrivals", str(EXAMPLES / "arrivals-peak.csv"), "--policy", policy, "--json",
    )
    rows = (EXAMPLES / "arrivals-peak.csv").read_text().strip().count("\n")
    assert result["policy"] == policy
    assert result["tickets"] == rows
    assert result["windows"] == 8
    for key in ("mean_wait_s", "p90_wait_s", "max_wait_s"):
        assert isinstance(result[key], float)
    by_class = result["by_class"]
    assert isinstance(by_class, dict)
    assert set(by_class) == {"short_high_freq", "other"}
    assert all(set(v) == CLASS_KEYS for v in by_class.values())
    assert sum(v["tickets"] for v in by_class.values()) == rows
    assert result["unserved"] == 0
    mean, p90, top = result["mean_wait_s"], result["p90_wait_s"], result["max_wait_s"]
    assert isinstance(mean, float) and isinstance(p90, float) and isinstance(top, float)
    assert 0 < mean <= top and p90 <= top


def test_fifo_calls_in_plain_order_only_and_center_uses_its_rules() -> None:
    config = load_config(EXAMPLES / "center.toml")
    arrivals = read_arrivals((EXAMPLES / "arrivals-peak.csv").read_text(), config)
    fifo = simulate(config, arrivals, "fifo")
    center = simulate(config, arrivals, "center")
    assert set(fifo["calls_by_rule"]) == {"plain"}
    assert center["calls_by_rule"].get("short_high_freq", 0) > 0
    # The diversion is the point: short business waits less at the peak.
    assert (center["by_class"]["short_high_freq"]["mean_wait_s"]
            < fifo["by_class"]["short_high_freq"]["mean_wait_s"])


def test_simulation_is_deterministic_for_a_seed() -> None:
    config = load_config(EXAMPLES / "center.toml")
    arrivals = read_arrivals((EXAMPLES / "arrivals-quiet.csv").read_text(), config)
    assert simulate(config, arrivals, "center", seed=7) == simulate(config, arrivals, "center",
                                                                   seed=7)


def test_a_lone_resident_never_waits() -> None:
    config = small_config()
    arrivals = read_arrivals("time,service_id,duration_s\n09:00:00,sb-card,600\n", config)
    result = simulate(config, arrivals)
    assert result["tickets"] == 1 and result["max_wait_s"] == 0.0


def test_waits_follow_from_service_times() -> None:
    # One window, two residents at once, the first served for 10 minutes.
    config = small_config(rules=[])
    one_window = config.__class__(
        center=config.center, departments=config.departments, windows=config.windows[2:3],
        staff=config.staff, policy=config.policy, green_channel=config.green_channel,
    )
    csv_text = "time,service_id,duration_s\n09:00:00,sb-card,600\n09:00:00,sb-card,300\n"
    result = simulate(one_window, read_arrivals(csv_text, one_window))
    assert result["max_wait_s"] == 600.0
    assert result["mean_wait_s"] == 300.0


def test_bad_arrivals_list_every_bad_row() -> None:
    text = (
        "time,service_id,duration_s\n"
        "09:00:00,sb-card,600\n"
        "9h,sb-card,600\n"
        "09:01:00,nope,600\n"
        "09:02:00,sb-card,-5\n"
        "09:03:00,sb-card,abc\n"
    )
    with pytest.raises(ArrivalsError) as err:
        read_arrivals(text, small_config(), source="a.csv")
    assert [p.split(":")[1].strip() for p in err.value.problems] == [
        "line 3", "line 4", "line 5", "line 6"
    ]


def test_missing_columns_are_named() -> None:
    with pytest.raises(ArrivalsError, match="duration_s"):
        read_arrivals("time,service_id\n09:00:00,sb-card\n", small_config())


def test_cli_reports_bad_arrivals_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("time,service_id,duration_s\n09:00:00,nope,60\n", encoding="utf-8")
    assert main(["simulate", "--arrivals", str(path), "--json"]) == 2
    assert "unknown business 'nope'" in capsys.readouterr().err


def test_booked_arrivals_check_in_and_their_waits_are_reported_apart() -> None:
    from dispatcher.domain.simulate import ArrivalsError, read_arrivals, simulate

    config = small_config()
    text = ("time,service_id,duration_s,appointment\n"
            "09:00:00,sb-card,600,\n"
            "09:00:10,sb-card,600,\n"
            "09:00:20,sb-card,600,\n"
            "09:00:30,sb-card,600,\n"
            "09:00:40,sb-card,600,\n"
            "09:01:00,sb-card,600,09:00\n")
    arrivals = read_arrivals(text, config)
    assert [a.slot_s for a in arrivals][-1] == 9 * 3600
    result = simulate(config, arrivals)
    assert result["appointments"]["tickets"] == 1 and result["walk_ins"]["tickets"] == 5
    # 4 windows: the booked resident goes first once a window is free (not behind the 5th).
    assert result["appointments"]["max_wait_s"] < result["walk_ins"]["max_wait_s"]
    assert result["calls_by_rule"].get("appointment") == 1
    plain = simulate(config, read_arrivals(text.replace(",09:00\n", ",\n"), config))
    assert "appointments" not in plain
    with pytest.raises(ArrivalsError, match="appointment must be HH:MM"):
        read_arrivals(text.replace(",09:00\n", ",nine\n"), config)


def test_the_example_booked_peak_morning_is_the_peak_with_some_residents_booked() -> None:
    from pathlib import Path

    here = Path(__file__).resolve().parent.parent / "examples"
    plain = (here / "arrivals-peak.csv").read_text().splitlines()
    booked = (here / "arrivals-peak-booked.csv").read_text().splitlines()
    assert len(plain) == len(booked)
    assert [ln.rsplit(",", 1)[0] for ln in booked[1:]] == plain[1:]
    assert sum(1 for ln in booked[1:] if not ln.endswith(",")) >= 10
