"""A disk that loses power: SQLite through apsw with a VFS that keeps unsynced writes apart.

`Disk` holds every file SQLite names (database, WAL, rollback journal) as two images in
memory: what the OS shows (`current`) and what is on the medium (`durable`), with the
operations in between (`pending`). `xSync` makes a file's pending operations durable.
`Disk.cut()` is a power cut: what was pending is lost, every open handle is dead (it raises
`apsw.IOError`), and the next `Disk.connect` boots again from the durable images.

With `tear=True` a cut is as harsh as SQLite's documented hardware assumptions allow
(https://sqlite.org/atomiccommit.html §2, https://sqlite.org/psow.html): writes not yet
synced may be reordered and any of them may survive; a sector write is not atomic but linear
(a surviving sector may hold only a prefix of what was written); a file that grew may show
garbage in its new space; bytes outside a write's range are never damaged (powersafe
overwrite, which the unix VFS declares); a synced write stays. Creating and deleting a file
are durable at once: SQLite syncs the folder where a new file must last, and WAL mode needs no
deletion to last (the WAL is deleted only after a checkpoint into a synced database, and
replaying it again would change nothing).

Locks and the WAL index (-shm) are the unix VFS's, on empty placeholder files in a real
folder: connections share the database as on a real disk, and `os.stat` sees the file. The
-shm is memory only: after a cut it is left stale, filled with garbage or deleted at random,
and SQLite must rebuild it from the WAL (the first connection to open does).

`ApswConnection` is the part of `sqlite3.Connection` the Store uses, over apsw (whose SQLite
is its own, so the VFS is apsw's all the way); apsw's errors come out as sqlite3's.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw

from dispatcher.server.store import set_pragmas

SECTOR = 512  # what a tear keeps or loses at a time
BLOCK = 4096  # a file-system block: the device writes whole ones
KINDS = {apsw.SQLITE_OPEN_MAIN_DB: "db", apsw.SQLITE_OPEN_WAL: "wal",
         apsw.SQLITE_OPEN_MAIN_JOURNAL: "journal"}
_names = itertools.count(1)


@dataclass
class Stats:
    """What SQLite asked of one kind of file."""

    writes: int = 0
    bytes: int = 0  # passed to write()
    syncs: int = 0
    blocks: int = 0  # distinct 4 KiB blocks dirtied between syncs: what the device writes
    max_size: int = 0


@dataclass
class Image:
    """One file: the medium's bytes, the OS's bytes, and what lies between."""

    kind: str
    durable: bytearray = field(default_factory=bytearray)
    current: bytearray = field(default_factory=bytearray)
    pending: list[tuple[int, bytes] | int] = field(default_factory=list)  # write | truncate
    dirty: set[int] = field(default_factory=set)  # blocks written since the last sync

    def write(self, data: bytes, offset: int) -> None:
        _put(self.current, offset, data, b"")
        self.pending.append((offset, data))
        self.dirty.update(range(offset // BLOCK, (offset + len(data) - 1) // BLOCK + 1))

    def truncate(self, size: int) -> None:
        _truncate(self.current, size)
        self.pending.append(size)

    def sync(self) -> int:
        """Make the pending operations durable; the number of blocks this wrote."""
        for op in self.pending:
            if isinstance(op, int):
                _truncate(self.durable, op)
            else:
                _put(self.durable, op[0], op[1], b"")
        self.pending.clear()
        blocks = len(self.dirty)
        self.dirty.clear()
        return blocks

    def cut(self, rng: random.Random | None) -> bool:
        """Lose the pending operations (with `rng`: any part of them survives, torn); True
        when something unsynced survived."""
        survived = rng is not None and self._tear(rng)
        self.current = bytearray(self.durable)
        self.pending.clear()
        self.dirty.clear()
        return survived

    def _tear(self, rng: random.Random) -> bool:
        survived = False
        for op in self.pending:
            if isinstance(op, int):
                if rng.random() < 0.5:
                    _truncate(self.durable, op)
                    survived = True
                continue
            offset, data = op
            pos, end = offset, offset + len(data)
            while pos < end:  # sector by sector: kept, torn (a prefix kept) or lost
                stop = min(end, (pos // SECTOR + 1) * SECTOR)
                r = rng.random()
                keep = stop - pos if r < 0.45 else rng.randrange(stop - pos) if r < 0.6 else 0
                if keep:
                    chunk = data[pos - offset:pos - offset + keep]
                    _put(self.durable, pos, chunk, rng.randbytes(max(0, pos - len(self.durable))))
                    survived = True
                elif stop > len(self.durable) and rng.random() < 0.5:  # size before content
                    self.durable.extend(rng.randbytes(stop - len(self.durable)))
                pos = stop
        return survived


def _put(image: bytearray, offset: int, data: bytes, gap: bytes) -> None:
    """Write `data` at `offset`; a gap before it is filled with `gap` (zeros if too short)."""
    if offset > len(image):
        image.extend(gap[:offset - len(image)].ljust(offset - len(image), b"\0"))
    image[offset:offset + len(data)] = data


def _truncate(image: bytearray, size: int) -> None:
    if size < len(image):
        del image[size:]
    else:
        image.extend(bytes(size - len(image)))


class Disk:
    """Files in memory behind an apsw VFS; `cut()` is a power cut, `connect` the seam the
    Store opens its connections through."""

    def __init__(self, seed: int = 0, *, tear: bool = False, synchronous: str = "FULL",
                 root: Path | None = None) -> None:
        self.rng = random.Random(seed)
        self.tear = tear
        self.synchronous = synchronous
        self.root = Path(root or tempfile.mkdtemp(prefix="powercut-")).resolve()
        self.images: dict[str, Image] = {}
        self.mains: set[str] = set()  # database files (each has a -shm next to it)
        self.stats: dict[str, Stats] = {kind: Stats() for kind in KINDS.values()}
        self.generation = 0  # bumped by each cut; handles of an older one are dead
        self.ops = 0  # writes, truncations and syncs so far
        self.armed: tuple[int, str | None] | None = None  # see `arm`
        self.cuts = 0
        self.survivals = 0  # cuts after which some unsynced write was still there
        self.cut_kind: str | None = None  # the kind of file the last cut hit
        self._vfs: _VFS | None = None

    # -- power --------------------------------------------------------------------------

    def cut(self, kind: str | None = None) -> None:
        """Power off: pending operations are lost (or torn, with `tear`); handles die."""
        rng = self.rng if self.tear else None
        survived = [image.cut(rng) for image in self.images.values()]
        self.survivals += any(survived)
        self.generation += 1
        self.cuts += 1
        self.cut_kind = kind
        self.armed = None

    def arm(self, n: int | None, kind: str | None = None) -> None:
        """Cut the power instead of the `n`-th write, truncation or sync from now (on a file
        of that `kind`: "db", "wal", "journal"); None: no cut."""
        self.armed = None if n is None else (n, kind)

    def _op(self, kind: str) -> None:
        self.ops += 1
        if self.armed is not None and self.armed[1] in (None, kind):
            n = self.armed[0] - 1
            self.armed = (n, self.armed[1])
            if n == 0:
                self.cut(kind)
                raise apsw.IOError("power cut")

    def _boot(self) -> None:
        """Power on: nothing from before the cut may still be open; the -shm is whatever."""
        prefix = str(self.root) + os.sep
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/self/fd/{fd}").startswith(prefix):
                    raise RuntimeError("a connection from before the power cut is still open")
        for main in self.mains:
            shm = Path(main + "-shm")
            if shm.exists():
                fate = self.rng.choice(["stale", "garbage", "deleted"])
                if fate == "garbage":
                    shm.write_bytes(self.rng.randbytes(shm.stat().st_size))
                elif fate == "deleted":
                    shm.unlink()
        if self._vfs is not None:
            self._vfs.unregister()
        self._vfs = _VFS(self, f"powercut-{next(_names)}")

    def connect(self, path: Path) -> ApswConnection:
        """A Store connection through this disk (booting it after a cut), configured and
        checked as the Store's own are; then `synchronous` if the test asks for another."""
        if self._vfs is None or self._vfs.generation != self.generation:
            self._boot()
        assert self._vfs is not None
        conn = ApswConnection(apsw.Connection(str(path), vfs=self._vfs.name))
        conn.raw.set_busy_timeout(30_000)
        set_pragmas(conn, path)
        if self.synchronous != "FULL":
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
        return conn

    def path(self, name: str) -> Path:
        return self.root / name

    def size(self, kind: str) -> int:
        """The bytes the OS shows now in the files of a kind ("db", "wal", "journal")."""
        return sum(len(image.current) for image in self.images.values() if image.kind == kind)


