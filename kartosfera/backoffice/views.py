"""The back office: sign-in, find → verify → act → give a reason, and the staff activity log.

Thin views: reads come from selectors, writes from services (which check the
role again: a view that forgot a check would still be refused). Every read passes
the staff member's bank scope: another bank's customer, card or payment is 404.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django import forms
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_ratelimit.decorators import ratelimit

from kartosfera.acs import selectors as acs_selectors
from kartosfera.acs.presenters import authentication_row, authentication_rows
from kartosfera.backoffice import selectors
from kartosfera.backoffice.actions import ACTIONS, CARD_ACTIONS, CUSTOMER_ACTIONS, StaffAction
from kartosfera.backoffice.auth import (
    StaffLoginRefused,
    staff_login_code,
    staff_login_code_allowed,
    staff_login_passkey,
    staff_login_password,
    staff_logout_record,
)
from kartosfera.backoffice.forms import (
    ActivityFilterForm,
    CustomerSearchForm,
    StaffCodeForm,
    StaffLoginForm,
    TrailFilterForm,
    VerificationForm,
)
from kartosfera.backoffice.models import CallerVerification
from kartosfera.backoffice.presenters import staff_activity_action_choices, verification_summary
from kartosfera.backoffice.roles import StaffPermission
from kartosfera.backoffice.services import (
    caller_verify,
    customer_view_record,
    staff_action_perform,
    staff_require,
)
from kartosfera.banks.scope import BankScope
from kartosfera.cards.models import Card
from kartosfera.core.audit_actions import Audience
from kartosfera.core.audit_trail import trail_rows
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.core.middleware import clear_site_data, permissions_policy_allow_self
from kartosfera.customers.models import Customer
from kartosfera.devices.selectors import device_list_for_customer
from kartosfera.jobs.selectors import RUNS_PER_JOB, job_overviews
from kartosfera.processing import selectors as processing_selectors
from kartosfera.processing.forms import StaffHistoryFilterForm
from kartosfera.processing.presenters import history_rows
from kartosfera.tokens.models import Token
from kartosfera.tokens.selectors import token_list_for_cards
from kartosfera.users.models import User
from kartosfera.users.passkeys import (
    PasskeyRefused,
    RelyingParty,
    challenge_remember,
    challenge_take,
    passkey_authentication_options,
    passkey_required,
    relying_party,
    user_has_passkey,
)

P = ParamSpec("P")
PENDING_KEY = "kf.bo.pending"
FLASH_KEY = "kf.bo.flash"
# The second step of this session was a passkey (django-otp's own key records a TOTP device instead).
PASSKEY_SESSION_KEY = "kf.bo.passkey"
LOGIN_CEREMONY = "staff_login"
# The code step must follow the password within this time.
PENDING_SECONDS = 5 * 60
LOGIN_PER_IP = "30/15m"
ACTIVITY_PAGE_SIZE = 50
TRAIL_PAGE_SIZE = 25


def staff_second_step_done(request: HttpRequest, user: User) -> bool:
    """Did this session's sign-in finish with a second factor: a TOTP code or a passkey?

    A code: django-otp's verified device (``user.is_verified()``, OTPMiddleware, which drops it when the device
    goes). A passkey: ``login_passkey`` marks the session, which ``auth_login`` has just given a new key
    and which ``logout`` or any other user's sign-in flushes; a supervisor's reset or disabling moves the
    session epoch, which ends the session itself. No TOTP device is ever claimed for a passkey sign-in.
    """
    if getattr(user, "is_verified", lambda: False)():
        return True
    marker = request.session.get(PASSKEY_SESSION_KEY)
    return isinstance(marker, dict) and marker.get("user_id") == user.pk


def staff_required(
    permission: str | None,
    *,
    passkey_setup: bool = False,
) -> Callable[
    [Callable[Concatenate[HttpRequest, P], HttpResponse]], Callable[Concatenate[HttpRequest, P], HttpResponse]
]:
    """Only a staff member signed in with both factors, whose role allows ``permission`` (None: any role).

    In the Level 3 mode (BACKOFFICE_PASSKEY_REQUIRED) a member without a passkey reaches only the pages that
    add one (``passkey_setup``): every other page sends them to the passkeys of their account page.
    """

    def decorator(
        view: Callable[Concatenate[HttpRequest, P], HttpResponse],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            user = request.user
            if not isinstance(user, User) or not (
                user.is_authenticated and user.is_bank_staff and staff_second_step_done(request, user)
            ):
                return redirect_to_login(request.get_full_path(), reverse("backoffice:login"))
            if not passkey_setup and passkey_required(user=user) and not user_has_passkey(user=user):
                return HttpResponseRedirect(reverse("backoffice:password") + "#passkeys")
            if permission is not None:
                staff_require(user, permission)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def staff_relying_party(request: HttpRequest) -> RelyingParty:
    """The passkeys' relying party: this back office's host (PASSKEY_RP_ID and PASSKEY_ORIGINS may widen it)."""
    return relying_party(host=request.get_host(), secure=request.is_secure())


def _flash(request: HttpRequest, text: str) -> None:
    # Kept in the staff session, not the messages cookie, which the portal shares.
    request.session[FLASH_KEY] = text


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _scope(request: HttpRequest) -> BankScope:
    """The signed-in staff member's bank scope (the group's or one bank's)."""
    return _staff(request).staff_member.scope


