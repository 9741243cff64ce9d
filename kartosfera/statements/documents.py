"""A statement's documents: its PDF (PDF/UA-1, rendered once and kept) and its CSV (docs/statements.md).

**The PDF** is the statement's page content (templates/statements/_statement.html) rendered by
WeasyPrint as PDF/UA-1 (docs/decisions/0016): tagged (headings, tables with header cells, the
reading order of the HTML), its language and title set, our own font embedded. It is rendered at
its first download in the reader's language and stored with its SHA-256 in ``StatementDocument``
(one per statement, format and language): every later download, the holder's or the staff's, gets
the same bytes. Two first downloads at once render twice but store once: the unique constraint
lets one insert win, and the other reads the winner's row.

Rendering never reaches the network or the file system beyond our own fonts: the URL fetcher
serves the font files under static/fonts/ and ``data:`` URIs (the bank's logo) and refuses
anything else, failing the render rather than silently dropping a resource.

**The CSV** is the statement's lines for a spreadsheet, in the format Polish Excel opens without
an import wizard: UTF-8 with a byte order mark, ``;`` between fields, dates as dd.mm.yyyy and
amounts with a decimal comma and no grouping. It is made from the immutable rows at each download
(the same rows give the same bytes), so it is not stored.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import pgettext, pgettext_lazy

from kartosfera.banks.models import BankLogo
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.collector import cyclic_gc_paused
from kartosfera.processing.conversion import minor_exponent
from kartosfera.statements.models import DocumentFormat, Statement, StatementDocument, StatementLine
from kartosfera.statements.presenters import LineView, StatementView, statement_view

PDF_STYLESHEET = "css/statement-pdf.css"
FONT_DIRECTORY = "fonts/dejavu"
PDF_VARIANT = "pdf/ua-1"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
PDF_CONTENT_TYPE = "application/pdf"


def _static_path(relative: str) -> Path:
    found = finders.find(relative)
    if not found or isinstance(found, list):
        raise ImproperlyConfigured(f"static/{relative} is missing: the statements' PDF needs it")
    return Path(found).resolve()


def document_language(language: str | None = None) -> str:
    """The language a document is rendered in: the active one when supported, else the site's default (Polish)."""
    supported = dict(settings.LANGUAGES)
    code = (language or translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return code if code in supported else settings.LANGUAGE_CODE


def statement_lines(statement: Statement) -> list[StatementLine]:
    """The statement's lines in their order (one query)."""
    return list(StatementLine.objects.filter(statement=statement).order_by("position"))


# --- the PDF ------------------------------------------------------------------------------------------


def _weasyprint() -> Any:
    """WeasyPrint, imported at the first render (it loads Pango; nothing else in the process needs it).

    Importing it sets Pillow's process-wide ``ImageFile.LOAD_TRUNCATED_IMAGES`` to True, which would
    make Pillow accept the truncated PNG a bank's logo check refuses (banks/logos.py) in every later
    request of the process. Our PDFs embed only logos that passed that check, so the default is put back.
    """
    import weasyprint
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False
    return weasyprint


def _fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves our fonts and ``data:`` URIs only, and fails on anything else."""
    _weasyprint()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    fonts = _static_path(FONT_DIRECTORY)

    class OwnFilesOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path)).resolve()
                if path.is_relative_to(fonts) and path.is_file():
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": "font/ttf"})
            raise ValueError(f"a statement's PDF loads nothing from {url!r}")

    return OwnFilesOnly(fail_on_errors=True, allowed_protocols=("file", "data"))


def _logo_data_uri(statement: Statement, view: StatementView) -> str:
    """The bank's logo as it was on the statement date (by the snapshot's digest), or "" when it had none.

    Every logo a bank has had stays in ``BankLogo`` by its digest, so a PDF rendered for the first time
    after the bank changed its logo still shows the one the statement was issued under.
    """
    if not view.logo_digest:
        return ""
    logo = (
        BankLogo.objects.filter(bank_id=statement.bank_id, digest=view.logo_digest)
        .values_list("data", "content_type")
        .first()
    )
    if logo is None:
        return ""
    data, content_type = logo
    return f"data:{content_type};base64,{base64.b64encode(bytes(data)).decode('ascii')}"


def statement_pdf_render(*, statement: Statement, lines: list[StatementLine], language: str) -> bytes:
    """The statement as a PDF/UA-1 document in ``language``."""
    weasyprint = _weasyprint()
    fetcher = _fetcher()
    with translation.override(language):
        view = statement_view(statement, lines)
        html = render_to_string(
            "statements/pdf.html",
            {
                "view": view,
                "language": language,
                "pdf": True,
                "logo_src": _logo_data_uri(statement, view),
                "created": timezone.localtime(statement.closed_at).isoformat(timespec="seconds"),
            },
        )
    base_url = _static_path(FONT_DIRECTORY).as_uri() + "/"
    # Parsing and layout make a million short-lived objects: the cyclic collector's full runs over the whole
    # process, which they set off, added half again to the render (kartosfera/core/collector.py).
    with cyclic_gc_paused():
        stylesheet = weasyprint.CSS(filename=str(_static_path(PDF_STYLESHEET)), url_fetcher=fetcher)
        document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        pdf: bytes = document.write_pdf(stylesheets=[stylesheet], pdf_variant=PDF_VARIANT)
    return pdf


def _stored_pdf(statement: Statement, language: str) -> StatementDocument | None:
    return StatementDocument.objects.filter(statement=statement, format=DocumentFormat.PDF, language=language).first()


def statement_pdf_get_or_create(
    *, statement: Statement, actor: Actor, language: str | None = None
) -> StatementDocument:
    """The statement's PDF in ``language`` (default: the active one), stored at its first request: the same bytes after.

    The render runs outside any transaction (it takes a while and writes nothing); the insert and its
    audit row are one transaction. If another request stored the document meanwhile, the unique
    constraint refuses ours and theirs is returned: one statement, format and language, one document.
    """
    language = document_language(language)
    stored = _stored_pdf(statement, language)
    if stored is not None:
        return stored
    content = statement_pdf_render(statement=statement, lines=statement_lines(statement), language=language)
    digest = hashlib.sha256(content).hexdigest()
    try:
        with transaction.atomic():
            document = StatementDocument(
                statement=statement,
                format=DocumentFormat.PDF,
                language=language,
                content=content,
                sha256=digest,
                size=len(content),
            )
            document.save(force_insert=True)
            audit_record(
                actor=actor,
                action="statements.document.stored",
                obj=statement,
                customer_id=statement.customer_id,
                bank_id=statement.bank_id,
                after={
                    "number": statement.number,
                    "format": DocumentFormat.PDF.value,
                    "language": language,
                    "sha256": digest,
                    "size": len(content),
                },
            )
    except IntegrityError:
        # Another request stored it first: its bytes are the statement's PDF.
        stored = _stored_pdf(statement, language)
        if stored is None:
            raise
        return stored
    return document


# --- the CSV ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvColumn:
    key: str
    header: Any  # a lazy translation: the header is written in the reader's language


# The columns, in order; docs/statements.md ("The CSV") documents each and a test keeps the two equal.
CSV_COLUMNS = (
    CsvColumn("statement", pgettext_lazy("CSV column", "Statement number")),
    CsvColumn("position", pgettext_lazy("CSV column", "No.")),
    CsvColumn("transaction_date", pgettext_lazy("CSV column", "Transaction date")),
    CsvColumn("posting_date", pgettext_lazy("CSV column", "Posting date")),
    CsvColumn("kind", pgettext_lazy("CSV column", "Kind")),
    CsvColumn("description", pgettext_lazy("CSV column", "Description")),
    CsvColumn("merchant_city", pgettext_lazy("CSV column", "City")),
    CsvColumn("merchant_country", pgettext_lazy("CSV column", "Country")),
    CsvColumn("card", pgettext_lazy("CSV column", "Card")),
    CsvColumn("amount", pgettext_lazy("CSV column", "Amount")),
    CsvColumn("currency", pgettext_lazy("CSV column", "Currency")),
    CsvColumn("original_amount", pgettext_lazy("CSV column", "Amount in the original currency")),
    CsvColumn("original_currency", pgettext_lazy("CSV column", "Original currency")),
    CsvColumn("rate", pgettext_lazy("CSV column", "Conversion rate")),
    CsvColumn("markup", pgettext_lazy("CSV column", "Conversion charge over the ECB rate (%)")),
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): text from outside
# (a merchant's name) that starts with one is written with a leading apostrophe, which Excel shows as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_date(day: Any) -> str:
    """A date as Polish Excel reads it: 05.10.2026."""
    return day.strftime("%d.%m.%Y") if day is not None else ""


def csv_number(value: Decimal | None, *, places: int | None = None) -> str:
    """A number as Polish Excel reads it: a decimal comma, no grouping ("-1234,56")."""
    if value is None:
        return ""
    # A rate keeps its digits, without trailing zeros (4.310000000 → 4,31); an amount its minor unit's places.
    exact = value.normalize() if places is None else value.quantize(Decimal(1).scaleb(-places))
    return format(exact, "f").replace(".", ",")


def csv_amount(minor: int, currency: str) -> str:
    places = minor_exponent(currency)
    return csv_number(Decimal(minor).scaleb(-places), places=places)


def csv_text(value: str) -> str:
    """Text from outside, safe in a spreadsheet: never read as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _csv_row(statement: Statement, item: LineView) -> dict[str, str]:
    line = item.line
    # The original amount carries the line's sign, like the amount in the account's currency.
    original_minor = line.amount_minor if line.balance_change_minor > 0 else -line.amount_minor
    return {
        "statement": statement.number,
        "position": str(line.position),
        "transaction_date": csv_date(line.transaction_date),
        "posting_date": csv_date(line.posting_date),
        "kind": item.kind_label,
        "description": csv_text(item.description),
        "merchant_city": csv_text(line.merchant_city),
        "merchant_country": line.merchant_country,
        "card": f"*{line.card_last4}" if line.card_last4 else "",
        "amount": csv_amount(line.balance_change_minor, statement.currency),
        "currency": statement.currency,
        "original_amount": csv_amount(original_minor, line.currency),
        "original_currency": line.currency,
        "rate": csv_number(line.fx_rate),
        "markup": csv_number(line.fx_markup_percent, places=2),
    }


def statement_csv_render(*, statement: Statement, lines: list[StatementLine], language: str | None = None) -> bytes:
    """The statement's lines as CSV for a spreadsheet (UTF-8 with BOM, ``;``, Polish dates and numbers)."""
    language = document_language(language)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    with translation.override(language):
        view = statement_view(statement, lines)
        writer.writerow([str(column.header) for column in CSV_COLUMNS])
        for item in view.lines:
            row = _csv_row(statement, item)
            writer.writerow([row[column.key] for column in CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def _ascii_words(text: str) -> str:
    """``text``'s ASCII letters and digits, each run joined by a dash: "ACC000123/2026/09" → "ACC000123-2026-09"."""
    return "-".join("".join(c if c.isascii() and c.isalnum() else " " for c in text).split())


def document_filename(statement: Statement, extension: str, language: str | None = None) -> str:
    """A safe file name for a download: "zestawienie-ACC000123-2026-09.pdf" (ASCII letters, digits and dashes)."""
    with translation.override(document_language(language)):
        word = pgettext("file name", "statement")
    return f"{_ascii_words(word) or 'statement'}-{_ascii_words(statement.number)}.{extension}"
