"""A streaming XLSX writer for one big table: a title row, a header row, then the rows.

openpyxl builds a cell object per value and checks and styles each one: half a million cells
(the ledger of a county-year, 50,000 issues) took ~10 s of CPU, most of it per-cell Python.
This writes the sheet's XML row by row straight into the zip, text as inline strings, with
five fixed cell formats; what the ledger needs and nothing more (SpreadsheetML, ECMA-376).
openpyxl still writes the small workbooks (the figures).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

_EPOCH = date(1899, 12, 30).toordinal()  # Excel's day 0 (with its 1900 leap-year quirk)
# XML 1.0 has no place for most control characters (openpyxl refuses them): dropped
_ESCAPE = {i: None for i in (*range(0, 9), 11, 12, *range(14, 32))}
_ESCAPE.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"})
# cell formats (styles.xml cellXfs): 0 plain, 1 title, 2 header, 3 wrapped text, 4 date
TITLE, HEADER, TEXT, DATE = 1, 2, 3, 4
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def col_letter(n: int) -> str:
    """1 -> A, 27 -> AA."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def esc(text: str) -> str:
    return text.translate(_ESCAPE)


@dataclass
class Table:
    sheet: str  # the sheet's name
    title: str  # row 1, merged across the columns, bold
    headers: list[str]  # row 2, bold, shaded, bordered
    widths: list[float]  # per column, in Excel character units
    date_columns: frozenset[int]  # 1-based columns whose values are dates
    freeze: str = "C3"  # the first cell that scrolls
    landscape: bool = True


def write_table(table: Table, rows: Sequence[list[object]], out: Path | io.BytesIO) -> int:
    """Write the table (values: str, int, float, date, datetime or None for an empty cell)
    as an .xlsx; returns how many rows were written. Printed with gridlines, title and header
    repeated on every page, fit to the page's width."""
    ncol = len(table.headers)
    last = col_letter(ncol)
    letters = [col_letter(c) for c in range(1, ncol + 1)]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            n = _write_sheet(f, table, rows, letters, last)
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/styles.xml", _STYLES)
        sheet = esc(table.sheet).replace("'", "''")
        z.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f'<sheets><sheet name="{esc(table.sheet)}" sheetId="1" r:id="rId1"/></sheets><definedNames>'
            f"<definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"0\" hidden=\"1\">'{sheet}'!$A$2:${last}${n + 2}"
            f"</definedName><definedName name=\"_xlnm.Print_Titles\" localSheetId=\"0\">'{sheet}'!$1:$2</definedName>"
            "</definedNames></workbook>"))
    return n


def _write_sheet(f: io.BufferedIOBase, table: Table, rows: Sequence[list[object]], letters: list[str],
                 last: str) -> int:
    ncol = len(letters)
    col, row = _split(table.freeze)
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(table.widths, 1))
    f.write((
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last}{len(rows) + 2}"/>'
        f'<sheetViews><sheetView workbookViewId="0"><pane xSplit="{col - 1}" ySplit="{row - 1}" '
        f'topLeftCell="{table.freeze}" activePane="bottomRight" state="frozen"/>'
        f'<selection pane="bottomRight" activeCell="{table.freeze}" sqref="{table.freeze}"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
        f'<row r="1" ht="28" customHeight="1"><c r="A1" s="{TITLE}" t="inlineStr"><is><t>{esc(table.title)}</t></is></c>'
        + "".join(f'<c r="{c}1" s="{TITLE}"/>' for c in letters[1:]) + '</row><row r="2">'
        + "".join(f'<c r="{c}2" s="{HEADER}" t="inlineStr"><is><t>{esc(h)}</t></is></c>'
                  for c, h in zip(letters, table.headers, strict=True))
        + "</row>").encode("utf-8"))
    dates = table.date_columns
    n = 0
    buf: list[str] = []
    for n, values in enumerate(rows, start=1):
        r = n + 2
        cells = [f'<row r="{r}">']
        for i, v in enumerate(values[:ncol]):
            if v is None or v == "":
                continue
            ref = f"{letters[i]}{r}"
            if isinstance(v, str):
                cells.append(f'<c r="{ref}" s="{TEXT}" t="inlineStr"><is><t xml:space="preserve">{v.translate(_ESCAPE)}</t></is></c>')
            elif isinstance(v, bool):
                cells.append(f'<c r="{ref}" s="{TEXT}" t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, date):  # a datetime too: its day (the ledger's dates are days)
                d = v.date() if isinstance(v, datetime) else v
                cells.append(f'<c r="{ref}" s="{DATE if i + 1 in dates else TEXT}"><v>{d.toordinal() - _EPOCH}</v></c>')
            else:
                cells.append(f'<c r="{ref}" s="{TEXT}"><v>{v}</v></c>')
        cells.append("</row>")
        buf.append("".join(cells))
        if len(buf) >= 500:
            f.write("".join(buf).encode("utf-8"))
            buf.clear()
    f.write("".join(buf).encode("utf-8"))
    f.write((
        f'</sheetData><autoFilter ref="A2:{last}{max(2, n + 2)}"/>'
        f'<mergeCells count="1"><mergeCell ref="A1:{last}1"/></mergeCells><printOptions gridLines="1"/>'
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        f'<pageSetup paperSize="9" orientation="{"landscape" if table.landscape else "portrait"}" '
        'fitToWidth="1" fitToHeight="0"/></worksheet>').encode())
    return n


def _split(ref: str) -> tuple[int, int]:
    """``C3`` -> (3, 3)."""
    letters = ref.rstrip("0123456789")
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return col, int(ref[len(letters):])


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
_ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'styles" Target="styles.xml"/></Relationships>')
_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="14"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/></patternFill></fill></fills>'
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left style="thin"><color rgb="FF999999"/></left><right style="thin"><color rgb="FF999999"/></right>'
    '<top style="thin"><color rgb="FF999999"/></top><bottom style="thin"><color rgb="FF999999"/></bottom>'
    '<diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center"/></xf>'
    '<xf numFmtId="0" fontId="2" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" '
    'applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
