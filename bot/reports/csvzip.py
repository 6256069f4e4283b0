"""The export as CSV files in a zip: the same tables as the workbook, one file each.

Each file is UTF-8 with a byte-order mark, without which Excel reads UTF-8 as the old Windows
code page and garbles every "ë" and "–". Fields are separated by semicolons: the users are in
the Netherlands, where Excel's list separator is ";" (the comma is the decimal sign), so a
double-click opens the file in columns; LibreOffice and every CSV library take ";" as well.
Dates are written as ISO dates (2027-02-10) and moments as "2027-02-10 08:45", which Excel
recognises in every locale; percentages as whole numbers.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.reports.sheets import Cell, Column, sheets
from bot.services.export import Export
from bot.texts import Texts

DELIMITER = ";"
BOM = "\ufeff"
_NOT_IN_NAMES = re.compile(r"[^a-z0-9]+")


def build(export: Export, texts: Texts, lang: str, tz: ZoneInfo) -> bytes:
    """The zip's bytes: 1-koppels.csv, 2-data.csv, … in the order of the workbook's tabs."""
    # Fixed entry times: the same export gives the same zip.
    stamp = export.generated_at.astimezone(tz)
    when = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, table in enumerate(sheets(export, texts, lang, tz), start=1):
            text = io.StringIO()
            writer = csv.writer(text, delimiter=DELIMITER, lineterminator="\r\n")
            writer.writerow([c.header for c in table.columns])
            for row in table.rows:
                writer.writerow([_field(c, v) for c, v in zip(table.columns, row, strict=True)])
            info = zipfile.ZipInfo(f"{number}-{file_name(table.title)}.csv", date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (BOM + text.getvalue()).encode("utf-8"))
    return out.getvalue()


def file_name(title: str) -> str:
    """'Check-ins en evaluaties' → 'check-ins-en-evaluaties'."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return _NOT_IN_NAMES.sub("-", plain.lower()).strip("-") or "tabel"


def _field(column: Column, value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if column.kind == "percent" and isinstance(value, float):
        return str(round(value * 100))
    return str(value)
