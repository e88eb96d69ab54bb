"""The `qms` command line (see PROTOCOL.md for the subcommands and their options)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from base.fonts import FONT_HINT, find_font
from base.logs import setup_logging
from base.paths import state_dir
from dispatcher import __version__
from dispatcher.domain.simulate import DEFAULT_DAY, POLICIES, ArrivalsError, read_arrivals, simulate
from qms.config import ConfigError, QmsConfig, default_config_path, load_config, load_or_report

EXIT_INVALID = 2


def _config_and_db(parser: argparse.ArgumentParser) -> None:
    """--config and --db, as every command on the dispatcher's database takes them."""
    parser.add_argument("--config", type=Path, default=None,
                        help="config file (default: the shipped examples/center.toml)")
    parser.add_argument("--db", type=Path, default=None,
                        help="the dispatcher's database (default: as qms dispatcher)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qms",
        description="排队叫号系统 — queue management for community affairs service centers",
    )
    parser.add_argument("--version", action="version", version=f"qms {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    disp = sub.add_parser("dispatcher", help="the LAN service that owns the queue")
    disp.add_argument("--config", type=Path, default=None,
                      help="config file (default: the shipped examples/center.toml)")
    disp.add_argument("--db", type=Path, default=None,
                      help="SQLite database (default: $STATE_DIRECTORY/qms.db, else beside "
                           "the config)")
    disp.add_argument("--listen", default=None, metavar="HOST:PORT",
                      help="address to serve (default 127.0.0.1:8470)")

    kiosk = sub.add_parser("kiosk", help="the touchscreen ticket app (pygame)")
    kiosk.add_argument("--config", type=Path, default=None,
                       help="config file (default: the shipped examples/center.toml)")
    kiosk.add_argument("--dispatcher", default=None, metavar="URL",
                       help="the dispatcher's base URL (overrides [kiosk] dispatcher)")
    kiosk.add_argument("--windowed", type=_size, default=None, metavar="WxH",
                       help="run in a window of this size instead of fullscreen")
    kiosk.add_argument("--residents", type=float, default=None, metavar="SECONDS",
                       help="demo: a simulated resident takes a number about every SECONDS")

    display = sub.add_parser("display", help="the hall screen, caller buttons and voice")
    display.add_argument("--config", type=Path, default=None,
                         help="config file (default: the shipped examples/center.toml)")
    display.add_argument("--dispatcher", default=None, metavar="URL",
                         help="the dispatcher's base URL (overrides [display] dispatcher)")
    display.add_argument("--windowed", type=_size, default=None, metavar="WxH",
                         help="run in a window of this size instead of fullscreen")
    display.add_argument("--keyboard", action="store_true",
                         help="keys stand in for the caller buttons (demo)")

    bus = sub.add_parser("bus", help="the RS-485 bus master alone: window displays, keypads, "
                                     "rating pads")
    bus.add_argument("--config", type=Path, default=None,
                     help="config file (default: the shipped examples/center.toml)")
    bus.add_argument("--dispatcher", default=None, metavar="URL",
                     help="the dispatcher's base URL (default: [bus] dispatcher, else "
                          "[display] dispatcher)")
    bus.add_argument("--emulate", action="store_true",
                     help="run against emulated devices on a pseudo-terminal (demo, no "
                          "hardware): a panel in this terminal shows them and takes key presses")

    demo = sub.add_parser("demo", help="dispatcher, kiosk and hall screen on this computer")
    demo.add_argument("--residents", type=float, default=None, metavar="SECONDS",
                      help="simulated residents take numbers at the kiosk about every SECONDS")
    demo.add_argument("--state", type=Path, default=None,
                      help="state folder (default: examples/state)")
    demo.add_argument("--no-history", action="store_true",
                      help="no year of generated history for the reports (made once, in the "
                           "background, when the database has none)")
    demo.add_argument("--bus", action="store_true",
                      help="also emulate each window's display, keypad and rating pad on an "
                           "RS-485 bus, shown in this terminal (type c3 to call at window 3)")

    printer = sub.add_parser("printer", help="the ticket printer")
    printer_sub = printer.add_subparsers(dest="printer_command", metavar="ACTION", required=True)
    ptest = printer_sub.add_parser("test", help="print a sample ticket, or write its bytes")
    ptest.add_argument("--config", type=Path, default=None,
                       help="config file (default: the shipped examples/center.toml)")
    ptest.add_argument("--to", type=Path, default=None,
                       help="write the ESC/POS bytes to this file instead of printing")

    config = sub.add_parser("config", help="work with config files")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check", help="validate a config: exit 0 when valid, else 2 and one line per problem"
    )
    check.add_argument("file", type=Path)

    account = sub.add_parser("account", help="console accounts (managers and window staff)")
    account_sub = account.add_subparsers(dest="account_command", metavar="ACTION",
                                         required=True)
    for name, text in (("add", "create an account (asks for the password)"),
                       ("passwd", "set an account's password (its sessions end)"),
                       ("disable", "disable an account (its sessions end at once)"),
                       ("enable", "enable a disabled account"),
                       ("list", "list the accounts")):
        action = account_sub.add_parser(name, help=text)
        action.add_argument("--config", type=Path, default=None,
                            help="config file (default: the shipped examples/center.toml)")
        action.add_argument("--db", type=Path, default=None,
                            help="the dispatcher's database (default: as qms dispatcher)")
        if name != "list":
            action.add_argument("username")
        if name == "add":
            action.add_argument("--role", choices=("manager", "staff"), default="staff")
            action.add_argument("--staff-id", default=None,
                                help="the config's staff member (staff: default the user name)")
        if name in ("add", "passwd"):
            action.add_argument("--password-stdin", action="store_true",
                                help="read the password from standard input (for scripts)")

    appts = sub.add_parser("appointments", help="bookings from the city portal (预约)")
    appts_sub = appts.add_subparsers(dest="appointments_command", metavar="ACTION",
                                     required=True)
    imp = appts_sub.add_parser("import", help="import a portal export (CSV): all rows or none")
    _config_and_db(imp)
    imp.add_argument("csv", type=Path, metavar="CSV",
                     help="code,service_id,date,slot_start,slot_end,name,phone (UTF-8)")

    history = sub.add_parser("history", help="tickets of an older system, for the reports")
    history_sub = history.add_subparsers(dest="history_command", metavar="ACTION",
                                         required=True)
    himp = history_sub.add_parser("import", help="import a history export (CSV): all rows or "
                                                 "none")
    _config_and_db(himp)
    himp.add_argument("csv", type=Path, metavar="CSV",
                      help="date,number,service_id,issued_at,called_at,finished_at,window,"
                           "staff_id,outcome (UTF-8)")

    report = sub.add_parser("report", help="the monthly report (月度报表)")
    _config_and_db(report)
    report.add_argument("--month", required=True, metavar="YYYY-MM",
                        help="the month whose business days are reported")
    report.add_argument("--json", action="store_true",
                        help="print one JSON object (default: a readable summary)")

    wi = sub.add_parser("whatif", help="a past day again with another policy, threshold, "
                                       "window count or seating (推演)")
    _config_and_db(wi)
    wi.add_argument("--day", required=True, metavar="YYYY-MM-DD", help="the past day")
    wi.add_argument("--policy", choices=("center", "fifo"), default="center",
                    help="center: the config's rules; fifo: plain order of issue")
    wi.add_argument("--short-threshold", type=int, default=None, metavar="N",
                    help="the short-business threshold instead of the config's")
    wi.add_argument("--windows", type=int, default=None, metavar="N",
                    help="open N windows (fewer: the highest close; more: added, able to "
                         "do everything)")
    wi.add_argument("--seat", action="append", metavar="WINDOW=STAFF",
                    help="who sits at a window (WINDOW= closes it); repeatable")
    wi.add_argument("--json", action="store_true", help="print one JSON object")

    st = sub.add_parser("seating", help="who should sit at which window on a coming day "
                                        "(座位建议)")
    _config_and_db(st)
    st.add_argument("--day", required=True, metavar="YYYY-MM-DD", help="the coming day")
    st.add_argument("--staff", default=None, metavar="ID,ID,…",
                    help="who is at work that day (default: everyone in the config)")
    st.add_argument("--json", action="store_true", help="print one JSON object")

    fc = sub.add_parser("forecast", help="next month's tickets per day and business (预测)")
    _config_and_db(fc)
    fc.add_argument("--month", required=True, metavar="YYYY-MM",
                    help="the month to forecast, from the history before it")
    fc.add_argument("--json", action="store_true",
                    help="print one JSON object (default: a readable summary)")

    sim = sub.add_parser(
        "simulate", help="replay a day of arrivals through the real calling policy"
    )
    sim.add_argument("--config", type=Path, default=None,
                     help="config file (default: the shipped examples/center.toml)")
    sim.add_argument("--arrivals", type=Path, required=True,
                     help="CSV with columns time (HH:MM:SS), service_id, duration_s")
    sim.add_argument("--policy", choices=POLICIES, default="center",
                     help="center: the configured rules; fifo: plain order of issue")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--date", type=dt.date.fromisoformat, default=DEFAULT_DAY,
                     help=f"the day simulated, YYYY-MM-DD (default {DEFAULT_DAY}, a Monday)")
    sim.add_argument("--json", action="store_true",
                     help="print one JSON object (the only output format so far)")
    return parser


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, not {text!r}") from None
    if w < 320 or h < 240:
        raise argparse.ArgumentTypeError("the window must be at least 320x240")
    return w, h


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "config":
        return _config_check(args.file)
    setup_logging()
    path: Path = getattr(args, "config", None) or default_config_path()
    config = load_or_report(path)
    if config is None:
        return EXIT_INVALID
    if args.command == "simulate":
        return _simulate(config, args)
    if args.command == "kiosk":
        return _kiosk(config, path, args)
    if args.command == "display":
        return _display(config, path, args)
    if args.command == "bus":
        from bus.run import run_bus

        url = args.dispatcher or config.bus.dispatcher or config.display.dispatcher
        return run_bus(config, config.bus, url, config.display.caller_device,
                       emulate=args.emulate, highlight_s=config.display.highlight_s,
                       stdin=sys.stdin if args.emulate else None)
    if args.command == "demo":
        from qms.demo import run_demo

        return run_demo(residents_s=args.residents, state=args.state, bus=args.bus,
                        history=not args.no_history)
    if args.command == "printer":
        from kiosk.ticket import sample_ticket
        from printer.cli import printer_test

        return printer_test(config.printer, sample_ticket(config, config.printer),
                            state_dir(path), args.to)
    if args.command == "appointments":
        from qms.appointments import appointments_command

        return appointments_command(config, path, args)
    if args.command == "history":
        from qms.history import history_command

        return history_command(config, path, args)
    if args.command == "report":
        from qms.history import report_command

        return report_command(config, path, args)
    if args.command == "whatif":
        from qms.history import whatif_command

        return whatif_command(config, path, args)
    if args.command == "seating":
        from qms.history import seating_command

        return seating_command(config, path, args)
    if args.command == "forecast":
        from qms.history import forecast_command

        return forecast_command(config, path, args)
    if args.command == "account":
        from qms.accounts import account_command

        return account_command(config, path, args)
    if args.command == "dispatcher":
        from dispatcher.server.main import default_db_path, run_dispatcher  # aiohttp: serving

        return run_dispatcher(config, args.db or default_db_path(path), args.listen,
                              _shipped_tokens())
    raise AssertionError(args.command)  # argparse only lets known commands through


