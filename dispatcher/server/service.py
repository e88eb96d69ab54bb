"""The dispatcher's one loop: owns the core, commits before answering, feeds subscribers.

Requests, reads and new subscriptions go into one inbox. A writer task takes everything that
is waiting (a batch), runs the commands through the core, commits the batch in one SQLite
transaction on a worker thread, and only then answers, broadcasts the events in `seq` order,
serves reads and starts subscriptions. Readers therefore never see uncommitted state, and a
power cut loses only requests that were never answered (group commit).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dispatcher.domain.commands import Command, CommandError, StartDay
from dispatcher.domain.config import Config
from dispatcher.domain.core import Outcome, answer_again, business_day
from dispatcher.server.archive import LIVE_DAYS
from dispatcher.server.store import Record, Store, StoreError

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
MAX_BATCH = 256
SUBSCRIBER_QUEUE = 5000  # events a slow subscriber may lag before it is cut off (it resyncs)
# More missed events than this: a fresh snapshot instead. They go into the subscriber's queue
# at once, so they must fit in it with room left for the live events that follow.
RESUME_LIMIT = SUBSCRIBER_QUEUE // 2
DAY_CHECK_S = 5.0  # how often the clock is checked for a new business day
TIDY_S = 60.0  # how often missed bookings are marked and old personal data erased
ARCHIVE_S = 3600.0  # how often closed days are looked for to archive (one a check, while any)


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Unavailable(Exception):
    """The service cannot take requests now (stopping, or the database failed)."""


@dataclass
class _Job:
    future: asyncio.Future[Any]
    command: Command | None = None
    device: str | None = None
    read: Callable[[], Any] | None = None
    subscriber: Subscriber | None = None


@dataclass(eq=False)
class Subscriber:
    """One event stream. `queue` gets dicts; None means the stream was closed by the server."""

    since: int | None = None
    epoch: str | None = None
    queue: asyncio.Queue[dict[str, Any] | None] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE + 10)
    )
    closed: bool = False


class DispatcherService:
    """Queue state owner: `execute` commands, `read` state, `subscribe` to events."""

    def __init__(self, config: Config, store: Store, clock: Clock = system_clock,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.monotonic = monotonic
        self.core = store.load_core(config)
        self.epoch = store.epoch
        self.committed_seq = self.core.state.seq  # events up to here are on disk
        self.boot = secrets.token_hex(4)
        self._inbox: asyncio.Queue[_Job] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._day_watch: asyncio.Task[None] | None = None
        self._subscribers: set[Subscriber] = set()
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qms-db")
        self._stopping = False
        self.failure: str | None = None  # why the service stopped serving (fail-stop)
        self.failed = asyncio.Event()  # set with `failure`: the process should exit non-zero

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._inbox = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="qms-writer")
        self._day_watch = asyncio.create_task(self._watch_day(), name="qms-day")

    async def stop(self) -> None:
        """Answer what is queued, then stop; close every subscription."""
        self._stopping = True
        if self._day_watch is not None:
            self._day_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._day_watch
        if self._inbox is not None and self._writer is not None and not self._writer.done():
            await self._inbox.join()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        for sub in list(self._subscribers):
            self._close(sub)
        self._executor.shutdown(wait=True)

    # -- API used by the server ---------------------------------------------------------------

    async def execute(self, command: Command, device: str | None = None) -> Outcome:
        """Run a command; its answer comes back after it is committed. Raises CommandError."""
        result = await self._submit(_Job(self._future(), command=command, device=device))
        assert isinstance(result, Outcome)
        return result

    async def read(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` against committed state, in order with the commands before it."""
        return await self._submit(_Job(self._future(), read=fn))

    async def subscribe(self, since: int | None = None, epoch: str | None = None) -> Subscriber:
        """A new event stream: a snapshot (or the missed events since `since`), then live."""
        sub = Subscriber(since=since, epoch=epoch)
        await self._submit(_Job(self._future(), subscriber=sub))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        sub.closed = True

    @property
    def seq(self) -> int:
        """The last committed event's seq (the core may be ahead while a batch commits)."""
        return self.committed_seq

    def state_dict(self) -> dict[str, Any]:
        return {**self.core.state.to_dict(), "epoch": self.epoch}

    # -- the writer ---------------------------------------------------------------------------

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _submit(self, job: _Job) -> Any:
        if self.failure is not None:
            raise Unavailable(self.failure)
        if self._stopping or self._inbox is None:
            raise Unavailable("the dispatcher is stopping")
        self._inbox.put_nowait(job)
        return await job.future

    async def _write_loop(self) -> None:
        assert self._inbox is not None
        inbox = self._inbox
        while True:
            batch = [await inbox.get()]
            while not inbox.empty() and len(batch) < MAX_BATCH:
                batch.append(inbox.get_nowait())
            try:
                await self._run_batch(batch)
            except StoreError as exc:  # gone, or stuck in a transaction: no batch can commit
                self._fail(batch, str(exc))
                return
            except Exception:  # the database failed: nobody in this batch gets an answer
                log.exception("batch failed; reloading state from the database")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(Unavailable("the database failed"))
                try:
                    self.core = self.store.load_core(self.config)
                except Exception as exc:
                    log.exception("reloading the state failed too")
                    self._fail([], f"the database cannot be read back: {exc}")
                    return
                self.committed_seq = self.core.state.seq
            finally:
                for _ in batch:
                    inbox.task_done()

    def _fail(self, batch: list[_Job], reason: str) -> None:
        """Fail-stop: answer everything waiting with Unavailable, take no more, and say so
        (`failed`), so the process exits non-zero and systemd restarts it on a sound file."""
        log.error("the dispatcher stops serving: %s", reason)
        self.failure = reason
        assert self._inbox is not None
        waiting = list(batch)
        while not self._inbox.empty():
            waiting.append(self._inbox.get_nowait())
            self._inbox.task_done()
        for job in waiting:
            if not job.future.done():
                job.future.set_exception(Unavailable(reason))
        for sub in list(self._subscribers):
            self._close(sub)
        self.failed.set()

    async def _run_batch(self, batch: list[_Job]) -> None:
        results: list[tuple[_Job, Any]] = []
        records: list[Record] = []
        for job in batch:
            if job.command is None:
                continue
            try:
                outcome = self._handle(job.command)
            except CommandError as err:
                results.append((job, err))
                continue
            if not outcome.repeated:
                records.append(Record(job.command, outcome, self.core.state.seq, job.device))
            results.append((job, outcome))
        if records:
            await asyncio.get_running_loop().run_in_executor(
                self._executor, self.store.append, records
            )
        # Committed: now the world may know.
        self.committed_seq = self.core.state.seq
        for record in records:
            self._broadcast(record)
        for job, result in results:
            if job.future.done():
                continue
            if isinstance(result, Exception):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)
        for job in batch:
            if job.future.done():
                continue
            if job.read is not None:
                try:
                    job.future.set_result(job.read())
                except Exception as exc:  # a bad read must not stop the writer
                    job.future.set_exception(exc)
            elif job.subscriber is not None:
                try:
                    self._start_subscription(job.subscriber)
                except Exception as exc:
                    job.future.set_exception(exc)
                else:
                    job.future.set_result(job.subscriber)

    def _handle(self, command: Command) -> Outcome:
        """The core's answer, or the stored first answer of a request from an earlier day."""
        rid = command.request_id
        if isinstance(rid, str) and not self.core.knows(rid):
            stored = self.store.answer(rid)
            if stored is not None:
                return answer_again(command, *stored)
        return self.core.handle(command, self.clock(), self.monotonic())

    async def _watch_day(self) -> None:
        """Start each business day by the clock, not by the first request of the day: after a
        night (or a restart across midnight) the state shows today before anyone asks. Once a
        minute the bookings are tidied too, and once an hour closed days are archived (one
        at each check while there are any: a backlog after an upgrade drains a day a check)."""
        tidied: dt.datetime | None = None
        archived: dt.datetime | None = None
        while True:
            now = self.clock()
            if self.core.day_is_over(now) and self.failure is None:
                day = business_day(self.config, now)
                with contextlib.suppress(Unavailable, CommandError):
                    await self.execute(StartDay(request_id=f"day-{day.isoformat()}"))
            if self.failure is None and (tidied is None or
                                         abs((now - tidied).total_seconds()) >= TIDY_S):
                tidied = now
                await self._tidy_bookings(now)
            due = archived is None or abs((now - archived).total_seconds()) >= ARCHIVE_S
            if self.failure is None and due and not await self.archive_closed_day(now):
                archived = now
            await asyncio.sleep(DAY_CHECK_S)

    async def archive_closed_day(self, now: dt.datetime) -> bool:
        """Archive the oldest business day closed for more than LIVE_DAYS: packed on a thread
        of its own (the queue goes on), moved in one short transaction of the writer. True
        when a day was archived."""
        before = business_day(self.config, now) - dt.timedelta(days=LIVE_DAYS)
        try:
            piece = await asyncio.to_thread(self.store.build_archive, before)
            if piece is None:
                return False
            done = bool(await self.read(lambda: self.store.install_archive(piece)))
        except Unavailable:
            return False
        except Exception as exc:  # the queue goes on; tried again at the next check
            log.error("a closed day was not archived: %s", exc)
            return False
        if done:
            log.info("business day %s archived: %d tickets, %d KB", piece.business_day,
                     len(piece.visits),
                     (len(piece.events) + len(piece.answers) + len(piece.tickets)) // 1024)
        return done

    async def _tidy_bookings(self, now: dt.datetime) -> None:
        """Missed bookings become no-shows; personal data past its retention is erased."""
        settings = self.config.appointments
        try:
            missed, erased = await self.read(lambda: self.store.tidy_bookings(
                now, self.config.center.tz, settings.retention_days))
        except Exception as exc:  # the queue goes on; tried again at the next check
            log.error("bookings not tidied: %s", exc)
            return
        if missed or erased:
            log.info("bookings: %d no-shows marked, %d erased of names and phones", missed,
                     erased)

    # -- events -------------------------------------------------------------------------------

    def _broadcast(self, record: Record) -> None:
        if not self._subscribers:
            return
        for message in record.messages:
            for sub in list(self._subscribers):
                self._send(sub, message)

    def _send(self, sub: Subscriber, message: dict[str, Any]) -> None:
        if sub.queue.qsize() >= SUBSCRIBER_QUEUE:
            log.warning("a subscriber fell %d events behind; closing it", SUBSCRIBER_QUEUE)
            self._close(sub)
            return
        sub.queue.put_nowait(message)

    def _close(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        if not sub.closed:
            sub.closed = True
            if sub.queue.full():
                # No room for the end mark: drop the backlog. The client resumes from the last
                # event it got, or takes a fresh snapshot.
                while not sub.queue.empty():
                    sub.queue.get_nowait()
            sub.queue.put_nowait(None)

    def _start_subscription(self, sub: Subscriber) -> None:
        seq = self.core.state.seq
        resumable = (
            sub.since is not None
            and sub.epoch == self.epoch
            and 0 <= sub.since <= seq
            and seq - sub.since <= RESUME_LIMIT
        )
        if resumable:
            assert sub.since is not None
            sub.queue.put_nowait({"type": "resume", "seq": sub.since, "epoch": self.epoch,
                                  "boot": self.boot})
            for message in self.store.messages_after(sub.since, RESUME_LIMIT):
                sub.queue.put_nowait(message)
        else:
            sub.queue.put_nowait({"type": "snapshot", "seq": seq, "epoch": self.epoch,
                                  "boot": self.boot, "state": self.state_dict()})
        self._subscribers.add(sub)
