"""A statement's PDF and CSV (docs/statements.md, "The documents"): the figures, the tags, the bytes kept once.

The PDF is rendered once for the module (rendering takes a second): the module's fixture builds a
real statement through the close, renders it, keeps what the tests compare and rolls everything
back, so each test still starts from an empty database.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import translation
from pypdf import PdfReader

from kartosfera.banks.models import Bank
from kartosfera.core.models import AuditEvent
from kartosfera.core.money import Money
from kartosfera.customers.models import Customer
from kartosfera.statements import documents
from kartosfera.statements.documents import (
    CSV_COLUMNS,
    csv_text,
    statement_csv_render,
    statement_lines,
    statement_pdf_get_or_create,
    statement_pdf_render,
)
from kartosfera.statements.models import DocumentFormat, Statement, StatementDocument, StatementLine
from kartosfera.statements.presenters import statement_view
from kartosfera.statements.tests.documents_helpers import (
    BANK_NAME,
    bank_with_legal_details,
    close,
    pdf_text,
    spaced,
    statement_of_a_busy_month,
    structure_tags,
)
from kartosfera.statements.tests.helpers import credit_card, pay_by_card
from kartosfera.testing import factories
from kartosfera.testing.concurrency import run_together

D = dt.date
ACTOR = factories.SYSTEM


@dataclass(frozen=True)
class Rendered:
    """What the module's PDF is compared with, read from the statement's rows and snapshot before rendering."""

    pdf: bytes
    title: str
    number: str
    figures: list[str]
    snapshot_texts: list[str]
    live_texts: list[str]
    lines: list[tuple[str, str, str]]
    header_cells: int


def _pl(minor: int) -> str:
    with translation.override("pl"):
        return spaced(Money(minor, "PLN").format())


@pytest.fixture(scope="module")
def rendered(django_db_setup, django_db_blocker) -> Rendered:
    with django_db_blocker.unblock(), transaction.atomic():
        bank = bank_with_legal_details()
        cc, statement = statement_of_a_busy_month(bank=bank)
        snapshot = statement.snapshot
        # The bank and the holder change after the statement date: the statement still says what it said.
        Bank.objects.filter(pk=bank.pk).update(name="Bank Przemianowany", registered_address="ul. Nowa 1")
        Customer.objects.filter(pk=cc.account.customer_id).update(first_name="Zmieniona", last_name="Osoba")
        statement = Statement.objects.get(pk=statement.pk)
        lines = statement_lines(statement)
        with translation.override("pl"):
            view = statement_view(statement, lines)
        result = Rendered(
            pdf=statement_pdf_render(statement=statement, lines=lines, language="pl"),
            title=view.title,
            number=statement.number,
            figures=[
                _pl(statement.opening_balance_minor),
                _pl(statement.debits_minor),
                _pl(statement.fees_minor),
                _pl(statement.credits_minor),
                _pl(statement.repayments_minor),
                _pl(statement.closing_balance_minor),
                _pl(statement.owed_minor),
                _pl(statement.minimum_payment_minor),
                _pl(statement.credit_limit_minor),
                _pl(statement.available_minor),
                statement.due_date.strftime("%d.%m.%Y"),
                statement.period_start.strftime("%d.%m.%Y"),
                statement.period_end.strftime("%d.%m.%Y"),
            ],
            snapshot_texts=[
                snapshot["bank"]["name"],
                snapshot["bank"]["registered_address"],
                f"KRS {snapshot['bank']['krs']}",
                f"NIP {snapshot['bank']['nip']}",
                f"REGON {snapshot['bank']['regon']}",
                snapshot["holder"]["name"],
                snapshot["account"]["reference"],
                snapshot["product"]["name"],
                "18,50%",
            ],
            live_texts=["Bank Przemianowany", "ul. Nowa 1", "Zmieniona Osoba"],
            lines=[
                (
                    line.transaction_date.strftime("%d.%m.%Y"),
                    spaced(item.description),
                    ("+" if line.balance_change_minor > 0 else "") + _pl(line.balance_change_minor),
                )
                for line, item in zip(lines, view.lines, strict=True)
            ],
            header_cells=len(view.summary) + len(view.terms) + 4,
        )
        transaction.set_rollback(True)
    return result


pytestmark = pytest.mark.django_db


# --- the PDF's text -----------------------------------------------------------------------------------


def test_the_pdfs_text_has_the_statements_figures_as_the_snapshot_states_them(rendered):
    text = pdf_text(rendered.pdf)

    assert rendered.title in text
    for figure in rendered.figures:
        assert figure in text, figure
    for detail in rendered.snapshot_texts:
        assert spaced(detail) in text, detail
    for live in rendered.live_texts:
        assert live not in text, live


def test_the_pdf_lists_every_line_with_its_date_words_and_amount(rendered):
    text = pdf_text(rendered.pdf)

    assert len(rendered.lines) == 7  # 5 movements, the withdrawal's fee, the conversion's fee
    for date, description, amount in rendered.lines:
        assert re.search(re.escape(date) + r" .*?" + re.escape(description), text), description
        assert amount in text, amount
    assert "Żabka Łódź-Bałuty" in text
    assert "Bankomat Euronet" in text  # the withdrawal, and its fee naming it
    assert text.count("Bankomat Euronet") == 2
    assert "1 EUR = 4,3100 PLN" in text


# --- the PDF is PDF/UA-1 ---------------------------------------------------------------------------------


def test_the_pdf_is_tagged_with_its_language_title_and_the_pdf_ua_identifier(rendered):
    reader = PdfReader(io.BytesIO(rendered.pdf))
    catalog = reader.trailer["/Root"]

    assert "/StructTreeRoot" in catalog
    assert bool(catalog["/MarkInfo"]["/Marked"])
    assert catalog["/Lang"] == "pl"
    assert bool(catalog["/ViewerPreferences"]["/DisplayDocTitle"])
    assert reader.metadata is not None
    assert reader.metadata.title == rendered.title
    assert reader.metadata.author == BANK_NAME  # the snapshot's, not the renamed bank's
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert 'pdfuaid:part="1"' in xmp
    assert rendered.title in xmp


def test_the_pdfs_structure_has_headings_tables_with_header_cells_and_the_logo_with_its_text(rendered):
    tags = structure_tags(rendered.pdf)
    names = [tag for tag, _node in tags]

    assert names.count("/H1") == 1
    assert names.count("/H2") == 5
    assert names.index("/H1") < names.index("/H2")
    assert "/Table" in names
    assert "/Caption" in names
    assert names.count("/TH") >= rendered.header_cells
    assert "/TD" in names
    figures = [node for tag, node in tags if tag == "/Figure"]
    assert [str(figure.get("/Alt")) for figure in figures] == [BANK_NAME]


def test_every_font_of_the_pdf_is_ours_and_embedded(rendered):
    reader = PdfReader(io.BytesIO(rendered.pdf))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts[str(font["/BaseFont"])] = "/FontFile2" in descriptor
    assert fonts
    assert all("DejaVu-Sans" in name for name in fonts), fonts
    assert all(fonts.values()), fonts


# --- stored once, the same bytes ever after ---------------------------------------------------------------


def test_the_first_download_stores_the_pdf_with_its_sha256_and_later_ones_get_the_same_bytes(monkeypatch):
    _cc, statement = statement_of_a_busy_month()

    first = statement_pdf_get_or_create(statement=statement, actor=ACTOR, language="pl")

    assert bytes(first.content).startswith(b"%PDF-")
    assert first.sha256 == hashlib.sha256(bytes(first.content)).hexdigest()
    assert first.size == len(bytes(first.content))
    [event] = AuditEvent.objects.filter(action="statements.document.stored")
    assert event.after["sha256"] == first.sha256
    assert (event.object_id, event.customer_id, event.bank_id) == (
        str(statement.pk),
        statement.customer_id,
        statement.bank_id,
    )

    def render_again(**kwargs):
        raise AssertionError("a stored PDF is never rendered again")

    monkeypatch.setattr(documents, "statement_pdf_render", render_again)
    again = statement_pdf_get_or_create(statement=statement, actor=ACTOR, language="pl")

    assert again.pk == first.pk
    assert bytes(again.content) == bytes(first.content)
    assert StatementDocument.objects.count() == 1
    assert AuditEvent.objects.filter(action="statements.document.stored").count() == 1


def test_each_language_has_its_own_pdf_with_its_own_lang():
    _cc, statement = statement_of_a_busy_month()

    polish = statement_pdf_get_or_create(statement=statement, actor=ACTOR, language="pl")
    english = statement_pdf_get_or_create(statement=statement, actor=ACTOR, language="en")

    assert polish.pk != english.pk
    assert (polish.language, english.language) == ("pl", "en")
    assert PdfReader(io.BytesIO(bytes(english.content))).trailer["/Root"]["/Lang"] == "en"
    with translation.override("en"):
        text = pdf_text(bytes(english.content))
        assert "Minimum payment" in text
        assert Money(statement.minimum_payment_minor, "PLN").format().replace("\xa0", " ") in text


def test_a_document_stored_meanwhile_by_another_request_is_the_one_returned(monkeypatch):
    """The unique constraint settles a race: the loser's insert fails and it returns the winner's bytes."""
    _cc, statement = statement_of_a_busy_month()
    winner = StatementDocument(
        statement=statement,
        format=DocumentFormat.PDF,
        language="pl",
        content=b"%PDF-the winner's bytes",
        sha256=hashlib.sha256(b"%PDF-the winner's bytes").hexdigest(),
        size=23,
    )
    winner.save(force_insert=True)
    looked_up = []
    real_lookup = documents._stored_pdf

    def lookup_missing_the_winner_once(statement, language):
        looked_up.append(language)
        return None if len(looked_up) == 1 else real_lookup(statement, language)

    monkeypatch.setattr(documents, "_stored_pdf", lookup_missing_the_winner_once)

    document = statement_pdf_get_or_create(statement=statement, actor=ACTOR, language="pl")

    assert document.pk == winner.pk
    assert bytes(document.content) == b"%PDF-the winner's bytes"
    assert StatementDocument.objects.count() == 1
    assert not AuditEvent.objects.filter(action="statements.document.stored").exists()


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serializes every writer")
@pytest.mark.django_db(transaction=True)
def test_two_first_downloads_at_once_store_one_document():
    _cc, statement = statement_of_a_busy_month()

    results = run_together(
        lambda: statement_pdf_get_or_create(statement=statement, actor=ACTOR, language="pl"),
        lambda: statement_pdf_get_or_create(statement=statement, actor=ACTOR, language="pl"),
    )

    assert results[0].pk == results[1].pk
    assert StatementDocument.objects.filter(statement=statement).count() == 1
    assert AuditEvent.objects.filter(action="statements.document.stored").count() == 1


def test_rendering_a_pdf_leaves_the_logo_check_refusing_a_truncated_png(rendered):
    """WeasyPrint's import makes Pillow load truncated images process-wide; documents.py puts the default back."""
    from PIL import ImageFile

    from kartosfera.banks.logos import logo_check
    from kartosfera.banks.tests.logos import png_bytes
    from kartosfera.core.errors import ValidationFailed

    assert rendered.pdf  # a PDF was rendered in this process
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(ValidationFailed):
        logo_check(data=png_bytes()[:60], content_type="image/png")


