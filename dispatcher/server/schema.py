"""The LAN API's bodies and query parameters, declared once as msgspec types.

The server decodes every request body and query into these types (that is its validation),
and `/openapi.json` is derived from them (`msgspec.json.schema_components`), so the document
says exactly what the server accepts. Unknown body fields are ignored (only `TicketQuery`
refuses unknown parameters, as the server does). `null` in an optional field means the same
as leaving it out. The answer types describe what the server sends; their objects may carry
more fields than listed.
"""

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from base.errors import ErrorCode
from dispatcher.domain.core import MAX_REQUEST_ID
from dispatcher.domain.model import GreenChannelMode, TicketStatus, WindowStatus

# No control character (C0, DEL, C1) anywhere. `(?![\s\S])` is the end of the text for both
# ECMA-262 (the schema's dialect) and Python's `re` (msgspec's), where `$` would also match
# before a final newline.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f]*(?![\s\S])"
MAX_ID = 64
MAX_WINDOW = 999  # the config's limit for window numbers
MAX_SEQ = 10**15 - 1

RequestId = Annotated[str, Meta(
    min_length=1, max_length=MAX_REQUEST_ID, pattern=NO_CONTROL_CHARACTERS,
    description=f"client-chosen, 1–{MAX_REQUEST_ID} characters, no control characters; "
                "repeating a request with it returns the first answer and changes nothing",
)]
ServiceId = Annotated[str, Meta(min_length=1, max_length=MAX_ID,
                                description="a business of the catalog")]
StaffId = Annotated[str, Meta(min_length=1, max_length=MAX_ID,
                              description="a staff member of the config")]
WindowNumber = Annotated[int, Meta(ge=1, le=MAX_WINDOW,
                                   description="a window number, written without a fraction")]
Timestamp = Annotated[dt.datetime, Meta(tz=True, description="ISO 8601 with offset")]
Score = Annotated[Literal[1, 2, 3, 4, 5], Meta(
    description="好差评: 1 非常满意, 2 满意, 3 基本满意, 4 不满意, 5 非常不满意")]
MAX_BUS_DEVICES = 256
# The bus master's numbers: whole numbers, and (as JSON Schema has it) 3.0 is 3.
BusAddress = Annotated[float, Meta(ge=1, le=247, multiple_of=1,
                                   description="Modbus address 1–247, a whole number")]
BusWindow = Annotated[float, Meta(ge=1, le=MAX_WINDOW, multiple_of=1,
                                  description="the window the device belongs to")]
ErrorCount = Annotated[float, Meta(ge=0, le=10**9, multiple_of=1,
                                   description="failed transactions since the master started")]


class PrintStatus(StrEnum):
    """Whether the ticket's paper came out, as the kiosk reported it."""

    PENDING = "pending"  # not reported yet
    PRINTED = "printed"
    FAILED = "failed"


# -- request bodies ---------------------------------------------------------------------------


class Mutation(msgspec.Struct, kw_only=True):
    """A request that changes state: only its request id."""

    request_id: RequestId


class IssueTicketRequest(Mutation, kw_only=True):
    """Take a ticket for a business, or check in an appointment (then `service_id` may be
    left out; if given it must be the booking's)."""

    service_id: ServiceId | None = None
    sign_language: bool | None = None
    appointment_code: Annotated[str, Meta(max_length=32)] | None = None


class PrintReportRequest(Mutation, kw_only=True):
    """The kiosk reports whether the ticket's paper came out."""

    printed: bool
    error: Annotated[str, Meta(max_length=200)] | None = None


class CancelTicketRequest(Mutation, kw_only=True):
    """Cancel a waiting ticket."""

    reason: Annotated[str, Meta(max_length=100)] | None = None


class WindowRequest(Mutation, kw_only=True):
    """A caller verb at a window (call-next, recall, no-show, pause, resume)."""


class TransferRequest(Mutation, kw_only=True):
    """Send the window's current ticket to another business and/or window."""

    service_id: ServiceId | None = None
    window: WindowNumber | None = None


class SignInRequest(Mutation, kw_only=True):
    """Who sits at the window; `staff_id` null (or left out) signs the window's staff out."""

    staff_id: StaffId | None = None


class GreenChannelRequest(Mutation, kw_only=True):
    """The manager's switch for the green channel."""

    mode: GreenChannelMode