def _shipped_tokens() -> frozenset[str]:
    """The example config's device tokens: never to be used off loopback."""
    try:
        return frozenset(d.token for d in load_config(default_config_path()).devices)
    except ConfigError:
        return frozenset()


def _screen_font(config: QmsConfig) -> Path | None:
    font = find_font(config.printer.font)
    if font is None:
        print(f"no CJK font for the screen: {FONT_HINT}", file=sys.stderr)
    return font


def _kiosk(config: QmsConfig, path: Path, args: argparse.Namespace) -> int:
    from kiosk.app import run_kiosk

    settings = config.kiosk
    if args.dispatcher:
        settings = dataclasses.replace(settings, dispatcher=args.dispatcher)
    if args.windowed:
        settings = dataclasses.replace(settings, fullscreen=False, width=args.windowed[0],
                                       height=args.windowed[1])
    font = _screen_font(config)
    if font is None:
        return EXIT_INVALID
    return run_kiosk(config, settings, config.printer, state=state_dir(path), font=font,
                     residents_s=args.residents)


def _display(config: QmsConfig, path: Path, args: argparse.Namespace) -> int:
    from display.app import run_display

    settings = config.display
    if args.dispatcher:
        settings = dataclasses.replace(settings, dispatcher=args.dispatcher)
    if args.windowed:
        settings = dataclasses.replace(settings, fullscreen=False, width=args.windowed[0],
                                       height=args.windowed[1])
    if args.keyboard:
        settings = dataclasses.replace(settings, keyboard=True)
    font = _screen_font(config)
    if font is None:
        return EXIT_INVALID
    return run_display(config, settings, state=state_dir(path), font=font, bus=config.bus)


def _config_check(path: Path) -> int:
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{path}: {len(exc.problems)} problem(s)", file=sys.stderr)
        return EXIT_INVALID
    print(
        f"{path}: ok — {len(config.departments)} departments, {len(config.services)} businesses "
        f"({sum(s.short_high_freq for s in config.services.values())} short high-frequency), "
        f"{len(config.windows)} windows (green: "
        f"{', '.join(map(str, config.green_windows)) or 'none'}), "
        f"{len(config.staff)} staff, {len(config.devices)} devices"
    )
    return 0


def _simulate(config: QmsConfig, args: argparse.Namespace) -> int:
    try:
        text = args.arrivals.read_text(encoding="utf-8")
        arrivals = read_arrivals(text, config, source=str(args.arrivals))
    except OSError as exc:
        print(f"{args.arrivals}: cannot read: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INVALID
    except ArrivalsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_INVALID
    result = simulate(config, arrivals, policy=args.policy, seed=args.seed, day=args.date)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
