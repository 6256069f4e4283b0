"""The season report: PNG charts of an export, to read on a phone or hand to a municipality.

Four charts: attendance per exchange day against class size, checklist completion per
exchange, incidents per category and severity, and the begeleiders' ratings. A chart with many
rows is split into pages of `PAGE_ROWS`, so every bar stays readable on a phone screen.

Drawn with matplotlib's Agg canvas directly (no pyplot: no display, no global figure state,
safe in a worker thread), at a fixed size, with fonts given per call. The PNG carries no
"Software" or time stamp, so the same data always gives the same bytes. A chart without data
says so instead of failing.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.domain.incidents import CATEGORIES, SEVERITIES
from bot.reports.labels import CATEGORY as _CATEGORY
from bot.reports.labels import SEVERITY as _SEVERITY
from bot.services import export as export_service
from bot.services.export import Export
from bot.texts import Markup, Texts

# 1200 × 1500 pixels: portrait, like a phone, and sharp when zoomed.
FIGSIZE = (6.0, 7.5)
# A chart without data is only its title and one line.
EMPTY_FIGSIZE = (6.0, 2.5)
DPI = 200
PAGE_ROWS = 20
MIN_ROWS = 6
TITLE_SIZE = 15
LABEL_SIZE = 12
TICK_SIZE = 11
NOTE_SIZE = 10
LABEL_CHARS = 22  # of a pair's name on an axis; the full names are in the export

PRESENT = "#2b8cbe"
CLASS = "#d9d9d9"
TICKED = "#31a354"
SEVERITY_COLOURS = {
    "low": "#9ecae1",
    "medium": "#fdae6b",
    "high": "#e6550d",
    "urgent": "#a50f15",
}
CALM = "#6baed6"
TENSION = "#fd8d3c"
GREY = "#666666"
URGENT = ("high", "urgent")


@dataclass(frozen=True)
class Chart:
    name: str  # a file name: "1-attendance.png", "2-checklists-2.png"
    png: bytes
    caption: str  # HTML, from the catalogue


def season_report(export: Export, texts: Texts, lang: str) -> list[Chart]:
    """Every chart of the season report, in order; at least one per topic."""
    draw = _Drawing(texts, lang)
    return [
        *draw.attendance(export),
        *draw.checklists(export),
        draw.incidents(export),
        draw.ratings(export),
    ]


def _short(title: str) -> str:
    return title if len(title) <= LABEL_CHARS else title[: LABEL_CHARS - 1].rstrip() + "…"


def _pages(count: int) -> list[range]:
    return [range(i, min(i + PAGE_ROWS, count)) for i in range(0, count, PAGE_ROWS)] or [range(0)]


def _figure(size: tuple[float, float] = FIGSIZE) -> tuple[Figure, Axes]:
    figure = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    # No "Software" entry (it names the version) and no time: same data, same bytes.
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


class _Drawing:
    def __init__(self, texts: Texts, lang: str) -> None:
        self.texts = texts
        self.lang = lang

    def plain(self, key: str, **params: object) -> str:
        return self.texts.plain(self.lang, key, **params)

    def amount(self, key: str, count: int) -> str:
        return self.texts.amount(self.lang, key, count)

    def caption(self, key: str, page: int = 1, pages: int = 1, **params: object) -> str:
        text = self.texts.get(self.lang, key, **params)
        if pages > 1:
            return self.texts.get(
                self.lang, "report.caption_page", caption=Markup(text), page=page, pages=pages
            )
        return text

    def title(self, key: str, page: int = 1, pages: int = 1) -> str:
        title = self.plain(key)
        if pages > 1:
            return self.plain("report.title_page", title=title, page=page, pages=pages)
        return title

    def empty(self, name: str, title_key: str, caption_key: str) -> Chart:
        figure, axes = _figure(EMPTY_FIGSIZE)
        axes.set_axis_off()
        figure.suptitle(self.plain(title_key), fontsize=TITLE_SIZE, fontweight="bold")
        axes.text(
            0.5,
            0.5,
            self.plain("report.nothing_yet"),
            ha="center",
            va="center",
            fontsize=LABEL_SIZE + 4,
            color=GREY,
            transform=axes.transAxes,
        )
        return Chart(name, _png(figure), self.caption(caption_key))

    # -- the charts ---------------------------------------------------------------------------

    def attendance(self, export: Export) -> list[Chart]:
        days = export_service.attendance(export)
        if not days:
            return [
                self.empty(
                    "1-attendance.png", "report.attendance_title", "report.caption_attendance_none"
                )
            ]
        params = {
            "present": sum(d.present for d in days),
            "size": sum(d.class_size for d in days),
            "days": self.amount("report.days", len(days)),
        }
        pages = _pages(len(days))
        charts = []
        for number, rows in enumerate(pages, start=1):
            shown = [days[i] for i in rows]
            figure, axes = _figure()
            y = list(range(len(shown)))
            labels = [f"#{d.exchange_id} {_short(d.title)} · {d.day:%d-%m}" for d in shown]
            sizes = [d.class_size for d in shown]
            present = [d.present for d in shown]
            axes.barh(y, sizes, height=0.8, color=CLASS, label=self.plain("report.attendance_size"))
            axes.barh(
                y, present, height=0.5, color=PRESENT, label=self.plain("report.attendance_present")
            )
            for row, (here, size) in enumerate(zip(present, sizes, strict=True)):
                axes.text(
                    max(here, size) + 0.5,
                    row,
                    f"{here}/{size}",
                    va="center",
                    fontsize=NOTE_SIZE,
                )
            self._bars_layout(axes, y, labels, max(sizes + present) * 1.2, paged=len(pages) > 1)
            axes.set_xlabel(self.plain("report.attendance_axis"), fontsize=LABEL_SIZE)
            _legend_on_top(axes)
            figure.suptitle(
                self.title("report.attendance_title", number, len(pages)),
                fontsize=TITLE_SIZE,
                fontweight="bold",
            )
            name = _name(1, "attendance", number, len(pages))
            caption = self.caption("report.caption_attendance", number, len(pages), **params)
            charts.append(Chart(name, _png(figure), caption))
        return charts

    def checklists(self, export: Export) -> list[Chart]:
        found = export_service.completion(export)
        if not found:
            return [
                self.empty(
                    "2-checklists.png", "report.checklists_title", "report.caption_checklists_none"
                )
            ]
        done = sum(c.done for c in found)
        total = sum(c.total for c in found)
        params = {"done": done, "total": total, "percent": round(100 * done / total)}
        pages = _pages(len(found))
        charts = []
        for number, rows in enumerate(pages, start=1):
            shown = [found[i] for i in rows]
            figure, axes = _figure()
            y = list(range(len(shown)))
            percent = [100 * c.done / c.total for c in shown]
            axes.barh(y, [100] * len(shown), height=0.8, color=CLASS)
            axes.barh(y, percent, height=0.5, color=TICKED)
            for row, c in enumerate(shown):
                axes.text(102, row, f"{c.done}/{c.total}", va="center", fontsize=NOTE_SIZE)
            labels = [f"#{c.exchange_id} {_short(c.title)}" for c in shown]
            self._bars_layout(axes, y, labels, 125, paged=len(pages) > 1)
            axes.set_xticks([0, 25, 50, 75, 100])
            axes.set_xlabel(self.plain("report.checklists_axis"), fontsize=LABEL_SIZE)
            figure.suptitle(
                self.title("report.checklists_title", number, len(pages)),
                fontsize=TITLE_SIZE,
                fontweight="bold",
            )
            name = _name(2, "checklists", number, len(pages))
            caption = self.caption("report.caption_checklists", number, len(pages), **params)
            charts.append(Chart(name, _png(figure), caption))
        return charts

    def incidents(self, export: Export) -> Chart:
        counts = export_service.incident_counts(export)
        if not counts:
            return self.empty(
                "3-incidents.png", "report.incidents_title", "report.caption_incidents_none"
            )
        categories = [*CATEGORIES, *sorted({c for c, _ in counts} - set(CATEGORIES))]
        figure, axes = _figure()
        y = list(range(len(categories)))
        left = [0] * len(categories)
        for severity in SEVERITIES:
            widths = [counts.get((c, severity), 0) for c in categories]
            axes.barh(
                y,
                widths,
                left=left,
                height=0.7,
                color=SEVERITY_COLOURS[severity],
                label=self.plain(_SEVERITY[severity]),
            )
            left = [a + b for a, b in zip(left, widths, strict=True)]
        for row, total in enumerate(left):
            if total:
                axes.text(total + 0.1, row, str(total), va="center", fontsize=NOTE_SIZE)
        labels = [
            "\n".join(textwrap.wrap(self.plain(_CATEGORY[c]) if c in _CATEGORY else c, 22))
            for c in categories
        ]
        self._bars_layout(axes, y, labels, max(left) * 1.2 + 0.5, paged=False)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(self.plain("report.incidents_axis"), fontsize=LABEL_SIZE)
        _legend_on_top(axes)
        figure.suptitle(
            self.plain("report.incidents_title"), fontsize=TITLE_SIZE, fontweight="bold"
        )
        total = sum(counts.values())
        urgent = sum(n for (_, severity), n in counts.items() if severity in URGENT)
        caption = self.caption(
            "report.caption_incidents",
            incidents=self.amount("report.incidents", total),
            urgent=urgent,
        )
        return Chart("3-incidents.png", _png(figure), caption)

    def ratings(self, export: Export) -> Chart:
        counts = export_service.ratings(export)
        if not counts:
            return self.empty(
                "4-ratings.png", "report.ratings_title", "report.caption_ratings_none"
            )
        figure, axes = _figure()
        marks = [1, 2, 3, 4, 5]
        calm = [counts.get((m, False), 0) for m in marks]
        tense = [counts.get((m, True), 0) for m in marks]
        axes.bar(marks, calm, width=0.7, color=CALM, label=self.plain("report.ratings_calm"))
        axes.bar(
            marks,
            tense,
            width=0.7,
            bottom=calm,
            color=TENSION,
            label=self.plain("report.ratings_tension"),
        )
        totals = [a + b for a, b in zip(calm, tense, strict=True)]
        for mark, total in zip(marks, totals, strict=True):
            if total:
                axes.text(
                    mark, total + 0.05, str(total), ha="center", va="bottom", fontsize=NOTE_SIZE
                )
        axes.set_xticks(marks, [str(m) for m in marks], fontsize=TICK_SIZE)
        axes.tick_params(axis="y", labelsize=TICK_SIZE)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(0, max(totals) * 1.2 + 0.5)
        axes.set_xlabel(self.plain("report.ratings_axis_x"), fontsize=LABEL_SIZE)
        axes.set_ylabel(self.plain("report.ratings_axis_y"), fontsize=LABEL_SIZE)
        axes.spines[["top", "right"]].set_visible(False)
        _legend_on_top(axes)
        figure.suptitle(self.plain("report.ratings_title"), fontsize=TITLE_SIZE, fontweight="bold")
        evaluations = sum(totals)
        average = sum(m * t for m, t in zip(marks, totals, strict=True)) / evaluations
        shown = f"{average:.1f}"
        if self.lang == "nl":
            shown = shown.replace(".", ",")
        caption = self.caption(
            "report.caption_ratings",
            evaluations=self.amount("report.evaluations", evaluations),
            average=shown,
            tension=self.amount("report.evaluations", sum(tense)),
        )
        return Chart("4-ratings.png", _png(figure), caption)

    def _bars_layout(
        self, axes: Axes, y: Sequence[int], labels: Sequence[str], right: float, *, paged: bool
    ) -> None:
        """Horizontal bars: labels on the left, first row at the top, room for the numbers."""
        axes.set_yticks(list(y), list(labels), fontsize=TICK_SIZE)
        axes.tick_params(axis="x", labelsize=TICK_SIZE)
        # Room for a whole page when there are several, so the last page's bars are as thick
        # as the first's; a few bars alone do not fill the picture either.
        rows = PAGE_ROWS if paged else max(len(y), MIN_ROWS)
        axes.set_ylim(rows - 0.5, -0.5)
        axes.set_xlim(0, right)
        axes.spines[["top", "right"]].set_visible(False)


def _name(number: int, key: str, page: int, pages: int) -> str:
    return f"{number}-{key}.png" if pages == 1 else f"{number}-{key}-{page}.png"


def _legend_on_top(axes: Axes) -> None:
    """The legend in one row above the bars, where it hides none of them."""
    axes.legend(
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=4,
        fontsize=NOTE_SIZE,
        frameon=False,
        handlelength=1.2,
        columnspacing=1.0,
    )