def _safe_next(request: HttpRequest, value: str | None = None) -> str:
    candidate = value if value is not None else request.GET.get("next", "")
    if candidate.startswith(reverse("backoffice:home")) and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("backoffice:home")


# --- Sign-in ----------------------------------------------------------------------------


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(group="backoffice.login.ip", key="ip", rate=LOGIN_PER_IP, method="POST", block=True)
def login(request: HttpRequest) -> HttpResponse:
    """Step 1: user name and password."""
    next_url = _safe_next(request)
    form = StaffLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_login_password(username=form.cleaned_data["username"], password=form.cleaned_data["password"])
        except StaffLoginRefused as exc:
            form.add_error(None, exc.message)
        else:
            request.session.cycle_key()
            request.session[PENDING_KEY] = {"user_id": user.pk, "at": time.time(), "next": next_url}
            return redirect("backoffice:login_code")
    return render(request, "backoffice/login.html", {"form": form, "next": next_url})


def _pending_user(request: HttpRequest) -> tuple[User, str] | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    user = User.objects.filter(pk=int(pending.get("user_id") or 0), kind="staff").first()
    return (user, str(pending.get("next", ""))) if user is not None else None


def _second_step(
    request: HttpRequest, user: User, *, form: StaffCodeForm | None = None, error: str = ""
) -> HttpResponse:
    """The second step's page: the passkey (with a new challenge) if the member has one, the code while allowed."""
    context: dict[str, Any] = {"error": error}
    if user_has_passkey(user=user):
        options, challenge = passkey_authentication_options(user=user, rp=staff_relying_party(request))
        challenge_remember(request.session, purpose=LOGIN_CEREMONY, user_id=user.pk, challenge=challenge)
        context["passkey_options"] = options
    if staff_login_code_allowed(user=user):
        context["form"] = form or StaffCodeForm()
    response = render(request, "backoffice/login_code.html", context)
    return (
        permissions_policy_allow_self(response, "publickey-credentials-get")
        if "passkey_options" in context
        else response
    )


