"""Help ("Pomoc"): the user guide, security advice, browser requirements, accessibility statement.

Public, no sign-in: help is needed most by somebody who cannot sign in (locked out, lost phone).
The pages are prose in the templates, translated paragraph by paragraph; nothing here writes
customers' data, and the only thing read is which banks a signed-in cardholder is a customer of.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from kartosfera.banks.selectors import bank_contacts_for_customer
from kartosfera.core.money import Currency, Money
from kartosfera.secure3d.services import threeds_exemption_rule

# The accessibility statement's dates: when it was prepared (a self-assessment) and last reviewed.
# Review it, and move REVIEWED, whenever a release changes what people see (at least once a year).
STATEMENT_PREPARED = dt.date(2026, 11, 29)
STATEMENT_REVIEWED = dt.date(2026, 11, 29)


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """The help section's start page: what each help page answers, and whom to call.

    A signed-in cardholder also sees each of their banks' helplines and branches: the bank that
    issued a card is the one to call about it.
    """
    customer_id = getattr(request.user, "customer_id", None) if request.user.is_authenticated else None
    contacts = bank_contacts_for_customer(customer_id=customer_id) if customer_id else []
    return render(request, "help/index.html", {"bank_contacts": contacts})


@require_safe
def guide(request: HttpRequest) -> HttpResponse:
    """The user guide ("Przewodnik Użytkownika"): registration, sign-in, lockout, cards, 3-D Secure, phone."""
    # The amounts the guide quotes are the rules' own, written by the one formatter.
    context = {
        "sms_example_amount": Money(2000_00, Currency.PLN).format(sms=True),
        "exemption": threeds_exemption_rule(),
    }
    return render(request, "help/guide.html", context)


@require_safe
def security(request: HttpRequest) -> HttpResponse:
    """The bank's security advice, and how to block access to the portal."""
    return render(request, "help/security.html")


@require_safe
def browsers(request: HttpRequest) -> HttpResponse:
    """What a device and browser need to use the portal."""
    return render(request, "help/browsers.html")


@require_safe
def accessibility(request: HttpRequest) -> HttpResponse:
    """The accessibility statement ("Deklaracja dostępności")."""
    return render(
        request,
        "help/accessibility.html",
        {
            "prepared": STATEMENT_PREPARED,
            "reviewed": STATEMENT_REVIEWED,
            "contact_email": settings.ACCESSIBILITY_CONTACT_EMAIL,
            "site": request.build_absolute_uri("/"),
        },
    )
