"""The export as an Excel workbook (.xlsx): one sheet per topic, typed cells, frozen headers."""

from __future__ import annotations

import io
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.reports.sheets import Cell, Column, Sheet, sheets
from bot.services.export import Export
from bot.texts import Texts

# Excel's number formats are the same codes in every language; the order of day and month
# follows the reader's.
DATE_FORMATS = {"nl": "dd-mm-yyyy", "en": "yyyy-mm-dd"}
DATETIME_FORMATS = {"nl": "dd-mm-yyyy hh:mm", "en": "yyyy-mm-dd hh:mm"}
TIME_FORMAT = "hh:mm"
PERCENT_FORMAT = "0%"
# Excel refuses longer sheet names, and these characters in them.
SHEET_NAME_LIMIT = 31
_NOT_IN_SHEET_NAMES = str.maketrans(dict.fromkeys("[]:*?/\\", "-"))
# Column widths in characters: wide enough for most values, never wider than a screen.
MIN_WIDTH = 6
MAX_WIDTH = 60
_FIXED_WIDTHS = {"date": 12, "datetime": 17, "time": 8, "percent": 11}


def build(export: Export, texts: Texts, lang: str, tz: ZoneInfo) -> bytes:
    """The workbook's bytes."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for table in sheets(export, texts, lang, tz):
        _write(workbook.create_sheet(_sheet_name(table.title)), table, lang)
    # The moment the data was taken, not the moment of writing: the same export, the same file.
    stamp = export.generated_at.astimezone(tz).replace(tzinfo=None, microsecond=0)
    workbook.properties.creator = "wijkbot"
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sheet_name(title: str) -> str:
    return title.translate(_NOT_IN_SHEET_NAMES)[:SHEET_NAME_LIMIT]


def _write(ws: Worksheet, table: Sheet, lang: str) -> None:
    bold = Font(bold=True)
    ws.append([c.header for c in table.columns])
    for cell in ws[1]:
        cell.font = bold
        cell.alignment = Alignment(vertical="top", wrap_text=False)
    for row in table.rows:
        ws.append(list(row))
    for index, column in enumerate(table.columns, start=1):
        number_format = _number_format(column, lang)
        if number_format is not None:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = _width(column, [r[index - 1] for r in table.rows])
    ws.freeze_panes = "A2"
    if table.rows:
        ws.auto_filter.ref = ws.dimensions


def _number_format(column: Column, lang: str) -> str | None:
    if column.kind == "date":
        return DATE_FORMATS.get(lang, DATE_FORMATS["nl"])
    if column.kind == "datetime":
        return DATETIME_FORMATS.get(lang, DATETIME_FORMATS["nl"])
    if column.kind == "time":
        return TIME_FORMAT
    if column.kind == "percent":
        return PERCENT_FORMAT
    return None


def _width(column: Column, values: list[Cell]) -> float:
    # Room for the header and the filter button beside it.
    header = len(column.header) + 3
    fixed = _FIXED_WIDTHS.get(column.kind)
    if fixed is not None:
        return max(fixed, header)
    longest = max((len(_shown(v)) for v in values), default=0)
    return min(MAX_WIDTH, max(MIN_WIDTH, header, longest + 2))


def _shown(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return "00-00-0000 00:00"
    return str(value)