def _signed_in(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    request.session.pop(PENDING_KEY, None)
    auth_login(request, user, backend="kartosfera.backoffice.backends.StaffBackend")
    return HttpResponseRedirect(_safe_next(request, next_url))


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(group="backoffice.login_code.ip", key="ip", rate=LOGIN_PER_IP, method="POST", block=True)
def login_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the passkey, or the code from the authenticator app; then the staff member is signed in."""
    pending = _pending_user(request)
    if pending is None:
        request.session.pop(PENDING_KEY, None)
        return redirect("backoffice:login")
    user, next_url = pending
    form = StaffCodeForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            device = staff_login_code(user=user, code=form.cleaned_data["code"])
        except StaffLoginRefused as exc:
            if staff_login_code_allowed(user=user):
                form.add_error("code", exc.message)
            else:
                error = exc.message
            if exc.code == "staff_locked":
                request.session.pop(PENDING_KEY, None)
        else:
            response = _signed_in(request, user, next_url)
            otp_login(request, device)
            return response
    return _second_step(request, user, form=form, error=error)


@csrf_protect
@never_cache
@require_POST
@ratelimit(group="backoffice.login_passkey.ip", key="ip", rate=LOGIN_PER_IP, method="POST", block=True)
def login_passkey(request: HttpRequest) -> HttpResponse:
    """Step 2 with a passkey: the browser's signed answer to the challenge the step's page holds."""
    pending = _pending_user(request)
    if pending is None:
        request.session.pop(PENDING_KEY, None)
        return redirect("backoffice:login")
    user, next_url = pending
    challenge = challenge_take(request.session, purpose=LOGIN_CEREMONY, user_id=user.pk)
    if challenge is None:
        # A page left open past the ceremony's time, or opened twice: nothing was tried, so nothing is counted.
        return _second_step(request, user, error=str(PasskeyRefused.default_message))
    try:
        passkey = staff_login_passkey(
            user=user,
            rp=staff_relying_party(request),
            challenge=challenge,
            response=request.POST.get("credential", ""),
        )
    except StaffLoginRefused as exc:
        if exc.code == "staff_locked":
            request.session.pop(PENDING_KEY, None)
        return _second_step(request, user, error=exc.message)
    response = _signed_in(request, user, next_url)
    request.session[PASSKEY_SESSION_KEY] = {"user_id": user.pk, "passkey": str(passkey.public_id)}
    return response


@require_POST
@csrf_protect
def logout(request: HttpRequest) -> HttpResponse:
    if isinstance(request.user, User) and request.user.is_authenticated and request.user.is_bank_staff:
        staff_logout_record(user=request.user)
    auth_logout(request)
    return clear_site_data(redirect("backoffice:login"))


# --- Find ------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@staff_required(StaffPermission.CUSTOMER_VIEW)
def home(request: HttpRequest) -> HttpResponse:
    """The customer search. A POST: what staff type (a PESEL, a phone number, a name) must not land in the
    URL, where the proxy's and the server's access logs and the browser's history would keep it [ASVS 5.0
    14.2.1]; a query string is ignored."""
    form = CustomerSearchForm(request.POST if request.method == "POST" else None)
    results: list[Customer] | None = None
    if form.is_bound and form.is_valid():
        results = selectors.customer_search(query=form.cleaned_data["q"], scope=_scope(request))
    return render(
        request,
        "backoffice/home.html",
        {
            "form": form,
            "results": results,
            "group_view": _scope(request).is_group,
            "flash": request.session.pop(FLASH_KEY, None),
        },
    )


# --- The customer's file, verification and actions -------------------------------------


def _customer_or_404(request: HttpRequest, customer_id: int) -> Customer:
    customer = selectors.customer_get(customer_id=customer_id, scope=_scope(request))
    if customer is None:
        raise Http404
    return customer


def _action_forms(
    request: HttpRequest, file: selectors.CustomerFile, bound: tuple[str, int | None, forms.Form] | None
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """The action forms this staff member may use now, for the customer and for each card."""
    staff = _staff(request)
    member = staff.staff_member

    def entry(action: StaffAction, card: Card | None) -> dict[str, Any]:
        card_id = card.pk if card is not None else None
        if bound is not None and bound[0] == action.name and bound[1] == card_id:
            form = bound[2]
        else:
            prefix = f"{action.name}-{card_id}" if card_id else action.name
            form = action.form_class(prefix=prefix)
        return {"action": action, "form": form, "card": card}

    def is_bound(action: StaffAction, card: Card | None) -> bool:
        # The form just refused stays on the page with its message, even if the action is not offered now.
        return bound is not None and bound[0] == action.name and bound[1] == (card.pk if card is not None else None)

    customer_actions = [
        entry(a, None)
        for a in CUSTOMER_ACTIONS
        if member.can(a.permission) and (a.offered_for_customer(file.state) or is_bound(a, None))
    ]
    card_actions = {
        card.pk: [
            entry(a, card)
            for a in CARD_ACTIONS
            if member.can(a.permission) and (a.offered_for_card(card) or is_bound(a, card))
        ]
        for card in file.cards
    }
    return customer_actions, card_actions


def _render_customer(
    request: HttpRequest,
    customer: Customer,
    *,
    verification_form: VerificationForm | None = None,
    bound: tuple[str, int | None, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    staff = _staff(request)
    file = selectors.customer_file(customer=customer, scope=_scope(request))
    latest = selectors.caller_verification_latest(staff=staff, customer=customer)
    verification = latest if latest is not None and latest.is_valid() else None
    customer_actions, card_actions = _action_forms(request, file, bound)
    # Each card's tokens in phone wallets, read in one query for all the cards shown (kartosfera/tokens).
    tokens_by_card: dict[int, list[Token]] = {}
    for token in token_list_for_cards(card_ids=[card.pk for card in file.cards]):
        tokens_by_card.setdefault(token.card_id, []).append(token)
    for card in file.cards:
        card.wallet_tokens = tokens_by_card.get(card.pk, [])  # type: ignore[attr-defined]
    member = staff.staff_member
    context = {
        "file": file,
        "customer": customer,
        "group_view": _scope(request).is_group,
        "verification": verification,
        "failed_verification": latest if latest is not None and not latest.passed else None,
        "can_verify": member.can(StaffPermission.CALLER_VERIFY),
        "verification_form": verification_form or VerificationForm(initial={"channel": "phone"}),
        "customer_actions": customer_actions,
        "cards": [(card, card_actions[card.pk]) for card in file.cards],
        # The person's BS Pay devices (like portal access, the person's, whatever the bank).
        "devices": list(device_list_for_customer(customer=customer)),
        "can_block_devices": member.can(StaffPermission.DEVICE_BLOCK),
        # A credit card's account has monthly statements (statement_views.py).
        "has_credit_cards": any(card.is_credit for card in file.cards),
        "trail": trail_rows(file.audit_trail, viewer=Audience.STAFF, staff_names=file.staff_names),
        "authentications": authentication_rows(
            list(
                acs_selectors.authentication_list_for_staff(customer=customer, scope=_scope(request))[
                    : acs_selectors.STAFF_PREVIEW
                ]
            )
        ),
        "flash": request.session.pop(FLASH_KEY, None),
    }
    return render(request, "backoffice/customer.html", context, status=status)


@never_cache
@require_GET
@staff_required(StaffPermission.CUSTOMER_VIEW)
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    customer_view_record(staff=_staff(request), customer=customer)
    return _render_customer(request, customer)


@never_cache
@require_GET
@staff_required(StaffPermission.CUSTOMER_VIEW)
def customer_trail(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer's whole audit trail, paged, filtered by kind."""
    customer = _customer_or_404(request, customer_id)
    form = TrailFilterForm(request.GET or None)
    kind = form.cleaned_data["kind"] if form.is_bound and form.is_valid() else ""
    if "page" not in request.GET:
        # Opening the trail is opening the file [PCI DSS 10.2.1.1]; turning its pages is not recorded again.
        customer_view_record(staff=_staff(request), customer=customer)
    trail = selectors.customer_trail(customer=customer, scope=_scope(request), kind=kind)
    page = Paginator(trail, TRAIL_PAGE_SIZE).get_page(request.GET.get("page"))
    events = list(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "customer": customer,
        "form": form,
        "page": page,
        "rows": trail_rows(events, viewer=Audience.STAFF, staff_names=selectors.staff_names_for(events)),
        "query": query.urlencode(),
    }
    return render(request, "backoffice/customer_trail.html", context)


