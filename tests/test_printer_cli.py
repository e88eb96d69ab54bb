"""`qms printer test` and the [printer] section of the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.fonts import find_font
from qms.cli import main
from qms.config import ConfigError, parse_config

from .escpos_walker import walk
from .helpers import SMALL_TOML

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"


def test_printer_test_writes_the_sample_tickets_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t.bin"
    assert main(["printer", "test", "--config", str(EXAMPLE), "--to", str(out)]) == 0
    assert "bytes of ESC/POS" in capsys.readouterr().out
    w = walk(out.read_bytes(), "gb18030")
    texts = [line.text for line in w.lines]
    assert "宝山路街道社区事务受理服务中心" in texts and "医保大病登记" in texts
    assert "办理窗口：1～8 号" in texts  # the windows as configured at the start of a day
    assert w.qr_payloads and w.qr_payloads[0].startswith(b"QMS:")
    assert w.cuts == 1


@pytest.mark.skipif(find_font() is None, reason="no CJK font")
def test_printer_test_on_the_fake_printer_writes_bytes_and_a_preview(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    assert main(["printer", "test", "--config", str(EXAMPLE)]) == 0
    assert "printed a sample ticket" in capsys.readouterr().out
    assert (tmp_path / "printer" / "0001.bin").exists()
    assert (tmp_path / "printer" / "0001.png").stat().st_size > 1000


def test_printer_test_reports_an_unreachable_printer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(SMALL_TOML.replace("POLICY", "") + '\n[printer]\ntransport = "serial"\n'
                      'serial = "/dev/ttyQMS-none"\n', encoding="utf-8")
    assert main(["printer", "test", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "not printed" in err and "ttyQMS-none" in err


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('transport = "bluetooth"', "unknown transport 'bluetooth'"),
        ("dots = 500", "must be 384 (58 mm) or 576 (80 mm)"),
        ('encoding = "utf-8"', "must be gb18030 or gbk"),
        ('mode = "pdf"', "must be native or raster"),
        ('transport = "usb"', "the usb transport needs usb"),
        ('transport = "usb"\nusb = "printer"', "must be VID:PID"),
        ('transport = "network"', "the network transport needs host"),
        ('materials = ["nope"]', "unknown business 'nope'"),
        ('flow = "rtscts"', "must be none, xonxoff or dsrdtr"),
        ("papr = 1", "unknown key 'papr'"),
    ],
)
def test_printer_config_mistakes_are_named(section: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(SMALL_TOML.replace("POLICY", "") + "\n[printer]\n" + section + "\n")
    assert any(message in p for p in err.value.problems), err.value.problems


def test_materials_can_be_printed_for_some_businesses_only() -> None:
    config = parse_config(SMALL_TOML.replace("POLICY", "") + '\n[printer]\nmaterials = '
                          '["zf-lianzu"]\n')
    assert config.printer.prints_materials("zf-lianzu")
    assert not config.printer.prints_materials("sb-card")


def test_a_ticket_prints_the_windows_of_the_answer_else_those_of_the_mirror() -> None:
    import datetime as dt

    from dispatcher.domain import commands as c
    from dispatcher.domain.core import QueueCore
    from kiosk.ticket import ticket_data
    from qms.config import load_config

    config = load_config(EXAMPLE)
    core = QueueCore(config)
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=config.center.tz)
    core.handle(c.SignIn(request_id="s08", window=1, staff_id="s08"), now)
    reply = core.handle(c.IssueTicket(request_id="t", service_id="minzheng-dibao"), now).reply
    assert ticket_data(config, config.printer, reply).windows == (2, 3, 4, 5, 6, 7)
    old = {k: v for k, v in reply.items() if k != "windows"}  # a dispatcher before `windows`
    assert ticket_data(config, config.printer, old, state=core.state).windows == (
        2, 3, 4, 5, 6, 7)
    assert ticket_data(config, config.printer, old).windows == (1, 2, 3, 4, 5, 6, 7)
