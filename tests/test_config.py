"""Config loading and `qms config check`: valid example, every problem listed in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatcher.domain.config import SkillLevel
from qms.cli import main
from qms.config import ConfigError, load_config, parse_config

from .helpers import SMALL_TOML, small_config

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"


def test_example_config_is_a_full_center() -> None:
    config = load_config(EXAMPLE)
    assert len(config.departments) == 12
    assert 180 <= len(config.services) <= 200
    short = [s for s in config.services.values() if s.short_high_freq]
    assert 15 <= len(short) <= 30
    assert {"yibao-dabing", "yibao-jiuyi-jilu-ce"} <= {s.id for s in short}
    assert config.services["canlian-longxinka"].name == "聋信卡套餐办理"
    assert config.green_channel.service_ids == ("canlian-longxinka",)
    assert [w.number for w in config.windows] == list(range(1, 9))
    assert config.green_windows == (1, 2)
    assert config.policy.short_threshold == 2
    assert all(s.materials and s.minutes > 0 for s in config.services.values())
    prefixes = [d.prefix for d in config.departments]
    assert len(set(prefixes)) == 12
    roles = {d.name: d.role for d in config.devices}
    assert roles["kiosk-1"] == "kiosk" and roles["hall"] == "caller"
    narrow = config.staff_member("s08")
    assert narrow.level("yibao-dabing") == SkillLevel.CAN
    assert narrow.level("zhufang-lianzu-shenqing") == SkillLevel.CANNOT


def test_qms_config_check_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(EXAMPLE)]) == 0
    assert "ok" in capsys.readouterr().out


BROKEN = (
    SMALL_TOML
    .replace('id = "sb-card"', 'id = "yb-dabing"')  # duplicate business id
    .replace("number = 4\n", "number = 3\n")  # window number used twice
    .replace('skills = { zf = "preferred" }', 'skills = { zf = "preferred", xx = "can" }')
    .replace('services = ["cl-lxk"]', 'services = ["cl-nothing"]')
    .replace('start = "09:00"', 'start = "11:30"')  # after its end
    .replace('role = "kiosk"', 'role = "toaster"')
    .replace("windows = [1, 2, 3, 4]", "windows = [1, 9]")
    .replace("POLICY", "short_threshold = -1\nrules = [\"skills\", \"luck\"]")
)


def test_a_broken_config_lists_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(BROKEN, source="broken.toml")
    text = "\n".join(err.value.problems)
    expected = [
        "duplicate service id 'yb-dabing'",
        "window number 3 is used twice",
        "skills.xx: unknown business or department 'xx'",
        "green_channel.services: unknown business 'cl-nothing'",
        "bad time range: start 11:30 is not before end 11:00",
        "unknown role 'toaster'",
        "unknown window 9",
        "short_threshold: must be at least 0, not -1",
        "unknown rule 'luck'",
    ]
    for fragment in expected:
        assert fragment in text, fragment
    assert len(err.value.problems) == len(expected)
    assert all(p.startswith("broken.toml: ") for p in err.value.problems)


def test_qms_config_check_exits_2_with_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 9 + 1  # nine problems and the count
    assert err[-1].endswith("9 problem(s)")


def test_toml_syntax_errors_name_the_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[center]\nname = "x"\nday_start = 04:00 oops\n', encoding="utf-8")
    assert main(["config", "check", str(path)]) == 2
    assert "line 3" in capsys.readouterr().err


def test_a_missing_file_is_a_clear_error(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fragment", "replacement", "message"),
    [
        ('prefix = "A"', 'prefix = "AA"', "must be one capital letter"),
        ('prefix = "B"', 'prefix = "A"', "prefix 'A' is already used"),
        ('id = "yb"', 'id = "Yb Dept"', "is not a valid id"),
        ("minutes = 4", "minutes = 0", "minutes: must be at least 1"),
        ("minutes = 4", 'minutes = "4"', "minutes: must be a whole number"),
        ('name = "甲"', 'name = "甲"\ndefault = "expert"', "must be one of cannot, low"),
        ('staff = "s1"', 'staff = "s99"', "unknown staff member 's99'"),
        ('days = ["mon"]', 'days = ["monday"]', "unknown day 'monday'"),
        ('token = "test-kiosk-token"', 'token = "short"', "at least 8 characters"),
        ('token = "test-kiosk-token"', 'token = "test-hall-token"', "same token"),
        ("green = true\nstaff = \"s1\"", "green = 1\nstaff = \"s1\"", "must be true or false"),
        ("[center]", "[centre]\n[center]", "unknown key 'centre'"),
        ('end = "11:00"', 'end = "25:00"', "must be a time of day"),
    ],
)
def test_each_kind_of_mistake_is_named(fragment: str, replacement: str, message: str) -> None:
    text = SMALL_TOML.replace("POLICY", "").replace(fragment, replacement, 1)
    assert text != SMALL_TOML.replace("POLICY", "")
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert any(message in p for p in err.value.problems), err.value.problems


def test_department_skills_expand_and_service_entries_override() -> None:
    text = SMALL_TOML.replace("POLICY", "").replace(
        'skills = { zf = "cannot", cl = "low" }',
        'skills = { yb = "preferred", yb-baoxiao = "low" }',
    )
    staff = parse_config(text).staff_member("s4")
    assert staff.level("yb-dabing") == SkillLevel.PREFERRED
    assert staff.level("yb-baoxiao") == SkillLevel.LOW
    assert staff.level("sb-card") == SkillLevel.CAN


def test_defaults_fill_the_optional_sections() -> None:
    config = small_config()
    assert config.center.timezone == "Asia/Shanghai"
    assert config.center.day_start.hour == 4
    assert config.policy.rules == (
        "transferred", "starvation", "green_channel", "short_high_freq", "appointment", "skills"
    )
