"""预约回访 in a real browser: a staff member opens the next working day's list, takes a call
(the full number appears for them only), records the outcome with the missing material ticked,
and the progress moves; the printed page masks the numbers. Screenshots
console-followup-*.png (QMS_SCREENSHOTS=1 writes them to docs/screenshots)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatcher.server.bookings import BookingStore
from qms.config import load_config
from qms.demo_bookings import tomorrows_bookings
from tests import browser as web
from tests.helpers import MONDAY_9
from tests.live import LiveDispatcher

if (why := web.unavailable()) is not None:
    pytest.skip(f"browser tests skipped: {why}", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect

expect.set_options(timeout=5000)
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"
SIZES = ({"width": 1280, "height": 800}, {"width": 390, "height": 844})


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with web.chromium() as browser:
        yield browser


def overflow(page: Page) -> int:
    """How many elements reach past the viewport's right edge."""
    found: int = page.evaluate("""() => {
      const width = document.documentElement.clientWidth;
      return Array.from(document.querySelectorAll("body *")).filter((el) => {
        const r = el.getBoundingClientRect(); return r.width && r.right > width + 1; }).length;
    }""")
    return found


def test_a_staff_member_calls_a_booked_resident_and_records_the_outcome(
        chromium: Browser, tmp_path: Path) -> None:
    center = load_config(EXAMPLE)
    db = tmp_path / "qms.db"
    bookings = tomorrows_bookings(center, MONDAY_9)  # Tuesday's
    store = BookingStore(db)
    store.import_bookings(bookings, MONDAY_9)
    store.close()
    first = bookings[0]
    materials = center.services[first.service_id].materials
    assert materials, "the example's bookable business has a checklist"
    server = LiveDispatcher(center, db, demo_accounts=True).start()
    base = f"http://127.0.0.1:{server.port}"
    out = web.screenshot_dir(tmp_path / "shots")
    try:
        for viewport in SIZES:
            size = f"{viewport['width']}x{viewport['height']}"
            context = chromium.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
            try:
                page = context.new_page()
                web.log_in(page, base, "s01", "demo")
                page.goto(f"{base}/console/followup")
                expect(page.locator("h1")).to_contain_text("2026-12-01")
                row = page.locator(f"#appt-{first.code}")
                assert first.phone is not None
                masked = f"{first.phone[:3]}****{first.phone[-4:]}"
                expect(row).to_contain_text(masked)
                if viewport is SIZES[1]:
                    page.screenshot(path=out / f"console-followup-{size}.png")
                    assert overflow(page) == 0
                    continue
                row.get_by_role("button", name="开始回访").click()
                expect(row.locator("a.phone-full")).to_have_text(first.phone)
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=out / f"console-followup-{size}.png")
                assert overflow(page) == 0
                page.emulate_media(media="print")
                assert row.locator(".phone").inner_text().strip() == masked  # paper: masked
                page.screenshot(path=out / "console-followup-print.png", full_page=True)
                page.emulate_media(media="screen")
                form = page.locator(f"#record-{first.code}")
                form.locator("select[name=outcome]").select_option("confirmed")
                form.get_by_label(materials[-1]).check()
                form.locator("input[name=note]").fill("上午来，会带齐")
                form.get_by_role("button", name="记录结果").click()
                expect(form).to_have_count(0)
                expect(row).to_contain_text("已确认")
                expect(row).to_contain_text(f"缺少材料：{materials[-1]}")
                expect(row).not_to_contain_text(first.phone)
                expect(page.locator("#called")).to_have_text(f"1 / {len(bookings)}")
                expect(page.locator("#to-call")).to_have_text(str(len(bookings) - 1))
            finally:
                context.close()
    finally:
        server.stop()
