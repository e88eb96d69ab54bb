"""Console accounts, sessions and the audit log, in the dispatcher's database file.

Separate tables (`console_*`) beside the queue's, on a connection of their own: the command
line (`qms account ...`) changes accounts while the dispatcher runs. Passwords are stored as
scrypt hashes only; a session is a random token of which only the SHA-256 is stored, so a copy
of the database signs nobody in. Every method blocks (scrypt, disk): the web side runs them on
a worker thread.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dispatcher.server.console.passwords import hash_password, password_problem, verify_password
from dispatcher.server.store import immediate_transaction, set_pragmas

ROLES = ("manager", "staff")
USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
SESSION_S = 12 * 3600  # a session lasts a working day, then the person logs in again
SESSION_CACHE_S = 10.0  # a looked-up session is trusted this long without the database
SESSION_CACHE_SIZE = 1000
AUDIT_PAGE = 200
SCHEMA = [
    """CREATE TABLE IF NOT EXISTS console_accounts (
        username TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        staff_id TEXT,
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        changed_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS console_sessions (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        csrf TEXT NOT NULL,
        address TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS console_audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        username TEXT NOT NULL,
        address TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL
    )""",
]
# The demo's accounts (PROTOCOL.md): valid only while the dispatcher runs the demo setup on
# loopback, never stored.
DEMO_MANAGER = ("admin", "demo-admin")
DEMO_STAFF_PASSWORD = "demo"


class AccountError(Exception):
    """A change to the accounts that is refused; the message says why."""


@dataclass(frozen=True)
class Account:
    username: str
    role: str  # manager | staff
    staff_id: str | None  # the staff member of the config this person is (staff: required)
    disabled: bool = False
    demo: bool = False

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


@dataclass(frozen=True)
class Session:
    account: Account
    csrf: str
    expires_at: float


@dataclass(frozen=True)
class AuditEntry:
    at: str
    username: str
    address: str
    action: str
    target: str
    outcome: str


class AccountStore:
    """Accounts, sessions and the audit log. `staff_ids` are the config's staff members;
    `demo` turns the demo accounts on (the caller decides: loopback and demo setup only)."""

    def __init__(self, path: Path, staff_ids: frozenset[str] = frozenset(),
                 demo: bool = False) -> None:
        self.path = path
        self.staff_ids = staff_ids
        self.demo = demo
        self._lock = threading.Lock()
        # token hash → (session, when looked up): most requests need no database read. A
        # change made here (password, disable, logout) clears it at once; one made by another
        # process (`qms account`) is seen within SESSION_CACHE_S.
        self._sessions: dict[str, tuple[Session, float]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = set_pragmas(
            sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10),
            path)
        with self._tx():
            for sql in SCHEMA:
                self._conn.execute(sql)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- accounts -----------------------------------------------------------------------------

    def add(self, username: str, password: str, role: str, staff_id: str | None = None) -> Account:
        if not USERNAME.fullmatch(username):
            raise AccountError("a user name is 1–32 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if role == "staff" and staff_id is None:
            staff_id = username
        if staff_id is not None and self.staff_ids and staff_id not in self.staff_ids:
            raise AccountError(f"there is no staff member {staff_id!r} in the config")
        self._check_password(password)
        with self._tx():
            if self._row(username) is not None:
                raise AccountError(f"the account {username!r} exists already")
            self._conn.execute(
                "INSERT INTO console_accounts (username, role, staff_id, password_hash,"
                " changed_at) VALUES (?, ?, ?, ?, ?)",
                (username, role, staff_id, hash_password(password), _now()))
        return Account(username, role, staff_id)

    def set_password(self, username: str, password: str) -> None:
        self._check_password(password)
        with self._tx():
            self._must_exist(username)
            self._conn.execute(
                "UPDATE console_accounts SET password_hash = ?, changed_at = ? WHERE username = ?",
                (hash_password(password), _now(), username))
            self._conn.execute("DELETE FROM console_sessions WHERE username = ?", (username,))
            self._sessions.clear()

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (every session of it ends at once) or enable an account."""
        with self._tx():
            self._must_exist(username)
            self._conn.execute(
                "UPDATE console_accounts SET disabled = ?, changed_at = ? WHERE username = ?",
                (int(disabled), _now(), username))
            if disabled:
                self._conn.execute("DELETE FROM console_sessions WHERE username = ?",
                                   (username,))
            self._sessions.clear()

    def accounts(self) -> list[Account]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT username, role, staff_id, disabled FROM console_accounts"
                " ORDER BY username").fetchall()
        return [Account(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def known(self, username: str) -> bool:
        """Is this the name of an account (stored or demo)? For the audit log: a name that is
        not may be a password typed into the wrong field, and is not written down."""
        if self.demo and (username == DEMO_MANAGER[0] or username in self.staff_ids):
            return True
        with self._lock:
            return self._row(username) is not None

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM console_accounts").fetchone()[0])

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account these credentials open, or None (unknown, wrong or disabled: the caller
        cannot tell which). A stored account shadows a demo account of the same name."""
        with self._lock:
            row = self._row(username)
        if row is None:
            _ = verify_password(password, _DUMMY_HASH)  # the same time as for a known name
            return self._demo_account(username, password)
        name, role, staff_id, stored, disabled = row
        if not verify_password(password, stored) or disabled:
            return None
        return Account(name, role, staff_id, bool(disabled))

    def _demo_account(self, username: str, password: str) -> Account | None:
        if not self.demo:
            return None
        if (username, password) == DEMO_MANAGER:
            return Account(username, "manager", None, demo=True)
        if username in self.staff_ids and password == DEMO_STAFF_PASSWORD:
            return Account(username, "staff", username, demo=True)
        return None

    # -- sessions -----------------------------------------------------------------------------

    def open_session(self, account: Account, address: str) -> tuple[str, Session]:
        """A new session: (the cookie's token, the session)."""
        token = secrets.token_urlsafe(32)
        session = Session(account, secrets.token_urlsafe(24), time.time() + SESSION_S)
        stored_name = account.username if not account.demo else f"demo:{account.username}"
        with self._tx():
            self._conn.execute("DELETE FROM console_sessions WHERE expires_at < ?",
                               (time.time(),))
            self._conn.execute(
                "INSERT INTO console_sessions (token_hash, username, csrf, address, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (_token_hash(token), stored_name, session.csrf, address, session.expires_at))
        return token, session

    def cached_session(self, token: str) -> Session | None:
        """The session of this token if it was looked up in the last SESSION_CACHE_S (no
        database read: safe to call on the event loop); else None — ask `session`."""
        hit = self._sessions.get(_token_hash(token)) if token and len(token) <= 100 else None
        if hit is None or time.monotonic() - hit[1] > SESSION_CACHE_S \
                or hit[0].expires_at < time.time() or (hit[0].account.demo and not self.demo):
            return None
        return hit[0]

    def session(self, token: str) -> Session | None:
        """The live session of this cookie token (its account still enabled), or None."""
        if not token or len(token) > 100:
            return None
        found = self._lookup(token)
        if found is not None:
            if len(self._sessions) >= SESSION_CACHE_SIZE:
                self._sessions.clear()
            self._sessions[_token_hash(token)] = (found, time.monotonic())
        return found

    def _lookup(self, token: str) -> Session | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT username, csrf, expires_at FROM console_sessions WHERE token_hash = ?",
                (_token_hash(token),)).fetchone()
            if row is None or row[2] < time.time():
                return None
            stored_name, csrf, expires = row
            if stored_name.startswith("demo:"):
                name = stored_name[len("demo:"):]
                if not self.demo:
                    return None
                account = (Account(name, "manager", None, demo=True) if name == DEMO_MANAGER[0]
                           else Account(name, "staff", name, demo=True))
                return Session(account, csrf, expires)
            acc = self._row(stored_name)
        if acc is None or acc[4]:
            return None
        return Session(Account(acc[0], acc[1], acc[2]), csrf, expires)

    def close_session(self, token: str) -> None:
        self._sessions.pop(_token_hash(token), None)
        with self._tx():
            self._conn.execute("DELETE FROM console_sessions WHERE token_hash = ?",
                               (_token_hash(token),))

    # -- audit log ----------------------------------------------------------------------------

    def audit(self, username: str, address: str, action: str, target: str, outcome: str) -> None:
        with self._tx():
            self._conn.execute(
                "INSERT INTO console_audit (at, username, address, action, target, outcome)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (_now(), username, address, action, target, outcome))

    def audit_entries(self, limit: int | None = AUDIT_PAGE) -> list[AuditEntry]:
        """Newest first; all of them with limit None."""
        sql = ("SELECT at, username, address, action, target, outcome FROM console_audit"
               " ORDER BY id DESC")
        with self._lock:
            rows = (self._conn.execute(sql + " LIMIT ?", (limit,)) if limit is not None
                    else self._conn.execute(sql)).fetchall()
        return [AuditEntry(*r) for r in rows]

    def audit_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["at", "username", "address", "action", "target", "outcome"])
        for e in reversed(self.audit_entries(None)):
            writer.writerow([_cell(v) for v in (e.at, e.username, e.address, e.action,
                                                e.target, e.outcome)])
        return out.getvalue()

    # -- helpers ------------------------------------------------------------------------------

    def _check_password(self, password: str) -> None:
        problem = password_problem(password)
        if problem:
            raise AccountError(f"the password must have {problem}")

    def _row(self, username: str) -> tuple[str, str, str | None, str, int] | None:
        row = self._conn.execute(
            "SELECT username, role, staff_id, password_hash, disabled FROM console_accounts"
            " WHERE username = ?", (username,)).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3], row[4])

    def _must_exist(self, username: str) -> None:
        if self._row(username) is None:
            raise AccountError(f"there is no account {username!r}")

    def _tx(self) -> contextlib.AbstractContextManager[None]:
        """One write transaction under the lock; rolled back on any error."""
        return immediate_transaction(self._conn, self._lock)


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


_DUMMY_HASH = hash_password(secrets.token_hex(8))