class IssuingRequest(Mutation, kw_only=True):
    """The manager closes ticket issuing for the rest of the day (open: false) or reopens it."""

    open: bool


class ReprintRequest(Mutation, kw_only=True):
    """Print a ticket again at this kiosk (a device name of the config)."""

    kiosk: Annotated[str, Meta(min_length=1, max_length=64)]


class RatingRequest(Mutation, kw_only=True):
    """A resident's 好差评 score."""

    score: Score


class BusKind(StrEnum):
    WINDOW_DISPLAY = "window_display"
    KEYPAD = "keypad"
    RATING_PAD = "rating_pad"


class BusState(StrEnum):
    OK = "ok"
    NO_ANSWER = "no_answer"
    CRC_ERRORS = "crc_errors"
    UNKNOWN = "unknown"  # not reached yet


class BusDevice(msgspec.Struct, kw_only=True, frozen=True):
    """One serial-bus device as its master last saw it."""

    address: BusAddress
    kind: BusKind
    window: BusWindow
    state: BusState
    errors: ErrorCount
    since: Timestamp | None = None  # when it entered this state


class BusHealthReport(msgspec.Struct, kw_only=True, frozen=True):
    """The bus master's periodic report (a state, not a request: no request id)."""

    cycle_ms: Annotated[float, Meta(ge=0, le=1e9, description="the last polling cycle")]
    devices: Annotated[list[BusDevice], Meta(max_length=MAX_BUS_DEVICES)]


TRANSFER_NEEDS = "a transfer needs a business or a window"
# The one rule the struct cannot state: service_id or window (not null), or both.
TransferBody = Annotated[TransferRequest, Meta(extra_json_schema={
    "description": TRANSFER_NEEDS + ": service_id, window or both",
    "anyOf": [
        {"required": ["service_id"], "properties": {"service_id": {"type": "string"}}},
        {"required": ["window"], "properties": {"window": {"type": "integer"}}},
    ],
})]


# -- query parameters -------------------------------------------------------------------------


class TicketQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GET /tickets: a day's tickets (default today), by status and print status."""

    date: dt.date | UnsetType = UNSET
    status: TicketStatus | UnsetType = UNSET
    print_status: PrintStatus | UnsetType = UNSET


class EventsQuery(msgspec.Struct, kw_only=True):
    """GET /events: resume after `since` if `epoch` is still the database's."""

    since: Annotated[int, Meta(ge=0, le=MAX_SEQ)] | UnsetType = UNSET
    epoch: str | UnsetType = UNSET


# -- answers ----------------------------------------------------------------------------------


class Ticket(msgspec.Struct, kw_only=True):
    """A ticket (TICKET of PROTOCOL.md)."""

    id: str
    number: str
    service_id: str
    status: TicketStatus
    issued_at: Timestamp
    sign_language: bool
    business_day: dt.date | None = None
    appointment_code: str | None = None
    window: int | None = None
    target_window: int | None = None
    called_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    calls: int = 0
    transfers: int = 0
    cancel_reason: str | None = None
    print_status: PrintStatus = PrintStatus.PENDING
    print_error: str | None = None
    order: int = 0
    rating: Score | None = None


class Window(msgspec.Struct, kw_only=True):
    """A window and the ticket it serves."""

    number: int
    green: bool
    status: WindowStatus
    current: Ticket | None
    staff_id: str | None = None


class Call(msgspec.Struct, kw_only=True):
    """A ticket called (or recalled) to a window (CALL of PROTOCOL.md)."""

    seq: int
    number: str
    window: int
    at: Timestamp
    recall: bool
    ticket_id: str | None = None
    service_id: str | None = None
    sign_language: bool = False


class State(msgspec.Struct, kw_only=True):
    """The queue as it is now (STATE of PROTOCOL.md)."""

    seq: int
    date: dt.date | None
    windows: list[Window]
    waiting: list[Ticket]
    recent_calls: list[Call]
    diversion_on: bool = False
    green_channel_mode: GreenChannelMode = GreenChannelMode.AUTO
    issuing_open: bool = True
    epoch: str = ""


class Health(msgspec.Struct, kw_only=True):
    status: Literal["ok"]
    version: str
    seq: int = 0
    epoch: str = ""


class Center(msgspec.Struct, kw_only=True):
    name: str
    name_en: str = ""