class _VFS(apsw.VFS):
    def __init__(self, disk: Disk, name: str) -> None:
        self.disk = disk
        self.name = name
        self.generation = disk.generation
        super().__init__(name, base="")

    def alive(self) -> None:
        if self.generation != self.disk.generation:
            raise apsw.IOError("power cut")

    def xOpen(self, name: str | apsw.URIFilename | None, flags: list[int]) -> apsw.VFSFile:
        path = name.filename() if isinstance(name, apsw.URIFilename) else name
        kind = next((k for bit, k in KINDS.items() if flags[0] & bit), None)
        if name is None or path is None or kind is None:  # temporary files: not our business
            return apsw.VFSFile("", name, flags)
        self.alive()
        return _File(self, name, path, kind, flags)

    def xDelete(self, filename: str, syncdir: bool) -> None:
        self.alive()
        self.disk.images.pop(filename, None)
        super().xDelete(filename, syncdir)

    def xAccess(self, pathname: str, flags: int) -> bool:
        image = self.disk.images.get(pathname)
        if image is None:
            return super().xAccess(pathname, flags)
        # As the unix VFS answers: an empty file does not "exist".
        return flags != apsw.SQLITE_ACCESS_EXISTS or len(image.current) > 0


class _File(apsw.VFSFile):
    """Data in the disk's image; locks and -shm on the placeholder the unix VFS opened."""

    def __init__(self, vfs: _VFS, name: str | apsw.URIFilename, path: str, kind: str,
                 flags: list[int]) -> None:
        super().__init__("", name, flags)
        self.disk = vfs.disk
        self.generation = vfs.generation
        self.image = self.disk.images.setdefault(path, Image(kind))
        self.stats = self.disk.stats[kind]
        if kind == "db":
            self.disk.mains.add(path)

    def _alive(self) -> Image:
        if self.generation != self.disk.generation:
            raise apsw.IOError("power cut")
        return self.image

    def xRead(self, amount: int, offset: int) -> bytes:
        return bytes(self._alive().current[offset:offset + amount])  # short: apsw zero-fills

    def xWrite(self, data: Any, offset: int) -> None:
        image = self._alive()
        self.disk._op(image.kind)
        data = bytes(data)
        image.write(data, offset)
        self.stats.writes += 1
        self.stats.bytes += len(data)
        self.stats.max_size = max(self.stats.max_size, len(image.current))

    def xTruncate(self, newsize: int) -> None:
        image = self._alive()
        self.disk._op(image.kind)
        image.truncate(newsize)

    def xSync(self, flags: int) -> None:
        image = self._alive()
        self.disk._op(image.kind)
        self.stats.syncs += 1
        self.stats.blocks += image.sync()

    def xFileSize(self) -> int:
        return len(self._alive().current)


