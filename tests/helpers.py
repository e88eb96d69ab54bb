"""Small configs and a driver for the pure core, shared by the tests."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

from dispatcher.domain import commands as c
from dispatcher.domain.config import Config
from dispatcher.domain.core import Outcome, QueueCore
from qms.config import QmsConfig, parse_config

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_9 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)

SMALL_TOML = """
[center]
name = "测试中心"

[policy]
POLICY

[green_channel]
services = ["cl-lxk"]
max_wait_min = 20
[[green_channel.schedule]]
days = ["mon"]
start = "09:00"
end = "11:00"

[[departments]]
id = "yb"
name = "医保"
prefix = "A"
[[departments.services]]
id = "yb-dabing"
name = "医保大病登记"
minutes = 4
short_high_freq = true
materials = ["身份证"]
[[departments.services]]
id = "yb-jilu"
name = "更换就医记录册"
minutes = 3
short_high_freq = true
materials = ["医保卡"]
[[departments.services]]
id = "yb-baoxiao"
name = "医疗费报销"
minutes = 15
materials = ["发票"]

[[departments]]
id = "sb"
name = "社保"
prefix = "B"
[[departments.services]]
id = "sb-card"
name = "社保卡申领"
minutes = 10
materials = ["身份证", "照片"]

[[departments]]
id = "cl"
name = "残联"
prefix = "E"
[[departments.services]]
id = "cl-lxk"
name = "聋信卡套餐办理"
minutes = 10
materials = ["残疾人证"]

[[departments]]
id = "zf"
name = "住房保障"
prefix = "G"
[[departments.services]]
id = "zf-lianzu"
name = "廉租住房申请"
minutes = 30
materials = ["户口簿"]

[[windows]]
number = 1
green = true
staff = "s1"
[[windows]]
number = 2
green = true
staff = "s2"
[[windows]]
number = 3
staff = "s3"
[[windows]]
number = 4
staff = "s4"

[[staff]]
id = "s1"
name = "甲"
[[staff]]
id = "s2"
name = "乙"
[[staff]]
id = "s3"
name = "丙"
skills = { zf = "preferred" }
[[staff]]
id = "s4"
name = "丁"
default = "can"
skills = { zf = "cannot", cl = "low" }

[[devices]]
name = "kiosk-1"
role = "kiosk"
token = "test-kiosk-token"
[[devices]]
name = "hall"
role = "caller"
windows = [1, 2, 3, 4]
token = "test-hall-token"
[[devices]]
name = "desk-3"
role = "caller"
windows = [3]
token = "test-desk3-token"
[[devices]]
name = "screen"
role = "display"
token = "test-screen-token"
[[devices]]
name = "boss"
role = "admin"
token = "test-admin-token"
"""

KIOSK = "test-kiosk-token"
HALL = "test-hall-token"
DESK3 = "test-desk3-token"
SCREEN = "test-screen-token"
ADMIN = "test-admin-token"


DEFAULT_POLICY: dict[str, Any] = {
    "short_threshold": 2, "starvation_max_wait_min": 60, "double_press_s": 3,
}


def small_config(**policy: Any) -> QmsConfig:
    """The small test center; `policy` overrides keys of [policy] (rules=[...] etc.)."""
    lines = []
    for key, value in {**DEFAULT_POLICY, **policy}.items():
        if isinstance(value, list | tuple):
            value = "[" + ", ".join(f'"{v}"' for v in value) + "]"
        lines.append(f"{key} = {value}")
    return parse_config(SMALL_TOML.replace("POLICY", "\n".join(lines)), source="small.toml")


class Desk:
    """Drives a QueueCore the way devices would, with its own clock and request ids."""

    def __init__(self, config: Config | None = None, now: dt.datetime = MONDAY_9) -> None:
        self.config = config or small_config()
        self.core = QueueCore(self.config)
        self.now = now
        self.log: list[Any] = []
        self._ids = itertools.count(1)

    def rid(self) -> str:
        return f"r{next(self._ids)}"

    def advance(self, seconds: float = 0, minutes: float = 0) -> None:
        self.now += dt.timedelta(seconds=seconds, minutes=minutes)

    def run(self, command: c.Command) -> Outcome:
        outcome = self.core.handle(command, self.now)
        self.log.extend(outcome.events)
        return outcome

    def issue(self, service_id: str, **kw: Any) -> dict[str, Any]:
        reply = self.run(c.IssueTicket(request_id=self.rid(), service_id=service_id, **kw)).reply
        ticket: dict[str, Any] = reply["ticket"]
        return ticket

    def call(self, window: int) -> str | None:
        """Call next at a window (after the guard interval); the number called, or None."""
        self.advance(seconds=5)
        ticket = self.run(c.CallNext(request_id=self.rid(), window=window)).reply["ticket"]
        return None if ticket is None else str(ticket["number"])
