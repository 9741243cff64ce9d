"""The back office's view of a customer's credit card statements: the list, each statement, its PDF and CSV, and
the correction of the latest one (docs/statements.md, "The back office").

Staff see the very documents the holder sees: the same page content, the same stored PDF (the
first download in a language stores it, whoever makes it), the same CSV. Every read goes through
the customer and the staff member's bank scope (another bank's statement is 404) and is recorded as
a look at the customer's file [PCI DSS 10.2.1.1].
"""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from kartosfera.backoffice.roles import StaffPermission
from kartosfera.backoffice.services import customer_view_record, statement_correct_by_staff
from kartosfera.backoffice.views import FLASH_KEY, _customer_or_404, _flash, _scope, _staff, staff_required
from kartosfera.cards.pan import text_has_card_number
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.customers.models import Customer
from kartosfera.statements import selectors
from kartosfera.statements.close import CORRECTION_REASON_MAX_LENGTH
from kartosfera.statements.documents import statement_lines
from kartosfera.statements.models import Statement
from kartosfera.statements.presenters import statement_view
from kartosfera.statements.views import csv_response, logo_url, pdf_response, statement_rows


class StatementCorrectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the correction"),
        max_length=CORRECTION_REASON_MAX_LENGTH,
        help_text=gettext_lazy("Shown to the customer on the corrected statement: say what was wrong, in plain words."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I have checked the account: issue a corrected statement in place of this one. The customer is told by SMS."
        ),
        required=True,
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if text_has_card_number(reason):
            # The reason is shown to the customer and kept for ever: never a card number.
            raise forms.ValidationError(_("Do not type a card number in the reason."))
        return reason


def _statement_or_404(request: HttpRequest, customer: Customer, statement_id: int) -> Statement:
    statement = selectors.statement_get_for_staff(customer=customer, statement_id=statement_id, scope=_scope(request))
    if statement is None:
        raise Http404
    return statement


def _render_statement(
    request: HttpRequest,
    customer: Customer,
    statement: Statement,
    *,
    form: StatementCorrectForm | None = None,
    status: int = 200,
) -> HttpResponse:
    view = statement_view(statement, statement_lines(statement))
    can_correct = _staff(request).staff_member.can(StaffPermission.STATEMENT_CORRECT)
    correctable = can_correct and selectors.statement_is_correctable(statement=statement)
    context = {
        "customer": customer,
        "statement": statement,
        "view": view,
        "logo_src": logo_url(statement.bank, view),
        "correct_form": (form or StatementCorrectForm()) if correctable or form is not None else None,
        "flash": request.session.pop(FLASH_KEY, None),
    }
    return render(request, "backoffice/statement.html", context, status=status)


@never_cache
@require_GET
@staff_required(StaffPermission.CUSTOMER_VIEW)
def customer_statements(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer's credit card statements the scope may see, by account, newest first."""
    customer = _customer_or_404(request, customer_id)
    customer_view_record(staff=_staff(request), customer=customer)
    statements = list(selectors.statement_list_for_staff(customer=customer, scope=_scope(request)))
    return render(request, "backoffice/statements.html", {"customer": customer, "rows": statement_rows(statements)})


@never_cache
@require_GET
@staff_required(StaffPermission.CUSTOMER_VIEW)
def customer_statement(request: HttpRequest, customer_id: int, statement_id: int) -> HttpResponse:
    """One statement as the customer sees it, and the correction form for the latest one (supervisor)."""
    customer = _customer_or_404(request, customer_id)
    statement = _statement_or_404(request, customer, statement_id)
    customer_view_record(staff=_staff(request), customer=customer)
    return _render_statement(request, customer, statement)


@never_cache
@require_GET
@staff_required(StaffPermission.CUSTOMER_VIEW)
def statement_pdf(request: HttpRequest, customer_id: int, statement_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    statement = _statement_or_404(request, customer, statement_id)
    customer_view_record(staff=_staff(request), customer=customer)
    return pdf_response(statement, Actor.for_user(_staff(request)))


@never_cache
@require_GET
@staff_required(StaffPermission.CUSTOMER_VIEW)
def statement_csv(request: HttpRequest, customer_id: int, statement_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    statement = _statement_or_404(request, customer, statement_id)
    customer_view_record(staff=_staff(request), customer=customer)
    return csv_response(statement)


@never_cache
@require_POST
@staff_required(StaffPermission.STATEMENT_CORRECT)
def statement_correct_view(request: HttpRequest, customer_id: int, statement_id: int) -> HttpResponse:
    """Issue a corrected statement in place of the latest one: a reason and an explicit confirmation."""
    customer = _customer_or_404(request, customer_id)
    statement = _statement_or_404(request, customer, statement_id)
    form = StatementCorrectForm(request.POST)
    if form.is_valid():
        try:
            correction = statement_correct_by_staff(
                staff=_staff(request), statement=statement, reason=form.cleaned_data["reason"]
            )
        except ValidationFailed as exc:
            for field, message in exc.field_errors.items():
                form.add_error(field if field in form.fields else None, message)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            _flash(
                request,
                _("Corrected statement %(number)s issued; the customer has been told.") % {"number": correction.number},
            )
            return redirect("backoffice:statement", customer_id=customer.pk, statement_id=correction.pk)
    if text_has_card_number(request.POST.get("reason", "")):
        # A card number typed into the reason is never echoed back into the page.
        data = request.POST.copy()
        data["reason"] = ""
        form.data = data
    return _render_statement(request, customer, statement, form=form, status=400)
