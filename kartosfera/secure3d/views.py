"""3-D Secure (/3d-secure/): the settings (the 3DS PIN, the low-value exemption, trusted merchants) and the
holder's authentications (each internet payment's 3-D Secure answer and what became of it)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kartosfera.acs import selectors as acs_selectors
from kartosfera.acs.presenters import authentication_row, authentication_rows
from kartosfera.core.audit import Actor
from kartosfera.core.decorators import cardholder_customer, cardholder_required, cardholder_user
from kartosfera.core.errors import DomainError
from kartosfera.customers.identity import mask_phone
from kartosfera.processing.models import Authorization
from kartosfera.sca.stepup import stepup_begin, stepup_phone
from kartosfera.secure3d import services
from kartosfera.secure3d.forms import ExemptionForm, ThreeDSPinForm, TrustedMerchantForm
from kartosfera.secure3d.models import TrustedMerchant
from kartosfera.secure3d.stepup_operations import EXEMPTION_SET, MERCHANT_ADD, PIN_SET

FORM_METHODS = ["GET", "HEAD", "POST"]


def _data(request: HttpRequest) -> QueryDict | None:
    return request.POST if request.method == "POST" else None


def _render_index(
    request: HttpRequest, *, merchant_form: TrustedMerchantForm | None = None, status: int = 200
) -> HttpResponse:
    customer = cardholder_customer(request)
    profile = services.threeds_profile_get(customer=customer)
    locked = profile.locked_until is not None and profile.locked_until > timezone.now()
    context = {
        "profile": profile,
        "locked": locked,
        "phone": mask_phone(stepup_phone(cardholder_user(request))),
        "merchants": TrustedMerchant.objects.filter(customer=customer),
        "merchant_form": merchant_form or TrustedMerchantForm(),
        "rule": services.threeds_exemption_rule(),
    }
    return render(request, "secure3d/index.html", context, status=status)


@never_cache
@require_safe
@cardholder_required
def index(request: HttpRequest) -> HttpResponse:
    return _render_index(request)


@sensitive_post_parameters("pin", "pin_repeat")
@never_cache
@require_http_methods(FORM_METHODS)
@cardholder_required
def pin(request: HttpRequest) -> HttpResponse:
    customer = cardholder_customer(request)
    form = ThreeDSPinForm(_data(request), customer=customer)
    if request.method == "POST" and form.is_valid():
        # Only the keyed values wait in the challenge for the code (never the PIN itself).
        payload = services.threeds_pin_values(form.cleaned_data["pin"], customer=customer)
        return stepup_begin(request, operation=PIN_SET, payload=payload, done_url=reverse("secure3d:index"))
    profile = services.threeds_profile_get(customer=customer)
    return render(request, "secure3d/pin.html", {"form": form, "profile": profile})


@never_cache
@require_POST
@cardholder_required
def exemption(request: HttpRequest) -> HttpResponse:
    form = ExemptionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The request was not valid. Try again."))
        return redirect("secure3d:index")
    customer = cardholder_customer(request)
    enabled: bool = form.cleaned_data["enabled"]
    if services.threeds_profile_get(customer=customer).low_value_exemption == enabled:
        return redirect("secure3d:index")
    # On lets payments through without the 3DS PIN: the operation's rule asks for a code; off runs at once.
    return stepup_begin(
        request, operation=EXEMPTION_SET, payload={"enabled": enabled}, back_url=reverse("secure3d:index")
    )


@never_cache
@require_POST
@cardholder_required
def merchant_add(request: HttpRequest) -> HttpResponse:
    customer = cardholder_customer(request)
    form = TrustedMerchantForm(request.POST)
    if form.is_valid():
        fields = {key: form.cleaned_data[key] for key in ("name", "merchant_id", "country")}
        try:
            services.trusted_merchant_check_new(customer=customer, merchant_id=fields["merchant_id"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return stepup_begin(request, operation=MERCHANT_ADD, payload=fields, back_url=reverse("secure3d:index"))
    return _render_index(request, merchant_form=form, status=400)


@never_cache
@require_POST
@cardholder_required
def merchant_remove(request: HttpRequest, pk: int) -> HttpResponse:
    customer = cardholder_customer(request)
    merchant = get_object_or_404(TrustedMerchant, pk=pk, customer=customer)
    name = merchant.name
    services.trusted_merchant_remove(
        actor=Actor.for_user(cardholder_user(request)), customer=customer, merchant=merchant
    )
    messages.success(request, _("%(name)s is no longer a trusted merchant.") % {"name": name})
    return redirect("secure3d:index")


# --- The holder's authentications ---------------------------------------------------------


@never_cache
@require_safe
@cardholder_required
def authentications(request: HttpRequest) -> HttpResponse:
    """The holder's 3-D Secure authentications, newest first, paged: merchant, amount, result, used or not."""
    records = acs_selectors.authentication_list_for_customer(customer=cardholder_customer(request))
    page = Paginator(records, acs_selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "secure3d/authentications.html", {"page": page, "rows": authentication_rows(list(page.object_list))}
    )


@never_cache
@require_safe
@cardholder_required
def authentication_detail(request: HttpRequest, acs_trans_id: uuid.UUID) -> HttpResponse:
    """One authentication and the payment it authorized; another customer's is a 404."""
    record = acs_selectors.authentication_get_for_customer(
        customer=cardholder_customer(request), acs_trans_id=acs_trans_id
    )
    row = authentication_row(record)
    payment = row.payment
    payment_url = ""
    # The link only to the history of the authentication's own card (the holder's, reached through them).
    if payment is not None and payment.card_id is not None and payment.card_id == record.card_id:
        payment_url = payment_history_url(payment)
    context = {"row": row, "payment_url": payment_url}
    return render(request, "secure3d/authentication_detail.html", context)


def payment_history_url(payment: Authorization) -> str:
    """The payment's line in its card's history: the history of the payment's day, at the line."""
    assert payment.card_id is not None
    day = payment.local_date.isoformat()
    url = reverse("portal:card_history", kwargs={"card_id": payment.card_id})
    return f"{url}?date_from={day}&date_to={day}#authorization-{payment.pk}"
