"""A day of bookings for `qms demo`: check-in and the follow-up list can be tried at once.

Around the time the demo starts: the slot running now and the next one (their check-in is
open), printed as the two codes to type at the kiosk; plus bookings through the rest of the
day. Names and phone numbers are made up (the phone numbers in the 139-0000 demo range).
Written straight into the bookings' table (the demo runs on any day, even a weekend);
idempotent: the codes come from the date.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from dispatcher.domain.appointments import Booking
from dispatcher.domain.config import Config
from dispatcher.server.bookings import BookingStore

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"]
SLOT = dt.timedelta(minutes=30)


def demo_bookings(config: Config, now: dt.datetime, seed: int = 7) -> tuple[list[Booking],
                                                                           list[str]]:
    """The day's bookings and the two codes open for check-in at `now`."""
    local = now.astimezone(config.center.tz)
    rng = random.Random(f"{local.date()}-{seed}")
    services = [s.id for s in config.services.values() if not s.short_high_freq]
    bookable = config.appointments.bookable or tuple(services)
    start = local.replace(minute=0 if local.minute < 30 else 30, second=0, microsecond=0)
    stem = local.strftime("%m%d")
    bookings: list[Booking] = []
    for i in range(24):
        slot = start + SLOT * (i // 2)
        if slot.date() != local.date():
            break
        bookings.append(Booking(
            code=f"{stem}{i + 1:02d}", service_id=rng.choice(bookable), date=local.date(),
            slot_start=slot.time(), slot_end=(slot + SLOT).time(),
            name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN]),
            phone=f"1390000{rng.randrange(10000):04d}"))
    return bookings, [b.code for b in bookings[:3:2]]  # one in the slot now, one in the next


def tomorrows_bookings(config: Config, now: dt.datetime, seed: int = 7) -> list[Booking]:
    """The next working day's bookings, two in most slots offered: the 预约回访 list."""
    today = now.astimezone(config.center.tz).date()
    day = config.appointments.next_working_day(today)
    rng = random.Random(f"{day}-{seed}-tomorrow")
    services = [s.id for s in config.services.values() if not s.short_high_freq]
    offered = config.appointments.bookable or tuple(services)
    bookable = rng.sample(offered, min(4, len(offered)))  # a few businesses: groups to call
    stem = day.strftime("%m%d")
    bookings: list[Booking] = []
    for start, end in config.appointments.slots():
        for _ in range(rng.choice((1, 2, 2))):
            bookings.append(Booking(
                code=f"Y{stem}{len(bookings) + 1:02d}", service_id=rng.choice(bookable),
                date=day, slot_start=start, slot_end=end,
                name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN]),
                phone=f"1390000{rng.randrange(10000):04d}"))
    return bookings


def seed_demo_bookings(db: Path, config: Config, now: dt.datetime) -> list[str]:
    """Store the demo's bookings, today's and the next working day's (again: nothing
    changes); the two codes to try."""
    bookings, codes = demo_bookings(config, now)
    store = BookingStore(db)
    try:
        store.import_bookings(bookings + tomorrows_bookings(config, now), now)
    finally:
        store.close()
    return codes
