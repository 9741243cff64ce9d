"""A closed statement with every kind of line, and ways to read its PDF back, for the documents' tests."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any

import time_machine
from pypdf import PdfReader

from kartosfera.banks.logos import bank_logo_set
from kartosfera.banks.services import bank_update
from kartosfera.banks.tests.logos import png_bytes
from kartosfera.processing.models import Channel
from kartosfera.statements.close import statements_close
from kartosfera.statements.models import Statement
from kartosfera.statements.tests.helpers import CreditCard, at, credit_card, pay_by_card, repay, spend
from kartosfera.testing import factories

D = dt.date
OPENED = D(2026, 9, 3)
STATEMENT_DATE = D(2026, 9, 10)
BANK_NAME = "Bank Spółdzielczy w Żółkiewce"
BANK_ADDRESS = "ul. Źródlana 7, 22-335 Żółkiewka"


def close(as_of: dt.date) -> list[Statement]:
    """Run the daily close the night after ``as_of``; every statement, oldest first."""
    with time_machine.travel(at(as_of + dt.timedelta(days=1), 2), tick=False):
        statements_close(as_of=as_of)
    return list(Statement.objects.order_by("period_end", "id"))


def bank_with_legal_details(code: str = "") -> Any:
    bank = factories.bank_factory(code)
    bank = bank_update(
        actor=factories.SYSTEM,
        bank=bank,
        name=BANK_NAME,
        registered_address=BANK_ADDRESS,
        krs="0000123456",
        nip="9990001019",
        regon="999000101",
        website="https://bs-zolkiewka.example",
    )
    return bank_logo_set(actor=factories.SYSTEM, bank=bank, data=png_bytes(), content_type="image/png")


def busy_month(cc: CreditCard) -> None:
    """A month with every kind of line: payments with Polish letters, a cash withdrawal, a payment in euros, a bank
    debit and a repayment (the close adds the withdrawal's and the conversion's fees)."""
    pay_by_card(cc, 12_345, D(2026, 9, 4), merchant="Żabka Łódź-Bałuty", merchant_city="Łódź")
    pay_by_card(cc, 20_000, D(2026, 9, 5), merchant="Bankomat Euronet", mcc="6011", channel=Channel.ATM)
    pay_by_card(
        cc,
        1_000,
        D(2026, 9, 6),
        merchant="Café Zürich",
        merchant_city="Zürich",
        merchant_country="CH",
        currency="EUR",
        billing_amount_minor=4_310,
        billing_rate=Decimal("4.31"),
    )
    spend(cc, 123_456, D(2026, 9, 8))
    repay(cc, 5_000, D(2026, 9, 9))


def statement_of_a_busy_month(**card: Any) -> tuple[CreditCard, Statement]:
    """A credit card of a bank with its legal details and logo, and the first statement of a busy month."""
    cc = credit_card(opened=OPENED, **card)
    busy_month(cc)
    [statement] = [s for s in close(STATEMENT_DATE) if s.account_id == cc.account.pk]
    return cc, statement


def pdf_text(pdf: bytes) -> str:
    """The PDF's text, pages joined, every run of white space (no-break spaces too) as one space."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return spaced(text)


def spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " ")).strip()


def structure_tags(pdf: bytes) -> list[tuple[str, Any]]:
    """Every structure element of the PDF's tag tree, in reading order: (tag, the element's dictionary)."""
    reader = PdfReader(io.BytesIO(pdf))
    found: list[tuple[str, Any]] = []

    def walk(node: Any) -> None:
        node = node.get_object()
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        tag = node.get("/S")
        if tag is not None:
            found.append((str(tag), node))
        if "/K" in node:
            walk(node["/K"])

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found
