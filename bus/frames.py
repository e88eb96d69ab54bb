"""What each bus device shows, from the queue state: a pure function of state and time."""

from __future__ import annotations

from dataclasses import dataclass

from bus.registers import Mode, encode_text
from dispatcher.domain.model import QueueState, WindowState, WindowStatus


@dataclass(frozen=True)
class DisplayFrame:
    """A window display's content: 16 bytes of text and a mode."""

    text: str
    mode: Mode

    def registers(self) -> list[int]:
        """Holding 0–8 at once (function 16)."""
        return [*encode_text(self.text if self.mode is not Mode.OFF else ""), int(self.mode)]


OFF = DisplayFrame("", Mode.OFF)


def window_closed(window: WindowState) -> bool:
    """Nobody signed in and nobody being served: the display is dark."""
    return window.staff_id is None and window.current is None


def window_frame(state: QueueState, n: int, highlighted: bool) -> DisplayFrame:
    """The display above window `n`: its number with 预约/手语 marks, blinking while the call
    is fresh; 暂停服务 while paused; the window's name when idle; off when closed or unknown."""
    window = state.windows.get(n)
    if window is None or window_closed(window):
        return OFF
    if window.status is WindowStatus.PAUSED:
        return DisplayFrame("暂停服务", Mode.STEADY)
    ticket = state.tickets.get(window.current) if window.current else None
    if ticket is None:
        return DisplayFrame(f"{n}号窗口", Mode.STEADY)
    marks = [ticket.number]
    if ticket.appointment_code:
        marks.append("预约")
    if ticket.sign_language:
        marks.append("手语")
    return DisplayFrame(" ".join(marks), Mode.BLINK if highlighted else Mode.STEADY)


def answer_text(verb: str, number: str | None) -> str:
    """A keypad's own display after a press was answered."""
    if verb == "call-next":
        return f"叫号 {number}" if number else "无人等候"
    if verb == "recall":
        return f"重呼 {number}"
    if verb == "no-show":
        return f"过号 {number}"
    if verb == "pause":
        return "已暂停"
    if verb == "resume":
        return "已恢复"
    return verb


def error_text(status: int, code: str) -> str:
    """A refusal on the keypad's display: `E409 nothing_to_recall` cut to 16 bytes."""
    return f"E{status} {code}" if status else f"E {code}"
