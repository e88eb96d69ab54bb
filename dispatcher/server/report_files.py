"""The monthly report's charts and files: SVG charts for the console (matplotlib, drawn on the
Pi, no internet), the CSV and XLSX exports of the report's tables, and a printable PDF (the
charts and the tables, A4). matplotlib is imported on first use (about 1 s on a Pi 4): the
dispatcher warms it in the background at start."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from base.fonts import find_font
from dispatcher.server.report_tables import WEEKDAYS_ZH, Table, minutes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BLUE, GREEN, INK = "#0b4ea2", "#1b7f3b", "#1f2933"
HOURS = range(7, 20)  # the heat map's hours (the center's day and a margin)


class Charts:
    """matplotlib set up once (the Agg backend, the CJK font); thread-safe."""

    def __init__(self, font: Path | None = None) -> None:
        self._font = font
        self._lock = threading.RLock()  # drawing warms up under the same lock
        self._family: str | None = None

    def warm(self) -> None:
        """Import matplotlib and register the font (call it off the event loop)."""
        with self._lock:
            if self._family is not None:
                return
            import matplotlib

            matplotlib.use("Agg")
            from matplotlib import font_manager

            path = self._font or find_font()
            family = "DejaVu Sans"
            if path is not None:
                font_manager.fontManager.addfont(str(path))
                family = font_manager.FontProperties(fname=str(path)).get_name()
            matplotlib.rcParams.update({
                "font.family": [family, "DejaVu Sans"], "svg.fonttype": "path",
                "axes.spines.top": False, "axes.spines.right": False, "font.size": 9,
                "pdf.fonttype": 42 if path is None or path.suffix != ".ttc" else 3,
            })
            self._family = family
            # The first drawing loads the glyphs and the font cache (half a second): now.
            from matplotlib.figure import Figure

            warm = Figure(figsize=(2, 1))
            warm.add_subplot(111).set_title("取号 tickets 0123456789")
            warm.savefig(io.BytesIO(), format="svg")

    def _figure(self, width: float, height: float) -> Figure:
        self.warm()
        from matplotlib.figure import Figure

        return Figure(figsize=(width, height), dpi=100, layout="constrained")

    def volumes_by_day(self, report: Mapping[str, Any], fig: Figure | None = None) -> Figure:
        fig = fig or self._figure(8, 2.6)
        ax = fig.add_subplot(111) if not fig.axes else fig.axes[0]
        days = list(report["by_day"])
        labels = [d[8:] for d in days]
        tickets = [report["by_day"][d]["tickets"] for d in days]
        served = [report["by_day"][d]["served"] for d in days]
        ax.bar(labels, tickets, color=BLUE, label="取号 tickets")
        ax.plot(labels, served, color=GREEN, marker=".", label="办结 served")
        ax.set_title(f"{report['month']} 每日取号量 tickets per day")
        ax.legend(loc="upper right", frameon=False)
        ax.tick_params(axis="x", labelsize=7)
        return fig

    def waits_by_hour(self, report: Mapping[str, Any], fig: Figure | None = None) -> Figure:
        fig = fig or self._figure(8, 2.6)
        ax = fig.add_subplot(111) if not fig.axes else fig.axes[0]
        hours = list(report.get("by_hour", {}))
        waits = [minutes(report["by_hour"][h]["mean_wait_s"]) for h in hours]
        tickets = [report["by_hour"][h]["tickets"] for h in hours]
        ax.bar([f"{h}时" for h in hours], waits, color=BLUE)
        ax.set_ylabel("平均等候 mean wait (min)")
        target = report.get("target_wait_min")
        if target:
            ax.axhline(target, color="#b42318", linestyle="--", linewidth=1)
            ax.annotate(f"目标 target {target} min", (0, target), xytext=(2, 3),
                        textcoords="offset points", color="#b42318", fontsize=8)
        twin = ax.twinx()
        twin.plot([f"{h}时" for h in hours], tickets, color=GREEN, marker=".")
        twin.set_ylabel("取号 tickets", color=GREEN)
        twin.spines["right"].set_visible(True)
        ax.set_title("各时段平均等候 mean wait by hour of issue")
        return fig

    def heat_map(self, report: Mapping[str, Any], fig: Figure | None = None) -> Figure:
        fig = fig or self._figure(8, 2.6)
        ax = fig.add_subplot(111) if not fig.axes else fig.axes[0]
        heat = report.get("by_weekday_hour", {})
        rows = [[heat.get(d, [0] * 24)[h] for h in HOURS]
                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]
        image = ax.imshow(rows, aspect="auto", cmap="Blues")
        ax.set_xticks(range(len(HOURS)), [f"{h}" for h in HOURS])
        ax.set_yticks(range(7), [f"周{d}" for d in WEEKDAYS_ZH])
        ax.set_xlabel("时 hour of issue")
        ax.set_title("取号热力图 tickets by weekday × hour")
        fig.colorbar(image, ax=ax, shrink=0.9)
        return fig

    def forecast_chart(self, result: Mapping[str, Any], fig: Figure | None = None) -> Figure:
        """The forecast per day with its 80 % interval."""
        fig = fig or self._figure(8, 2.6)
        ax = fig.add_subplot(111) if not fig.axes else fig.axes[0]
        days = list(result["by_day"])
        values = [result["by_day"][d] for d in days]
        low = [v - result["by_day_interval"][d][0] for d, v in zip(days, values, strict=True)]
        high = [result["by_day_interval"][d][1] - v for d, v in zip(days, values, strict=True)]
        ax.bar([d[8:] for d in days], values, color=BLUE, yerr=[low, high], capsize=2,
               ecolor="#7b8794", label="预测 forecast (80%)")
        ax.set_title(f"{result['month']} 每日取号预测 forecast per day")
        ax.tick_params(axis="x", labelsize=7)
        ax.legend(loc="upper right", frameon=False)
        return fig

    def svg_forecast(self, result: Mapping[str, Any]) -> str:
        return self._svg(self.forecast_chart, result)

    def svg(self, kind: str, report: Mapping[str, Any]) -> str:
        """One chart of the report as SVG text (text drawn as paths: no font needed)."""
        return self._svg({"days": self.volumes_by_day, "hours": self.waits_by_hour,
                          "heat": self.heat_map}[kind], report)

    def _svg(self, draw: Callable[[Mapping[str, Any]], Figure], data: Mapping[str, Any]) -> str:
        with self._lock:
            out = io.StringIO()
            draw(data).savefig(out, format="svg")
        text = out.getvalue()
        return text[text.index("<svg"):]  # no XML prolog

    def pages(self, report: Mapping[str, Any], tables: Sequence[Table],
              center: str) -> Iterator[Figure]:
        """The printable report's A4 pages: the summary and the charts, then every table
        (40 rows a page)."""
        first = self._figure(8.27, 11.69)
        first.suptitle(f"{center}\n{report['month']} 月度报表 monthly report", fontsize=13)
        grid = first.add_gridspec(4, 1, height_ratios=[1.1, 1, 1, 1])
        _table(first.add_subplot(grid[0]), tables[0])
        for i, draw in enumerate((self.volumes_by_day, self.waits_by_hour, self.heat_map),
                                 start=1):
            sub = first.add_subfigure(grid[i])
            sub.add_subplot(111)
            draw(report, sub)  # type: ignore[arg-type]
        yield first
        for table in tables[1:]:
            for start in range(0, max(1, len(table.rows)), 40):
                page = self._figure(8.27, 11.69)
                part = Table(table.key, table.title, table.title_en, table.headers,
                             table.rows[start:start + 40])
                _table(page.add_subplot(111), part, title=f"{table.title} {table.title_en}"
                       + (f" ({start // 40 + 1})" if len(table.rows) > 40 else ""))
                yield page

    def pdf(self, report: Mapping[str, Any], tables: Sequence[Table], center: str) -> bytes:
        """The printable monthly report as one PDF."""
        self.warm()
        from matplotlib.backends.backend_pdf import PdfPages

        out = io.BytesIO()
        with self._lock, PdfPages(out, metadata={"Title": f"{center} {report['month']}",
                                                 "Creator": "qms"}) as pdf:
            for page in self.pages(report, tables, center):
                pdf.savefig(page)
        return out.getvalue()


def _table(ax: Any, table: Table, title: str | None = None) -> None:
    ax.axis("off")
    ax.set_title(title or f"{table.title} {table.title_en}", loc="left")
    if not table.rows:
        ax.text(0, 0.9, "无 none", transform=ax.transAxes)
        return
    cells = [["—" if c is None else str(c) for c in row] for row in table.rows]
    headers = [h.replace(" ", "\n", 1) for h in table.headers]
    shown = ax.table(cellText=cells, colLabels=headers, loc="upper center", cellLoc="center")
    shown.auto_set_font_size(False)
    shown.set_fontsize(7)
    shown.scale(1, 1.25)


def tables_csv(tables: Sequence[Table]) -> str:
    """Every table, one after another: a title row, the header, the rows, a blank line.
    UTF-8 with a BOM (Excel on a center's PC opens it as UTF-8)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    for table in tables:
        writer.writerow([f"{table.title} {table.title_en}"])
        writer.writerow(table.headers)
        writer.writerows(["" if c is None else c for c in row] for row in table.rows)
        writer.writerow([])
    return out.getvalue()


def tables_xlsx(tables: Sequence[Table], month: str) -> bytes:
    """A workbook with a sheet per table (numbers as numbers)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active) if book.active is not None else None
    for table in tables:
        sheet = book.create_sheet(table.title)
        sheet.append([f"{month} {table.title} {table.title_en}"])
        sheet["A1"].font = Font(bold=True)
        sheet.append(list(table.headers))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        for i, header in enumerate(table.headers, start=1):
            width = max([len(header) // 2 + 4, *(len(str(r[i - 1])) + 2 for r in table.rows)])
            sheet.column_dimensions[sheet.cell(row=2, column=i).column_letter].width = \
                min(width, 40)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