# -- the sqlite3-like adapter -------------------------------------------------------------


def _sqlite3_error(exc: apsw.Error) -> sqlite3.Error:
    """The sqlite3 exception the stdlib would raise for the same SQLite error."""
    if isinstance(exc, apsw.ConstraintError):
        return sqlite3.IntegrityError(str(exc))
    if isinstance(exc, apsw.CorruptError | apsw.NotADBError):
        return sqlite3.DatabaseError(str(exc))
    return sqlite3.OperationalError(str(exc))


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except apsw.Error as exc:
        raise _sqlite3_error(exc) from exc


class _Cursor:
    def __init__(self, cursor: apsw.Cursor) -> None:
        self._cursor = cursor

    def fetchone(self) -> Any:
        with _mapped():
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with _mapped():
            return list(self._cursor.fetchall())


class ApswConnection:
    """An apsw connection that looks like an autocommit `sqlite3.Connection` to the Store."""

    def __init__(self, raw: apsw.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> _Cursor:
        with _mapped():
            return _Cursor(self.raw.execute(sql, tuple(parameters)))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        rows = [tuple(p) for p in parameters]
        if rows:
            with _mapped():
                self.raw.executemany(sql, rows)

    def close(self) -> None:
        with _mapped():
            self.raw.close(True)
