"""Excel (.xlsx) downloads built with openpyxl: Chinese headers, times as real Excel dates in
Beijing time (yyyy-mm-dd hh:mm), and text columns (身份证号, case numbers) stored as text so Excel
never turns 18 digits into 3.2E+17."""
from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from werkzeug.wrappers import Response

from engine.calendar import BEIJING

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


def _cell(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, datetime):
        local = value.astimezone(BEIJING) if value.tzinfo else value
        return local.replace(tzinfo=None), DATETIME_FORMAT
    if isinstance(value, date):
        return value, DATE_FORMAT
    if value is None:
        return None, None
    if isinstance(value, (int, float)):
        return value, None
    return str(value), "@"


def add_sheet(book: Workbook, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]],
              widths: Sequence[int] = ()) -> None:
    """One sheet: a bold header row, then the rows (datetimes as dates, strings as text)."""
    sheet = book.create_sheet(title[:31])
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            stored, fmt = _cell(value)
            cell = sheet.cell(row=r, column=c, value=stored)
            if fmt:
                cell.number_format = fmt
    for c, header in enumerate(headers, start=1):
        width = widths[c - 1] if c - 1 < len(widths) else max(10, len(header) * 2 + 2)
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.freeze_panes = "A2"


def new_book() -> Workbook:
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    return book


def download(book: Workbook, filename: str) -> Response:
    """The workbook as an attachment (the Chinese file name per RFC 5987, an ASCII fallback)."""
    buffer = io.BytesIO()
    book.save(buffer)
    ascii_name = filename.encode("ascii", "ignore").decode() or "export.xlsx"
    return Response(buffer.getvalue(), mimetype=XLSX, headers={
        "Content-Disposition": f"attachment; filename={ascii_name}; filename*=UTF-8''{quote(filename)}"})
