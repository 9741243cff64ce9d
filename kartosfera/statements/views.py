"""The holder's statements in the portal: the list of a credit card's statements, each one's page, its PDF and CSV.

Reached through the card (portal/urls.py: ``cards/<card_id>/statements/…``) and only by the
account's owner (selectors.py). Every answer is private (no-store: PrivatePageCacheMiddleware and
``never_cache``); the downloads are attachments with a safe file name, the PDF's stored SHA-256 as
its ETag and Repr-Digest, so the holder can tell that a second download is the same document.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from kartosfera.banks.models import Bank
from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_customer, cardholder_required, cardholder_user
from kartosfera.core.money import Money
from kartosfera.statements import selectors
from kartosfera.statements.documents import (
    CSV_CONTENT_TYPE,
    PDF_CONTENT_TYPE,
    document_filename,
    statement_csv_render,
    statement_lines,
    statement_pdf_get_or_create,
)
from kartosfera.statements.models import Statement
from kartosfera.statements.presenters import (
    StatementView,
    corrected_by,
    short_date,
    statement_period,
    statement_title,
    statement_view,
)


@dataclass(frozen=True)
class StatementRow:
    """A statement in a list: what to pay and by when, and whether it was corrected or corrects another."""

    statement: Statement
    title: str
    period: str
    closing_balance: Money
    owed: Money
    minimum_payment: Money
    due_date: str
    corrected_by_number: str


def statement_rows(statements: list[Statement]) -> list[StatementRow]:
    """The list's rows; the corrected and correcting statements come joined (selectors), no query per row."""
    rows = []
    for statement in statements:
        correction = corrected_by(statement)
        rows.append(
            StatementRow(
                statement=statement,
                title=statement_title(statement),
                period=statement_period(statement),
                closing_balance=statement.money(statement.closing_balance_minor),
                owed=statement.money(statement.owed_minor),
                minimum_payment=statement.money(statement.minimum_payment_minor),
                due_date=short_date(statement.due_date),
                corrected_by_number=correction.number if correction is not None else "",
            )
        )
    return rows


def logo_url(bank: Bank, view: StatementView) -> str:
    """The bank's logo on the page, only while it is the one the statement was issued with (its snapshot's digest)."""
    return bank.logo_url if view.logo_digest and bank.logo_digest == view.logo_digest else ""


def document_response(*, content: bytes, content_type: str, filename: str, sha256: str = "") -> HttpResponse:
    """A download: an attachment with a safe name, its SHA-256 as the ETag and the Repr-Digest (RFC 9530)."""
    digest = sha256 or hashlib.sha256(content).hexdigest()
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["Content-Length"] = str(len(content))
    response["ETag"] = f'"{digest}"'
    response["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode('ascii')}:"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def pdf_response(statement: Statement, actor: Actor) -> HttpResponse:
    """The statement's stored PDF in the active language (rendered and stored at its first download)."""
    document = statement_pdf_get_or_create(statement=statement, actor=actor)
    return document_response(
        content=bytes(document.content),
        content_type=PDF_CONTENT_TYPE,
        filename=document_filename(statement, "pdf"),
        sha256=document.sha256,
    )


def csv_response(statement: Statement) -> HttpResponse:
    """The statement's lines as CSV, made from its immutable rows."""
    content = statement_csv_render(statement=statement, lines=statement_lines(statement))
    return document_response(
        content=content, content_type=CSV_CONTENT_TYPE, filename=document_filename(statement, "csv")
    )


@never_cache
@require_safe
@cardholder_required
def statement_list(request: HttpRequest, card_id: int) -> HttpResponse:
    """The credit card's statements ("Zestawienia"), newest first: what to pay and by when, and the downloads."""
    customer = cardholder_customer(request)
    card = selectors.statement_card_get(customer=customer, card_id=card_id)
    statements = list(selectors.statement_list_for_card(customer=customer, card=card))
    return render(request, "statements/list.html", {"card": card, "rows": statement_rows(statements)})


@never_cache
@require_safe
@cardholder_required
def statement_detail(request: HttpRequest, card_id: int, statement_id: int) -> HttpResponse:
    """One statement as an accessible page: the same content as its PDF."""
    customer = cardholder_customer(request)
    card = selectors.statement_card_get(customer=customer, card_id=card_id)
    statement = selectors.statement_get_for_card(customer=customer, card=card, statement_id=statement_id)
    view = statement_view(statement, statement_lines(statement))
    context = {"card": card, "statement": statement, "view": view, "logo_src": logo_url(card.bank, view)}
    return render(request, "statements/detail.html", context)


@never_cache
@require_safe
@cardholder_required
def statement_pdf(request: HttpRequest, card_id: int, statement_id: int) -> HttpResponse:
    customer = cardholder_customer(request)
    card = selectors.statement_card_get(customer=customer, card_id=card_id)
    statement = selectors.statement_get_for_card(customer=customer, card=card, statement_id=statement_id)
    return pdf_response(statement, Actor.for_user(cardholder_user(request)))


@never_cache
@require_safe
@cardholder_required
def statement_csv(request: HttpRequest, card_id: int, statement_id: int) -> HttpResponse:
    customer = cardholder_customer(request)
    card = selectors.statement_card_get(customer=customer, card_id=card_id)
    statement = selectors.statement_get_for_card(customer=customer, card=card, statement_id=statement_id)
    return csv_response(statement)