def test_the_renderer_fetches_nothing_but_our_fonts_and_data_uris():
    fetcher = documents._fetcher()
    font = Path(settings.BASE_DIR, "static", documents.FONT_DIRECTORY, "DejaVuSans.ttf").resolve()

    assert fetcher.fetch(font.as_uri()).read()[:4] == b"\x00\x01\x00\x00"
    assert fetcher.fetch("data:text/plain;base64,b2s=").read() == b"ok"
    for url in (
        "https://example.com/logo.png",
        "http://127.0.0.1:8000/banks/",
        Path(settings.BASE_DIR, "config", "settings.py").resolve().as_uri(),
        (font.parent / ".." / ".." / ".." / "config" / "settings.py").as_uri(),
        "file:///etc/passwd",
    ):
        with pytest.raises(ValueError, match="loads nothing"):
            fetcher.fetch(url)


# --- the CSV ------------------------------------------------------------------------------------------------


def _parse(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark, for Excel"
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert len(header) == len(CSV_COLUMNS)
    return [dict(zip([column.key for column in CSV_COLUMNS], row, strict=True)) for row in body]


def _decimal(text: str) -> Decimal:
    assert re.fullmatch(r"-?[0-9]+(,[0-9]+)?", text), text  # a decimal comma, no grouping: Polish Excel's number
    return Decimal(text.replace(",", "."))


def test_the_csv_round_trips_to_the_statements_lines_and_adds_up_to_its_balances():
    _cc, statement = statement_of_a_busy_month()
    lines = statement_lines(statement)

    rows = _parse(statement_csv_render(statement=statement, lines=lines, language="pl"))

    assert len(rows) == len(lines) == 7
    for row, line in zip(rows, lines, strict=True):
        assert row["statement"] == statement.number
        assert int(row["position"]) == line.position
        assert dt.datetime.strptime(row["transaction_date"], "%d.%m.%Y").date() == line.transaction_date
        assert dt.datetime.strptime(row["posting_date"], "%d.%m.%Y").date() == line.posting_date
        assert _decimal(row["amount"]) * 100 == line.balance_change_minor
        assert row["currency"] == "PLN"
        assert row["original_currency"] == line.currency
        assert abs(_decimal(row["original_amount"]) * 100) == line.amount_minor
        assert row["card"] == (f"*{line.card_last4}" if line.card_last4 else "")
    total = sum(_decimal(row["amount"]) for row in rows) * 100
    assert statement.opening_balance_minor + total == statement.closing_balance_minor
    euro = next(row for row in rows if row["original_currency"] == "EUR")
    assert (euro["original_amount"], euro["amount"], euro["rate"]) == ("-10,00", "-43,10", "4,31")
    assert euro["merchant_country"] == "CH"
    assert any(row["description"] == "Żabka Łódź-Bałuty" for row in rows)


def test_the_csvs_header_is_in_the_readers_language():
    _cc, statement = statement_of_a_busy_month()
    with translation.override("en"):
        content = statement_csv_render(statement=statement, lines=statement_lines(statement))

    header = next(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert header[:3] == ["Statement number", "No.", "Transaction date"]
    assert content.count(b"\r\n") == 1 + 7


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+48 600", "-2+3", "@SUM(A1)", "\tx"])
def test_text_that_a_spreadsheet_would_run_as_a_formula_is_written_as_text(text):
    assert csv_text(text) == "'" + text
    assert csv_text("Żabka 12") == "Żabka 12"


def test_a_merchant_named_like_a_formula_is_text_in_the_csv():
    cc = credit_card(opened=D(2026, 9, 3))
    pay_by_card(cc, 1_000, D(2026, 9, 4), merchant="=cmd|' /C calc'!A0", merchant_city="@Kraków")
    [statement] = close(D(2026, 9, 10))

    [row] = _parse(statement_csv_render(statement=statement, lines=statement_lines(statement)))

    assert row["description"] == "'=cmd|' /C calc'!A0"
    assert row["merchant_city"] == "'@Kraków"
    assert row["amount"] == "-10,00"


def test_the_documents_are_made_from_the_statements_rows_only(django_assert_max_num_queries):
    """The view model reads no ledger, bank or customer row: only the lines' query of the caller."""
    _cc, statement = statement_of_a_busy_month()
    statement = Statement.objects.select_related("corrects", "correction").get(pk=statement.pk)
    lines = list(StatementLine.objects.filter(statement=statement).order_by("position"))

    with django_assert_max_num_queries(0):
        statement_view(statement, lines)
        statement_csv_render(statement=statement, lines=lines)


def test_the_docs_list_the_csv_columns_in_order_with_their_english_headers():
    doc = (Path(settings.BASE_DIR) / "docs" / "statements.md").read_text(encoding="utf-8")
    table = doc.split("<!-- csv-columns:start -->")[1].split("<!-- csv-columns:end -->")[0]
    rows = [line.split("|")[1:3] for line in table.strip().splitlines()[2:]]

    documented = [(key.strip().strip("`"), header.strip()) for key, header in rows]
    with translation.override("en"):
        assert documented == [(column.key, str(column.header)) for column in CSV_COLUMNS]


def test_a_pdf_first_rendered_after_the_bank_changed_its_logo_shows_the_logo_of_the_statement_date():
    from kartosfera.banks.logos import bank_logo_set
    from kartosfera.banks.tests.logos import png_bytes

    bank = bank_with_legal_details()
    _cc, statement = statement_of_a_busy_month(bank=bank)
    old = png_bytes(colour="#006633")
    bank_logo_set(actor=factories.SYSTEM, bank=bank, data=png_bytes(colour="#aa0000"), content_type="image/png")

    lines = statement_lines(statement)
    with translation.override("pl"):
        view = statement_view(statement, lines)
    uri = documents._logo_data_uri(statement, view)

    assert uri == "data:image/png;base64," + base64.b64encode(old).decode("ascii")
    assert hashlib.sha256(old).hexdigest() == statement.snapshot["bank"]["logo_digest"]