class Service(msgspec.Struct, kw_only=True):
    """A business (事项)."""

    id: str
    name: str
    prefix: str
    minutes: int
    short_high_freq: bool
    materials: list[str]
    name_en: str = ""


class Department(msgspec.Struct, kw_only=True):
    id: str
    name: str
    services: list[Service]
    name_en: str = ""
    prefix: str = ""


class CatalogWindow(msgspec.Struct, kw_only=True):
    number: int
    green: bool


class Catalog(msgspec.Struct, kw_only=True):
    departments: list[Department]
    center: Center | None = None
    windows: list[CatalogWindow] = []


class TicketList(msgspec.Struct, kw_only=True):
    date: dt.date | None
    tickets: list[Ticket]


class IssuedTicket(msgspec.Struct, kw_only=True):
    """A new ticket, the people ahead of it, the estimated wait and the windows that can
    serve it now."""

    ticket: Ticket
    ahead: int
    est_wait_min: int
    windows: list[int] = []


class TicketAnswer(msgspec.Struct, kw_only=True):
    ticket: Ticket


class CalledTicket(msgspec.Struct, kw_only=True):
    """The ticket now called (null: nobody waiting for this window); `ignored` when the press
    came within the double-press guard (the current ticket stays)."""

    ticket: Ticket | None
    rule: str | None = None
    ignored: Literal["double_press"] | None = None


class RatingAnswer(msgspec.Struct, kw_only=True):
    """A window's rating: the ticket it was stored with, or null (kept unattached)."""

    ticket: Ticket | None
    attached: bool


class WindowAnswer(msgspec.Struct, kw_only=True):
    window: Window


class GreenChannel(msgspec.Struct, kw_only=True):
    mode: GreenChannelMode
    active: bool


class GreenChannelAnswer(msgspec.Struct, kw_only=True):
    green_channel: GreenChannel


class IssuingAnswer(msgspec.Struct, kw_only=True):
    issuing_open: bool


class ErrorDetail(msgspec.Struct, kw_only=True):
    code: ErrorCode
    message: str


class Error(msgspec.Struct, kw_only=True):
    """Every error answer."""

    error: ErrorDetail



# -- appointments (预约) -------------------------------------------------------------------------

ClockTime = Annotated[str, Meta(pattern=r"^[0-2][0-9]:[0-5][0-9]$",
                                description="HH:MM, local time")]


class AppointmentRequest(Mutation, kw_only=True):
    """One booking (the code is the key: the same code again updates it)."""

    code: Annotated[str, Meta(pattern=r"^[A-Za-z0-9-]{4,32}$")]
    service_id: ServiceId
    date: dt.date
    slot_start: ClockTime
    slot_end: ClockTime
    name: Annotated[str, Meta(max_length=40, pattern=NO_CONTROL_CHARACTERS)] | None = None
    phone: Annotated[str, Meta(max_length=20, pattern=NO_CONTROL_CHARACTERS)] | None = None


class FollowupRequest(Mutation, kw_only=True):
    """预约回访: the outcome of a call a day ahead. A rescheduled booking may name its new slot
    (`date`, `slot_start`, `slot_end`, all three); cancelled frees its place."""

    outcome: Literal["confirmed", "rescheduled", "cancelled", "unreachable"]
    missing: Annotated[list[Annotated[str, Meta(min_length=1, max_length=60,
                                                pattern=NO_CONTROL_CHARACTERS)]],
                       Meta(max_length=30)] = msgspec.field(default_factory=list)
    note: Annotated[str, Meta(max_length=500)] | None = None
    date: dt.date | None = None
    slot_start: ClockTime | None = None
    slot_end: ClockTime | None = None


class AppointmentQuery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """GET /appointments: one day's bookings."""

    date: dt.date


class Appointment(msgspec.Struct, kw_only=True):
    """APPT: name and phone masked."""

    code: str
    service_id: str
    date: str
    slot_start: str
    slot_end: str
    status: Literal["booked", "checked_in", "served", "no_show", "cancelled"]
    ticket_id: str | None
    followup: dict[str, Any] | None = None
    name: str | None = None
    phone: str | None = None


class AppointmentAnswer(msgspec.Struct, kw_only=True):
    appointment: Appointment


class AppointmentList(msgspec.Struct, kw_only=True):
    appointments: list[Appointment]
