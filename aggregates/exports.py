"""Report exports: XLSX, CSV, PDF, DOCX and chart images (PNG/JPG: line, bar, pie).

* XLSX (openpyxl): one sheet per table, title and subtitle rows, bold filled header with
  frozen panes below it, number formats at reporting precision, summary rows in bold,
  notes under the table.
* CSV: the main table (header, rows, summary rows), then a blank row and the notes one
  per row (which standards the figures follow, "未核实" marks); UTF-8 with BOM so Excel
  opens the Chinese text correctly.

Spreadsheets evaluate a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR as a
formula, and station names, complaint titles and notes are typed by users: in CSV such a
text cell gets a leading ``'`` (OWASP, ASVS 1.2.10); in XLSX every text cell is stored as
text (openpyxl would store ``=…`` as a formula), so it shows exactly what was typed.
Numbers are numbers in both (a negative value is not text).
* PDF (reportlab): a CJK TrueType font is embedded (subset) — WenQuanYi Zen Hei from the
  Debian package ``fonts-wqy-zenhei`` by default, or ``aggregates.cjk_font``; the tables
  (landscape when wide), the charts and the notes.
* DOCX (python-docx): headings, the tables with a header row, the charts, the notes.
* PNG/JPG (matplotlib, Agg, no global pyplot state): the report's ``line``, ``bar`` or
  ``pie`` chart with Chinese labels.

All renderers read the same :class:`~aggregates.report_model.Report`, so every format shows the
same numbers.  ``export(report, fmt, path)`` is the one entry point.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Final, Literal

from aggregates.report_model import Cell, Chart, Column, Report

__all__ = [
    "CHART_KINDS",
    "CJK_FONT_CANDIDATES",
    "FORMATS",
    "ExportError",
    "chart_image",
    "export",
    "find_cjk_font",
    "neutralise_formula",
]

ExportFormat = Literal["xlsx", "csv", "pdf", "docx", "png", "jpg"]
FORMATS: Final[tuple[ExportFormat, ...]] = ("xlsx", "csv", "pdf", "docx", "png", "jpg")
CHART_KINDS: Final = ("line", "bar", "pie")
#: TrueType (glyf) CJK fonts reportlab can embed; the first that exists is used.  The Noto
#: CJK fonts of fonts-noto-cjk are CFF-based, which reportlab cannot embed.
CJK_FONT_CANDIDATES: Final[tuple[str, ...]] = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
_PDF_FONT: Final = "EnvgridCJK"
_HEADER_FILL: Final = "DDEBF7"


class ExportError(RuntimeError):
    """The export cannot be written; the message says what to install or change."""


def find_cjk_font(configured: Path | None = None) -> Path:
    """The CJK font file to embed: ``configured`` if given, else the first candidate."""
    if configured is not None:
        if not configured.is_file():
            raise ExportError(f"aggregates.cjk_font {configured} does not exist")
        return configured
    for candidate in CJK_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise ExportError(
        "no Chinese TrueType font found for PDF/PNG exports; install the Debian package"
        " fonts-wqy-zenhei (apt-get install fonts-wqy-zenhei) or set aggregates.cjk_font"
    )


def _text(value: Cell, column: Column | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float | Decimal) and column is not None and column.decimals is not None:
        return f"{value:.{column.decimals}f}"
    return str(value)


#: What makes a spreadsheet read a text cell as a formula.
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would evaluate it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _number(value: Cell) -> Cell:
    return float(value) if isinstance(value, Decimal) else value


# -- XLSX --------------------------------------------------------------------------------------
def _xlsx(report: Report, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    header_font = Font(bold=True)
    fill = PatternFill("solid", fgColor=_HEADER_FILL)
    for index, table in enumerate(report.tables):
        ws = wb.active if index == 0 else wb.create_sheet()
        assert ws is not None
        ws.title = table.name[:31]
        ncols = len(table.columns)
        title = ws.cell(row=1, column=1, value=report.title)
        title.data_type, title.font = "s", Font(bold=True, size=14)
        ws.cell(row=2, column=1, value=report.subtitle).data_type = "s"
        ws.cell(row=3, column=1, value=f"生成时间：{report.generated_at:%Y-%m-%d %H:%M}")
        if ncols > 1:
            for r in (1, 2, 3):
                ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
        header_row = 4
        for c, col in enumerate(table.columns, start=1):
            title = f"{col.title}\n({col.unit})" if col.unit else col.title
            cell = ws.cell(row=header_row, column=c, value=title)
            cell.data_type = "s"
            cell.font, cell.fill, cell.border = header_font, fill, border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            ws.column_dimensions[get_column_letter(c)].width = max(col.width, 6) + 2
        ws.row_dimensions[header_row].height = 32
        formats = [
            ("0" if col.decimals == 0 else "0." + "0" * col.decimals)
            if col.decimals is not None
            else None
            for col in table.columns
        ]
        r = header_row
        for bold, rows in ((False, table.rows), (True, table.summary)):
            for row in rows:
                r += 1
                for c, value in enumerate(row, start=1):
                    cell = ws.cell(row=r, column=c, value=_number(value))
                    if isinstance(value, str):
                        cell.data_type = "s"  # text, never a formula
                    cell.border = border
                    fmt = formats[c - 1] if c <= len(formats) else None
                    if fmt is not None and isinstance(value, float | Decimal):
                        cell.number_format = fmt
                    if value is None:
                        cell.value = "—"
                        cell.alignment = Alignment(horizontal="center")
                    if bold:
                        cell.font = header_font
        ws.freeze_panes = ws.cell(row=header_row + 1, column=2 if ncols > 1 else 1)
        r += 2
        for note in report.notes:
            ws.cell(row=r, column=1, value=note).data_type = "s"
            r += 1
    wb.save(path)


# -- CSV ---------------------------------------------------------------------------------------
def _csv_cell(value: Cell, column: Column) -> str:
    if value is None:
        return ""
    return neutralise_formula(value) if isinstance(value, str) else _text(value, column)


def _csv(report: Report, path: Path) -> None:
    table = report.main
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        titles = [f"{c.title} ({c.unit})" if c.unit else c.title for c in table.columns]
        writer.writerow([neutralise_formula(t) for t in titles])
        for row in [*table.rows, *table.summary]:
            writer.writerow([_csv_cell(v, col) for v, col in zip(row, table.columns, strict=False)])
        if report.notes:  # the footnotes (standards used, unverified marks), one per row
            writer.writerow([])
            for note in report.notes:
                writer.writerow([neutralise_formula(note)])


# -- charts ------------------------------------------------------------------------------------
def chart_image(
    chart: Chart, fmt: Literal["png", "jpg"] = "png", *, font: Path | None = None, dpi: int = 120
) -> bytes:
    """Render a chart (line, bar or pie) with Chinese labels; returns PNG or JPEG bytes."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font_path = find_cjk_font(font)
    prop = font_manager.FontProperties(fname=str(font_path))
    fig = Figure(figsize=(9, 4.5), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cats = chart.categories
    if chart.kind == "pie":
        values = next(iter(chart.series.values()), [])
        pairs = [(c, v) for c, v in zip(cats, values, strict=False) if v]
        if pairs:
            _wedges, texts, autotexts = ax.pie(
                [v for _, v in pairs],
                labels=[c for c, _ in pairs],
                autopct="%1.1f%%",
                colors=chart.colors,
                startangle=90,
            )
            for t in [*texts, *autotexts]:
                t.set_fontproperties(prop)
        else:
            ax.text(0.5, 0.5, "无数据", ha="center", va="center", fontproperties=prop)
        ax.axis("equal")
    else:
        x = list(range(len(cats)))
        for name, values in chart.series.items():
            ys = [float("nan") if v is None else v for v in values]
            if chart.kind == "line":
                ax.plot(x, ys, marker="o", markersize=3, label=name)
            else:
                ax.bar(x, [0 if v is None else v for v in values], color=chart.colors, label=name)
        step = max(1, len(cats) // 16)
        ax.set_xticks(x[::step])
        ax.set_xticklabels(cats[::step], fontproperties=prop, rotation=30, ha="right")
        if chart.y_label:
            ax.set_ylabel(chart.y_label, fontproperties=prop)
        ax.grid(axis="y", alpha=0.3)
        if len(chart.series) > 1:
            ax.legend(prop=prop)
    ax.set_title(chart.title, fontproperties=prop)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="jpeg" if fmt == "jpg" else "png")
    return buf.getvalue()


# -- PDF ---------------------------------------------------------------------------------------
def _register_pdf_font(font: Path) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    try:
        pdfmetrics.getFont(_PDF_FONT)
    except KeyError:
        kwargs = {"subfontIndex": 0} if font.suffix.lower() == ".ttc" else {}
        pdfmetrics.registerFont(TTFont(_PDF_FONT, str(font), **kwargs))
    return _PDF_FONT


def _pdf(report: Report, path: Path, font: Path | None) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        Image,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
    )
    from reportlab.platypus import (
        Table as PdfTable,
    )
    from reportlab.platypus import (
        TableStyle as PdfTableStyle,
    )

    font_path = find_cjk_font(font)
    name = _register_pdf_font(font_path)
    printable = [t for t in report.tables if not t.wide]
    widest = max((len(t.columns) for t in printable), default=1)
    pagesize = landscape(A4) if widest > 9 else A4
    doc = SimpleDocTemplate(
        str(path),
        pagesize=pagesize,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=report.title,
    )
    title = ParagraphStyle("t", fontName=name, fontSize=16, leading=22, alignment=1)
    body = ParagraphStyle("b", fontName=name, fontSize=9, leading=13)
    cell_style = ParagraphStyle("c", fontName=name, fontSize=7.5, leading=9.5, alignment=1)
    story: list[object] = [Paragraph(report.title, title), Spacer(1, 3 * mm)]
    story.append(Paragraph(report.subtitle, body))
    story.append(Paragraph(f"生成时间：{report.generated_at:%Y-%m-%d %H:%M}", body))
    story.append(Spacer(1, 4 * mm))
    usable = pagesize[0] - 24 * mm
    for table in printable:
        story.append(Paragraph(table.name, body))
        header = [
            Paragraph(f"{c.title}<br/>({c.unit})" if c.unit else c.title, cell_style)
            for c in table.columns
        ]
        data = [header] + [
            [_text(v, col) for v, col in zip(row, table.columns, strict=False)]
            for row in [*table.rows, *table.summary]
        ]
        total_width = sum(c.width for c in table.columns)
        widths = [usable * c.width / total_width for c in table.columns]
        t = PdfTable(data, colWidths=widths, repeatRows=1)
        style = [
            ("FONTNAME", (0, 0), (-1, -1), name),
            ("FONTSIZE", (0, 1), (-1, -1), 7.5),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#" + _HEADER_FILL)),
            ("ALIGN", (0, 0), (-1, -1), "CENTER"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
        if table.summary:
            style.append(
                ("BACKGROUND", (0, len(table.rows) + 1), (-1, -1), colors.HexColor("#F2F2F2"))
            )
        t.setStyle(PdfTableStyle(style))
        story += [t, Spacer(1, 4 * mm)]
    for table in report.tables:
        if table.wide:
            story.append(Paragraph(f"“{table.name}”明细见 XLSX/CSV 导出。", body))
    for kind in CHART_KINDS:
        chart = report.charts.get(kind)
        if chart is None or (kind == "line" and report.charts.get("bar") is chart):
            continue
        png = chart_image(chart, "png", font=font_path, dpi=110)
        img = Image(io.BytesIO(png), width=usable * 0.8, height=usable * 0.4)
        story += [img, Spacer(1, 3 * mm)]
    for note in report.notes:
        story.append(Paragraph(note, body))
    if not story:
        story.append(PageBreak())
    doc.build(story)


# -- DOCX --------------------------------------------------------------------------------------
def _docx(report: Report, path: Path, font: Path | None) -> None:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(9)
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    printable = [t for t in report.tables if not t.wide]
    if max((len(t.columns) for t in printable), default=1) > 9:
        section = doc.sections[0]
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for section in doc.sections:
        section.left_margin = section.right_margin = Cm(1.5)
    doc.add_heading(report.title, level=1)
    doc.add_paragraph(report.subtitle)
    doc.add_paragraph(f"生成时间：{report.generated_at:%Y-%m-%d %H:%M}")
    for table in printable:
        doc.add_heading(table.name, level=2)
        t = doc.add_table(rows=1, cols=len(table.columns))
        t.style = "Table Grid"
        for cell, col in zip(t.rows[0].cells, table.columns, strict=False):
            cell.text = f"{col.title} ({col.unit})" if col.unit else col.title
            for run in cell.paragraphs[0].runs:
                run.bold = True
        for row in [*table.rows, *table.summary]:
            cells = t.add_row().cells
            for cell, value, col in zip(cells, row, table.columns, strict=False):
                cell.text = _text(value, col)
    for table in report.tables:
        if table.wide:
            doc.add_paragraph(f"“{table.name}”明细见 XLSX/CSV 导出。")
    font_path = find_cjk_font(font)
    for kind in CHART_KINDS:
        chart = report.charts.get(kind)
        if chart is None or (kind == "line" and report.charts.get("bar") is chart):
            continue
        doc.add_picture(io.BytesIO(chart_image(chart, "png", font=font_path)), width=Cm(16))
    for note in report.notes:
        doc.add_paragraph(note)
    doc.save(str(path))


# -- entry point --------------------------------------------------------------------------------
def export(
    report: Report,
    fmt: str,
    path: Path,
    *,
    chart: str = "line",
    font: Path | None = None,
) -> Path:
    """Write ``report`` as ``fmt`` (xlsx, csv, pdf, docx, png, jpg) to ``path``; for images
    ``chart`` picks the line, bar or pie chart.  Returns ``path``."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        _xlsx(report, path)
    elif fmt == "csv":
        _csv(report, path)
    elif fmt == "pdf":
        _pdf(report, path, font)
    elif fmt == "docx":
        _docx(report, path, font)
    else:
        if chart not in CHART_KINDS:
            raise ExportError(
                f"unknown chart {chart!r} (expected one of: {', '.join(CHART_KINDS)})"
            )
        if chart not in report.charts:
            raise ExportError(f"this report has no {chart} chart")
        image_fmt: Literal["png", "jpg"] = "jpg" if fmt == "jpg" else "png"
        path.write_bytes(chart_image(report.charts[chart], image_fmt, font=font))
    return path