@never_cache
@require_GET
@staff_required(StaffPermission.CUSTOMER_VIEW)
def card_history(request: HttpRequest, customer_id: int, card_id: int) -> HttpResponse:
    """A customer's card's authorizations and postings with the pipeline's and the clearing's detail."""
    customer = _customer_or_404(request, customer_id)
    card = selectors.customer_card_get(customer=customer, card_id=card_id, scope=_scope(request))
    if card is None:
        raise Http404
    if "page" not in request.GET:
        # Opening the card's history is opening the file [PCI DSS 10.2.1.1]; turning its pages is not recorded again.
        customer_view_record(staff=_staff(request), customer=customer)
    form = StaffHistoryFilterForm(request.GET or None)
    history = processing_selectors.card_history_entries(customer=customer, card=card, filters=form.filters())
    page = Paginator(history, processing_selectors.HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "customer": customer,
        "card": card,
        "form": form,
        "page": page,
        "rows": history_rows(processing_selectors.history_entries_load(page.object_list, staff=True), staff=True),
        "query": query.urlencode(),
    }
    return render(request, "backoffice/card_history.html", context)


@never_cache
@require_GET
@staff_required(StaffPermission.CUSTOMER_VIEW)
def customer_authentications(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The customer's 3-D Secure authentications the scope may see, newest first, paged, and the 3DS lock."""
    customer = _customer_or_404(request, customer_id)
    if "page" not in request.GET:
        # Opening the list is opening the file [PCI DSS 10.2.1.1]; turning its pages is not recorded again.
        customer_view_record(staff=_staff(request), customer=customer)
    records = acs_selectors.authentication_list_for_staff(customer=customer, scope=_scope(request))
    page = Paginator(records, acs_selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "customer": customer,
        "page": page,
        "rows": authentication_rows(list(page.object_list)),
        "lock": selectors.threeds_lock(customer=customer),
    }
    return render(request, "backoffice/authentications.html", context)


@never_cache
@require_GET
@staff_required(StaffPermission.CUSTOMER_VIEW)
def customer_authentication(request: HttpRequest, customer_id: int, acs_trans_id: uuid.UUID) -> HttpResponse:
    """One of the customer's 3-D Secure authentications, with the decision and the payment it authorized."""
    customer = _customer_or_404(request, customer_id)
    record = acs_selectors.authentication_get_for_staff(
        customer=customer, acs_trans_id=acs_trans_id, scope=_scope(request)
    )
    if record is None:
        raise Http404
    customer_view_record(staff=_staff(request), customer=customer)
    context = {"customer": customer, "row": authentication_row(record)}
    return render(request, "backoffice/authentication.html", context)


@never_cache
@require_POST
@staff_required(StaffPermission.CALLER_VERIFY)
def customer_verify(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    form = VerificationForm(request.POST)
    if form.is_valid():
        try:
            verification = caller_verify(staff=_staff(request), customer=customer, **form.verification_kwargs())
        except ValidationFailed as exc:
            for field, message in exc.field_errors.items():
                form.add_error(None if field == "__all__" else field, message)
        else:
            _flash(request, _verification_message(verification))
            return redirect("backoffice:customer", customer_id=customer.pk)
    # The caller's answers are not echoed back into the page: the agent asks again.
    echoed = request.POST.copy()
    for name in ("identifier", "birth_date", "card_last4", "calling_number"):
        echoed[name] = ""
    form.data = echoed
    return _render_customer(request, customer, verification_form=form, status=400)


def _verification_message(verification: CallerVerification) -> str:
    if verification.passed:
        return _("Caller verified. You can act for the customer for the next 30 minutes.")
    return _("The answers do not match our records: the caller is not verified. Do not act for them.")


def _perform(request: HttpRequest, customer: Customer, action_name: str, card: Card | None) -> HttpResponse:
    action = ACTIONS.get(action_name)
    if action is None or action.on_card != (card is not None):
        raise Http404
    staff = _staff(request)
    staff_require(staff, action.permission)
    prefix = f"{action.name}-{card.pk}" if card is not None else action.name
    form = action.form_class(request.POST, prefix=prefix)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            message = staff_action_perform(
                staff=staff,
                action_name=action.name,
                customer=customer,
                verification=selectors.caller_verification_current(staff=staff, customer=customer),
                reason=data.pop("reason"),
                card=card,
                data=data,
            )
        except ValidationFailed as exc:
            for field, text in exc.field_errors.items():
                form.add_error(field if field in form.fields else None, text)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            _flash(request, message)
            return redirect("backoffice:customer", customer_id=customer.pk)
    return _render_customer(request, customer, bound=(action.name, card.pk if card else None, form), status=400)


@never_cache
@require_POST
@staff_required(StaffPermission.CUSTOMER_VIEW)
def customer_action(request: HttpRequest, customer_id: int, action_name: str) -> HttpResponse:
    return _perform(request, _customer_or_404(request, customer_id), action_name, None)


@never_cache
@require_POST
@staff_required(StaffPermission.CUSTOMER_VIEW)
def card_action(request: HttpRequest, customer_id: int, card_id: int, action_name: str) -> HttpResponse:
    customer = _customer_or_404(request, customer_id)
    card = selectors.customer_card_get(customer=customer, card_id=card_id, scope=_scope(request))
    if card is None:
        raise Http404
    return _perform(request, customer, action_name, card)


# --- Oversight ----------------------------------------------------------------------------


@never_cache
@require_GET
@staff_required(StaffPermission.STAFF_ACTIVITY_VIEW)
def activity(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    members = selectors.staff_members(scope=scope)
    form = ActivityFilterForm(
        request.GET or None,
        staff_choices=[(m.user_id, f"{m.full_name} ({m.user.get_username()})") for m in members],
        action_choices=staff_activity_action_choices(),
    )
    filters = selectors.ActivityFilter()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = selectors.ActivityFilter(
            staff_id=data.get("staff"),
            action=data.get("action") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
    activity = selectors.staff_activity(filters=filters, scope=scope)
    page = Paginator(activity, ACTIVITY_PAGE_SIZE).get_page(request.GET.get("page"))
    events = list(page.object_list)
    customer_names = selectors.customer_names_for(events)
    rows = trail_rows(events, viewer=Audience.STAFF, staff_names=selectors.staff_names_for(events))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "backoffice/activity.html",
        {
            "form": form,
            "page": page,
            "events": [
                (row, customer_names.get(row.customer_id or 0, ""), verification_summary(row.event.after))
                for row in rows
            ],
            "query": query.urlencode(),
        },
    )


@never_cache
@require_GET
@staff_required(StaffPermission.JOB_RUNS_VIEW)
def job_runs(request: HttpRequest) -> HttpResponse:
    """The scheduled jobs and their latest runs (read-only; the group's staff only: roles.GROUP_ONLY)."""
    return render(request, "backoffice/jobs.html", {"jobs": job_overviews(), "runs_per_job": RUNS_PER_JOB})
