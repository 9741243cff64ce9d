"""The staff actions: ONE registry, read by the service, the views, the matrix test and the docs.

Each action names the permission it needs, the form of what it asks besides
the reason, when it is offered, and what it does: a call to the portal's own
service (or the bank API's), never a write of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from kartosfera.backoffice.roles import StaffPermission
from kartosfera.blik.models import BlikChannel
from kartosfera.blik.selectors import blik_state
from kartosfera.blik.services import blik_switch_off
from kartosfera.cards.models import Card
from kartosfera.cards.operations import CardState, Operation, card_state, operation_allowed
from kartosfera.cards.operations_services import card_block_temporarily, card_cancel, card_unblock, card_wrong_pin_reset
from kartosfera.cards.states import STAFF_CANCEL_REASONS
from kartosfera.core.audit import Actor
from kartosfera.core.errors import DomainError, ValidationFailed
from kartosfera.customers.identity import mask_phone, normalize_phone
from kartosfera.customers.models import Customer, Residency
from kartosfera.customers.services import customer_update
from kartosfera.devices.models import AppDevice
from kartosfera.devices.services import device_block_permanently, device_block_temporarily
from kartosfera.profile.services import user_portal_phone_change
from kartosfera.secure3d.services import threeds_is_locked, threeds_unlock
from kartosfera.users.models import User
from kartosfera.users.services import (
    AccessBlockedBy,
    user_access_block,
    user_access_unblock,
    user_sessions_end,
    user_unlock,
)


@dataclass(frozen=True)
class ActionContext:
    actor: Actor
    customer: Customer
    card: Card | None
    reason: str

    def portal_user(self) -> User:
        user = User.objects.filter(customer=self.customer).first()
        if user is None:
            raise DomainError(_("The customer has not registered in the portal."), code="not_registered")
        return user


@dataclass(frozen=True)
class Outcome:
    message: str
    audit: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerState:
    """What the offer of an action depends on, read once per page (selectors.customer_file)."""

    customer: Customer
    portal_user: User | None
    threeds_locked: bool
    blik_enabled: bool


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=200,
        help_text=gettext_lazy("Why, in a few words (the customer's request, what they reported)."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class PhoneForm(ReasonForm):
    phone = forms.CharField(label=gettext_lazy("New phone number"), max_length=32)

    def clean_phone(self) -> str:
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from None


class NonresidentIdForm(ReasonForm):
    nonresident_id = forms.CharField(label=gettext_lazy("Identification number"), max_length=20)

    def clean_nonresident_id(self) -> str:
        value = "".join(self.cleaned_data["nonresident_id"].split()).upper()
        if not value.isalnum():
            raise forms.ValidationError(_("Use letters and digits only."))
        return value


class CardCancelForm(ReasonForm):
    cancel_reason = forms.ChoiceField(
        label=gettext_lazy("Why the card is cancelled"),
        # The bank's own reasons (cards/states.py), not the cardholder's list.
        choices=[(r.value, r.label) for r in STAFF_CANCEL_REASONS],
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("The customer confirms: cancel the card for good. This cannot be undone."),
        required=True,
    )


class DeviceBlockForm(ReasonForm):
    # One form per device on the customer's page (its section "BS Pay devices"), the device's public id hidden.
    device = forms.UUIDField(widget=forms.HiddenInput)
    permanently = forms.BooleanField(
        label=gettext_lazy("Block for good (the device must be activated anew)"), required=False
    )


class TokenSuspendForm(ReasonForm):
    # The agent asks which device: the wallet shows the token's last four digits (the "device account number").
    token_last4 = forms.RegexField(
        label=gettext_lazy("Last 4 digits of the token (as the wallet shows them)"),
        regex=r"^[0-9]{4}$",
        error_messages={"invalid": gettext_lazy("Enter the 4 digits.")},
    )


@dataclass(frozen=True)
class StaffAction:
    name: str
    permission: StaffPermission
    label: str | Promise
    button: str | Promise
    perform: Callable[[ActionContext, dict[str, Any]], Outcome]
    # What the trails say once it is done: past tense (registered as ``backoffice.<name>``).
    done: str | Promise
    form_class: type[ReasonForm] = ReasonForm
    on_card: bool = False
    offered_for_customer: Callable[[CustomerState], bool] = lambda state: True
    offered_for_card: Callable[[Card], bool] = lambda card: True
    dangerous: bool = False


# --- Customer actions -----------------------------------------------------------------


def _portal_unlock(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    user = ctx.portal_user()
    if not user.is_locked() and not user.failed_login_count:
        raise DomainError(_("Portal access is not locked."), code="not_locked")
    user_unlock(actor=ctx.actor, user=user, reason=ctx.reason)
    return Outcome(_("Portal access unlocked: the customer can sign in now."))


def _portal_block(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    user = ctx.portal_user()
    if user.is_access_blocked:
        raise DomainError(_("Portal access is already blocked."), code="already_blocked")
    user_access_block(actor=ctx.actor, user=user, by=AccessBlockedBy.STAFF, reason=ctx.reason)
    return Outcome(_("Portal access blocked: every session of the customer has ended."))


def _portal_unblock(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    user = ctx.portal_user()
    if not user.is_access_blocked:
        raise DomainError(_("Portal access is not blocked."), code="not_blocked")
    user_access_unblock(actor=ctx.actor, user=user, reason=ctx.reason)
    return Outcome(_("Portal access unblocked."))


def _portal_sessions_end(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    # Signs the customer out everywhere (a stolen laptop, a session they do not recognise); access stays open.
    user_sessions_end(actor=ctx.actor, user=ctx.portal_user(), reason=ctx.reason)
    return Outcome(_("Every portal session of the customer has ended; they can sign in again at once."))


def _phone_on_file_change(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    customer_update(actor=ctx.actor, customer=ctx.customer, phone_on_file=data["phone"])
    return Outcome(
        _("Phone number on file changed to %(phone)s.") % {"phone": mask_phone(data["phone"])},
        {"phone_on_file": mask_phone(data["phone"])},
    )


def _portal_phone_change(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    user = ctx.portal_user()
    user_portal_phone_change(actor=ctx.actor, user=user, new_phone=data["phone"])
    return Outcome(
        _("Portal phone number changed to %(phone)s; the old number has been told.")
        % {"phone": mask_phone(data["phone"])},
        {"portal_phone": mask_phone(data["phone"])},
    )


def _nonresident_id_assign(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    customer = Customer.objects.get(pk=ctx.customer.pk)
    if customer.residency != Residency.NON_RESIDENT:
        raise ValidationFailed({"nonresident_id": _("Residents are identified by their PESEL.")})
    if customer.nonresident_id:
        raise ValidationFailed({"nonresident_id": _("The customer already has an identification number.")})
    customer_update(actor=ctx.actor, customer=customer, nonresident_id=data["nonresident_id"])
    return Outcome(
        _("Identification number %(id)s assigned: the customer can register with it.") % {"id": data["nonresident_id"]},
        {"nonresident_id": data["nonresident_id"]},
    )


def _threeds_unlock(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    if not threeds_is_locked(customer=ctx.customer):
        raise DomainError(_("Internet payments are not blocked."), code="not_locked")
    threeds_unlock(actor=ctx.actor, customer=ctx.customer, reason=ctx.reason)
    return Outcome(_("Internet (3-D Secure) payments unblocked."))


def _blik_switch_off(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    if not blik_state(ctx.customer).enabled:
        raise DomainError(_("BLIK is already off."), code="already_off")
    blik_switch_off(actor=ctx.actor, customer=ctx.customer, channel=BlikChannel.BACK_OFFICE, detail=ctx.reason)
    return Outcome(_("BLIK switched off: the customer can switch it on again only in the BS Pay app."))


def _payments_stop(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    from kartosfera.customers.models import StopChannel
    from kartosfera.stops.services import customer_stop

    customer_stop(actor=ctx.actor, customer=ctx.customer, channel=StopChannel.BACK_OFFICE, reason=ctx.reason)
    return Outcome(
        _(
            "All the customer's payments are stopped: cards, phone wallets and BLIK. The customer lifts the stop "
            "with an SMS code, or at a branch with an identity document."
        )
    )


def _payments_stop_lift(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    from kartosfera.customers.models import StopChannel
    from kartosfera.stops.services import customer_stop_lift

    customer_stop_lift(actor=ctx.actor, customer=ctx.customer, channel=StopChannel.BACK_OFFICE, reason=ctx.reason)
    return Outcome(
        _(
            "The stop is lifted: the cards and phone wallets pay again. BLIK stays off until the customer switches "
            "it on in the BS Pay app."
        )
    )


def _device_block(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    # Reached through the customer: another customer's device is simply not found.
    device = AppDevice.objects.filter(customer=ctx.customer, public_id=data["device"]).first()
    if device is None:
        raise ValidationFailed({"device": _("The customer has no such BS Pay device.")})
    if data.get("permanently"):
        device = device_block_permanently(actor=ctx.actor, device=device, reason=ctx.reason)
        return Outcome(
            _("BS Pay device %(name)s blocked for good.") % {"name": device.name},
            {"device": str(device.public_id), "device_state": device.state},
        )
    device = device_block_temporarily(actor=ctx.actor, device=device, reason=ctx.reason)
    return Outcome(
        _("BS Pay device %(name)s blocked by the bank: the customer cannot unblock it in the portal.")
        % {"name": device.name},
        {"device": str(device.public_id), "device_state": device.state},
    )


# --- Card actions ---------------------------------------------------------------------


def _card(ctx: ActionContext) -> Card:
    assert ctx.card is not None  # the service checks on_card
    return ctx.card


def _card_block(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    card = card_block_temporarily(actor=ctx.actor, card=_card(ctx))
    return Outcome(
        _("Card *%(last4)s blocked by the bank: the cardholder cannot unblock it in the portal.")
        % {"last4": card.pan_last4},
        {"status_reason": card.status_reason},
    )


def _card_unblock(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    card = card_unblock(actor=ctx.actor, card=_card(ctx))
    return Outcome(_("Card *%(last4)s unblocked.") % {"last4": card.pan_last4})


def _card_cancel(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    card = card_cancel(actor=ctx.actor, card=_card(ctx), reason=data["cancel_reason"])
    return Outcome(
        _("Card *%(last4)s cancelled for good.") % {"last4": card.pan_last4}, {"cancel_reason": data["cancel_reason"]}
    )


def _wrong_pin_reset(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    card = card_wrong_pin_reset(actor=ctx.actor, card=_card(ctx))
    return Outcome(_("Wrong-PIN counter of card *%(last4)s reset.") % {"last4": card.pan_last4})


def _token_suspend(ctx: ActionContext, data: dict[str, Any]) -> Outcome:
    from kartosfera.tokens.models import Token
    from kartosfera.tokens.services import token_suspend
    from kartosfera.tokens.states import TokenStatus

    card = _card(ctx)
    candidates = list(
        Token.objects.filter(
            card=card, token_last4=data["token_last4"], status__in=[TokenStatus.ACTIVE, TokenStatus.SUSPENDED]
        )
    )
    if len(candidates) != 1:
        message = (
            _("No token of this card ends with these digits.")
            if not candidates
            else _("Several tokens of this card end with these digits: suspend the card's mobile payments instead.")
        )
        raise ValidationFailed({"token_last4": message})
    token = token_suspend(actor=ctx.actor, token=candidates[0], reason=ctx.reason)
    return Outcome(
        _("The card's token •••• %(last4)s in %(wallet)s is suspended by the bank.")
        % {"last4": token.token_last4, "wallet": token.get_wallet_display()},
        {"token_id": token.pk, "wallet": token.wallet, "token_last4": token.token_last4},
    )


def _registered(state: CustomerState) -> bool:
    return state.portal_user is not None


P = StaffPermission
_ACTIONS = (
    StaffAction(
        "portal_unlock",
        P.PORTAL_UNLOCK,
        gettext_lazy("Unlock portal access"),
        gettext_lazy("Unlock access"),
        _portal_unlock,
        done=pgettext_lazy("audit action", "Portal access unlocked in the back office"),
        offered_for_customer=lambda s: s.portal_user is not None and s.portal_user.is_locked(),
    ),
    StaffAction(
        "portal_block",
        P.PORTAL_BLOCK,
        gettext_lazy("Block portal access"),
        gettext_lazy("Block access"),
        _portal_block,
        done=pgettext_lazy("audit action", "Portal access blocked in the back office"),
        offered_for_customer=lambda s: s.portal_user is not None and not s.portal_user.is_access_blocked,
        dangerous=True,
    ),
    StaffAction(
        "portal_unblock",
        P.PORTAL_UNBLOCK,
        gettext_lazy("Unblock portal access"),
        gettext_lazy("Unblock access"),
        _portal_unblock,
        done=pgettext_lazy("audit action", "Portal access unblocked in the back office"),
        offered_for_customer=lambda s: s.portal_user is not None and s.portal_user.is_access_blocked,
    ),
    StaffAction(
        "portal_sessions_end",
        P.PORTAL_SESSIONS_END,
        gettext_lazy("End every portal session (access stays open)"),
        gettext_lazy("End the sessions"),
        _portal_sessions_end,
        done=pgettext_lazy("audit action", "Every portal session ended in the back office"),
        offered_for_customer=_registered,
    ),
    StaffAction(
        "threeds_unlock",
        P.THREEDS_UNLOCK,
        gettext_lazy("Unblock internet (3-D Secure) payments"),
        gettext_lazy("Unblock internet payments"),
        _threeds_unlock,
        done=pgettext_lazy("audit action", "Internet payments unblocked in the back office"),
        offered_for_customer=lambda s: s.threeds_locked,
    ),
    StaffAction(
        "blik_switch_off",
        P.BLIK_SWITCH_OFF,
        gettext_lazy("Switch BLIK off"),
        gettext_lazy("Switch BLIK off"),
        _blik_switch_off,
        done=pgettext_lazy("audit action", "BLIK switched off in the back office"),
        offered_for_customer=lambda s: s.blik_enabled,
        dangerous=True,
    ),
    StaffAction(
        "payments_stop",
        P.PAYMENTS_STOP,
        gettext_lazy("Stop all payments (cards, phone wallets, BLIK)"),
        gettext_lazy("Stop all payments"),
        _payments_stop,
        done=pgettext_lazy("audit action", "All payments stopped in the back office"),
        offered_for_customer=lambda s: not s.customer.payments_stopped,
        dangerous=True,
    ),
    StaffAction(
        "payments_stop_lift",
        P.PAYMENTS_STOP_LIFT,
        gettext_lazy("Lift the stop of all payments (identity document)"),
        gettext_lazy("Lift the stop"),
        _payments_stop_lift,
        done=pgettext_lazy("audit action", "Stop of all payments lifted in the back office"),
        offered_for_customer=lambda s: s.customer.payments_stopped,
    ),
    StaffAction(
        "phone_on_file_change",
        P.PHONE_ON_FILE_CHANGE,
        gettext_lazy("Change the phone number on file"),
        gettext_lazy("Change the phone on file"),
        _phone_on_file_change,
        done=pgettext_lazy("audit action", "Phone number on file changed in the back office"),
        form_class=PhoneForm,
    ),
    StaffAction(
        "portal_phone_change",
        P.PORTAL_PHONE_CHANGE,
        gettext_lazy("Change the portal phone number"),
        gettext_lazy("Change the portal phone"),
        _portal_phone_change,
        done=pgettext_lazy("audit action", "Portal phone number changed in the back office"),
        form_class=PhoneForm,
        offered_for_customer=_registered,
    ),
    StaffAction(
        "nonresident_id_assign",
        P.NONRESIDENT_ID_ASSIGN,
        gettext_lazy("Assign the identification number"),
        gettext_lazy("Assign the number"),
        _nonresident_id_assign,
        done=pgettext_lazy("audit action", "Identification number assigned in the back office"),
        form_class=NonresidentIdForm,
        offered_for_customer=lambda s: s.customer.residency == Residency.NON_RESIDENT and not s.customer.nonresident_id,
    ),
    StaffAction(
        "device_block",
        P.DEVICE_BLOCK,
        gettext_lazy("Block a BS Pay device"),
        gettext_lazy("Block the device"),
        _device_block,
        done=pgettext_lazy("audit action", "BS Pay device blocked in the back office"),
        form_class=DeviceBlockForm,
        # Offered per device, in the customer page's section "BS Pay devices", not in the general list.
        offered_for_customer=lambda state: False,
        dangerous=True,
    ),
    StaffAction(
        "card_block",
        P.CARD_BLOCK,
        gettext_lazy("Temporarily block the card"),
        gettext_lazy("Block the card"),
        _card_block,
        done=pgettext_lazy("audit action", "Card temporarily blocked in the back office"),
        on_card=True,
        offered_for_card=lambda card: operation_allowed(card, Operation.BLOCK, by_bank=True),
        dangerous=True,
    ),
    StaffAction(
        "card_unblock",
        P.CARD_UNBLOCK,
        gettext_lazy("Unblock the card"),
        gettext_lazy("Unblock the card"),
        _card_unblock,
        done=pgettext_lazy("audit action", "Card unblocked in the back office"),
        on_card=True,
        offered_for_card=lambda card: operation_allowed(card, Operation.UNBLOCK, by_bank=True),
    ),
    StaffAction(
        "card_cancel",
        P.CARD_CANCEL,
        gettext_lazy("Cancel the card"),
        gettext_lazy("Cancel the card for good"),
        _card_cancel,
        done=pgettext_lazy("audit action", "Card cancelled in the back office"),
        form_class=CardCancelForm,
        on_card=True,
        offered_for_card=lambda card: operation_allowed(card, Operation.CANCEL, by_bank=True),
        dangerous=True,
    ),
    StaffAction(
        "wrong_pin_reset",
        P.WRONG_PIN_RESET,
        gettext_lazy("Reset the wrong-PIN counter"),
        gettext_lazy("Reset the counter"),
        _wrong_pin_reset,
        done=pgettext_lazy("audit action", "Wrong-PIN counter reset in the back office"),
        on_card=True,
        offered_for_card=lambda card: card.wrong_pin_count > 0 and card_state(card) != CardState.CANCELLED,
    ),
    StaffAction(
        "token_suspend",
        P.TOKEN_SUSPEND,
        gettext_lazy("Suspend the card in a phone wallet"),
        gettext_lazy("Suspend the token"),
        _token_suspend,
        done=pgettext_lazy("audit action", "Wallet token suspended in the back office"),
        form_class=TokenSuspendForm,
        on_card=True,
        # Offered where the card may have tokens; the form says when none ends with the digits given.
        offered_for_card=lambda card: card_state(card) != CardState.CANCELLED,
        dangerous=True,
    ),
)
ACTIONS: dict[str, StaffAction] = {action.name: action for action in _ACTIONS}
CUSTOMER_ACTIONS = [a for a in _ACTIONS if not a.on_card]
CARD_ACTIONS = [a for a in _ACTIONS if a.on_card]
