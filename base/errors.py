"""The API's error codes, each with its HTTP status, and the one exception that carries them.

A code is a stable string on the wire (`{"error": {"code", "message"}}`); its HTTP status is
`ErrorCode.status`. The queue core's refusals and the server's own errors both raise a
`QmsError` subclass, so a code and its status are declared here once.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every error code of the LAN API; `status` is the HTTP status it is answered with."""

    BAD_REQUEST = "bad_request"  # a field, parameter or request the server cannot take
    BAD_JSON = "bad_json"  # the body is not JSON, or not a JSON object
    UNAUTHORIZED = "unauthorized"  # no known device token
    FORBIDDEN = "forbidden"  # a role or window the device may not use
    NOT_FOUND = "not_found"  # no such endpoint
    UNKNOWN_WINDOW = "unknown_window"
    UNKNOWN_TICKET = "unknown_ticket"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_ID_REUSED = "request_id_reused"  # the same request id for a different request
    WINDOW_PAUSED = "window_paused"
    WINDOW_NOT_PAUSED = "window_not_paused"
    NO_CURRENT_TICKET = "no_current_ticket"
    TICKET_NOT_WAITING = "ticket_not_waiting"
    CANNOT_SERVE = "cannot_serve"  # no window (or not that window) can serve the business now
    REQUEST_TIMEOUT = "request_timeout"  # the body did not arrive in time
    TOO_LARGE = "too_large"  # the body is over the size limit
    UPGRADE_REQUIRED = "upgrade_required"  # a plain HTTP request to the WebSocket endpoint
    UNKNOWN_SERVICE = "unknown_service"
    UNKNOWN_STAFF = "unknown_staff"
    UNKNOWN_APPOINTMENT = "unknown_appointment"
    # Appointment check-in refusals of PROTOCOL.md v2.
    APPOINTMENT_NOT_TODAY = "appointment_not_today"
    APPOINTMENT_TOO_EARLY = "appointment_too_early"
    APPOINTMENT_TOO_LATE = "appointment_too_late"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    APPOINTMENT_OTHER_BUSINESS = "appointment_other_business"
    INVALID_APPOINTMENT = "invalid_appointment"  # a booking the slots or catalog refuse
    SLOT_FULL = "slot_full"
    APPOINTMENT_CHECKED_IN = "appointment_checked_in"  # it can no longer change
    FOLLOWUP_TAKEN = "followup_taken"  # another staff member is calling this resident
    UNAVAILABLE = "unavailable"  # the dispatcher is stopping or its database failed
    ISSUING_CLOSED = "issuing_closed"  # a manager closed ticket issuing for today
    UNKNOWN_DEVICE = "unknown_device"  # no such device (e.g. kiosk) in the config
    NOT_SERVED = "not_served"  # a rating for a ticket that was never called to a window
    ALREADY_RATED = "already_rated"  # a ticket is rated once (好差评): the first score stays

    @property
    def status(self) -> int:
        """The HTTP status this code is answered with."""
        return STATUS[self]


STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.BAD_JSON: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNKNOWN_WINDOW: 404,
    ErrorCode.UNKNOWN_TICKET: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.REQUEST_ID_REUSED: 409,
    ErrorCode.WINDOW_PAUSED: 409,
    ErrorCode.WINDOW_NOT_PAUSED: 409,
    ErrorCode.NO_CURRENT_TICKET: 409,
    ErrorCode.TICKET_NOT_WAITING: 409,
    ErrorCode.CANNOT_SERVE: 409,
    ErrorCode.ISSUING_CLOSED: 409,
    ErrorCode.NOT_SERVED: 409,
    ErrorCode.ALREADY_RATED: 409,
    ErrorCode.UNKNOWN_DEVICE: 422,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.UPGRADE_REQUIRED: 426,
    ErrorCode.UNKNOWN_SERVICE: 422,
    ErrorCode.UNKNOWN_STAFF: 422,
    ErrorCode.UNKNOWN_APPOINTMENT: 422,
    ErrorCode.APPOINTMENT_NOT_TODAY: 422,
    ErrorCode.APPOINTMENT_TOO_EARLY: 422,
    ErrorCode.APPOINTMENT_TOO_LATE: 422,
    ErrorCode.APPOINTMENT_CANCELLED: 422,
    ErrorCode.APPOINTMENT_OTHER_BUSINESS: 422,
    ErrorCode.INVALID_APPOINTMENT: 422,
    ErrorCode.SLOT_FULL: 409,
    ErrorCode.APPOINTMENT_CHECKED_IN: 409,
    ErrorCode.FOLLOWUP_TAKEN: 409,
    ErrorCode.UNAVAILABLE: 503,
}


class QmsError(Exception):
    """A refused request: a stable `code` (an `ErrorCode`) and a message for people.

    `code` may be given as its string; an unknown code is a programming error (ValueError).
    """

    def __init__(self, code: ErrorCode | str, message: str,
                 detail: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.detail = detail or {}  # more fields of the answer's error object

    @property
    def status(self) -> int:
        """The HTTP status of the answer."""
        return self.code.status
