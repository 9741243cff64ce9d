"""Step-up confirmation: one mechanism for every operation confirmed with an SMS code, in every channel.

An operation that changes money flow or security is not run by the code that
asks for it. Any channel (the portal, the BS Pay app's API) asks with
``stepup_request(actor=..., user=..., operation=..., payload=..., channel=...)``.
The operation's registration holds the rule: whether this request needs a code
(``needs_code``, e.g. only a limit that goes up) and from which channels it may
be asked. Without a code it runs at once (``Completed``); with one, a code whose
SMS names the operation (and the card) is sent and the answer is
``ConfirmationNeeded``. Only when the right code comes back, through the
channel that asked, does the registered handler run, with the payload stored
at the start: what the code confirms is exactly what runs (PSD2 RTS art. 5,
dynamic linking). See docs/step-up.md.

The portal's views call ``stepup_begin(request, ...)``, the thin web wrapper
(the generic confirmation page ``sca:confirm``); the app confirms at
``/api/app/v1/confirmations/<id>``.

Registering an operation (in ``<app>/stepup_operations.py``, found at start-up)::

    @stepup.register("cards.card.limits_change", describe=describe_limits, needs_code=limit_goes_up,
                     channels=(Channel.WEB, Channel.APP), examples=[{...longest payload...}])
    def run_limits_change(*, user, payload, card, actor) -> stepup.StepUpResult:
        card_limits_change(actor=actor, card=card, ...)
        return stepup.StepUpResult(message=_("..."))
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.apps import apps
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.core.audit import FORBIDDEN_KEYS, Actor, audit_record
from kartosfera.core.errors import DomainError
from kartosfera.customers.models import Customer
from kartosfera.sca.models import ChallengeChannel, ChallengePurpose, ChallengeState, ConfirmWith, SmsChallenge
from kartosfera.sca.services import (
    ChallengeError,
    challenge_cancel,
    challenge_issue,
    challenge_resend,
    challenge_verify,
    login_phone,
)

if TYPE_CHECKING:
    # Only the types: sca is below users and cards, which register their operations here (docs/architecture.md).
    from kartosfera.cards.models import Card
    from kartosfera.users.models import User

# Session key: the public ids of the confirmations started in this session,
# each with the page to go back to and the page to go to once done. A
# challenge id from another session (even the same user's) is a 404: a stolen
# confirmation link is worthless.
SESSION_KEY = "sca.stepup"
SESSION_MAX_ENTRIES = 20
# Payload keys starting with "_" belong to the mechanism (the linked check of a
# new phone number); handlers never see them.
VERIFICATION_KEY = "_verification"
# At most this many step-up codes per customer per hour: each costs an SMS and
# a flood of them is both a cost and a way to bury a real one [ours].
MAX_STEP_UPS_PER_HOUR = 20
# The page that confirms a step-up with the user's passkey. It lives in the users app, which keeps passkeys and
# sits above this one, so it is named here, not imported (docs/architecture.md).
PASSKEY_CONFIRM_URL_NAME = "users:stepup_passkey"


def _never(user: User) -> bool:
    return False


# Whether the user's step-ups are confirmed with their passkey instead of an SMS code: the users app registers
# its rule (a passkey on file and "passkey only" or the deployment's Level 3 mode) when it starts.
_confirm_with_passkey: Callable[[User], bool] = _never


def stepup_passkey_rule_register(rule: Callable[[User], bool]) -> None:
    """Set the rule that sends a user's confirmations to their passkey (called from UsersConfig.ready)."""
    global _confirm_with_passkey
    _confirm_with_passkey = rule


Channel = ChallengeChannel


@dataclass(frozen=True)
class StepUpResult:
    """What an operation that ran says, in any channel: its success message.

    ``web_path``: for the rare operation whose result is itself a page (the
    device activation code, shown once), the page a browser goes to next;
    otherwise the page that started the operation decides (``stepup_begin``'s
    ``done_url``), and the app shows the message.
    """

    message: str
    web_path: str | None = None


@dataclass(frozen=True)
class Completed:
    """The operation ran at once: this request needs no code (``needs_code`` said so)."""

    result: StepUpResult


@dataclass(frozen=True)
class ConfirmationNeeded:
    """A code was sent; the operation runs when it comes back through the channel that asked."""

    challenge: SmsChallenge


StepUpAnswer = Completed | ConfirmationNeeded


class Describe(Protocol):
    def __call__(self, *, payload: Mapping[str, Any], card: Card | None) -> str: ...


class NeedsCode(Protocol):
    def __call__(self, *, payload: Mapping[str, Any], card: Card | None) -> bool: ...


class Check(Protocol):
    def __call__(self, *, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> None: ...


class Handler(Protocol):
    def __call__(self, *, user: User, payload: Mapping[str, Any], card: Card | None, actor: Actor) -> StepUpResult: ...


@dataclass(frozen=True)
class Operation:
    """A confirmable operation: its name, how the SMS and page name it, and what runs it."""

    name: str
    describe: Describe
    run: Handler
    # The rule: does this request need a code? None = always (most operations).
    # Lowering a limit, switching a risk-raising setting off: no code [PRODUCT.md].
    needs_code: NeedsCode | None = None
    # Refuses (raises a DomainError) a request that cannot run now, before a
    # code is sent: no SMS for an operation the card's state forbids. The
    # service checks again, under its lock, when the operation runs.
    check: Check | None = None
    # The channels that may ask for it; the app cannot ask for what it has no screen for.
    channels: frozenset[str] = frozenset({ChallengeChannel.WEB})
    # Payload keys holding a one-way secret (a password hash, a PIN verification
    # value): dropped from the stored payload once the confirmation ends.
    secret_keys: tuple[str, ...] = ()
    # Payloads with the longest realistic values: the SMS test renders the
    # code's text with each (kartosfera/sca/sms_texts.py); none = a failing test.
    examples: tuple[Mapping[str, Any], ...] = ()


class StepUpRefused(DomainError):
    """A confirmation could not be started (no phone, too many codes)."""

    code = "stepup_refused"


class ChannelNotAllowed(DomainError):
    """The operation cannot be asked for from this channel (e.g. a new phone number from the app)."""

    code = "channel_not_allowed"


_registry: dict[str, Operation] = {}


def register(
    name: str,
    *,
    describe: Describe,
    needs_code: NeedsCode | None = None,
    check: Check | None = None,
    channels: Sequence[str] = (ChallengeChannel.WEB,),
    secret_keys: tuple[str, ...] = (),
    examples: Sequence[Mapping[str, Any]] = (),
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of the operation ``name``.

    ``needs_code(payload=..., card=...)``: False when this particular request
    may run without a code (a lower limit); omitted, every request needs one.
    ``check(payload=..., card=..., actor=...)``: raises a DomainError when the
    request cannot run now, so that no code is sent for it.
    ``channels``: where it may be asked for (``Channel.WEB``, ``Channel.APP``).
    ``secret_keys``: payload keys wiped when the confirmation ends (run, refused,
    failed or cancelled), so a hash does not outlive the minutes it is needed.
    ``examples``: payloads with the longest realistic values, with which the
    tests check that the code's SMS fits one GSM-7 segment (docs/sms.md).
    """

    def decorator(run: Handler) -> Handler:
        if name in _registry:
            raise ImproperlyConfigured(f"step-up operation {name!r} is registered twice")
        if len(name) > SmsChallenge._meta.get_field("operation").max_length:  # type: ignore[operator]
            raise ImproperlyConfigured(f"step-up operation name {name!r} is too long")
        unknown = set(channels) - set(ChallengeChannel.values)
        if unknown or not channels:
            raise ImproperlyConfigured(f"step-up operation {name!r} has no or unknown channels: {sorted(unknown)}")
        _registry[name] = Operation(
            name=name,
            describe=describe,
            run=run,
            needs_code=needs_code,
            check=check,
            channels=frozenset(channels),
            secret_keys=tuple(secret_keys),
            examples=tuple(examples),
        )
        return run

    return decorator


def operation_get(name: str) -> Operation:
    """The registered operation ``name``; an unknown name is a programming error."""
    try:
        return _registry[name]
    except KeyError:
        raise ImproperlyConfigured(f"step-up operation {name!r} is not registered") from None


def operation_names() -> list[str]:
    """The names of every registered operation (for the docs and the tests)."""
    return sorted(_registry)


def card_label(card: Card) -> str:
    """How an SMS names a card: the last four digits only, e.g. *1234."""
    return f"*{card.pan_last4}"


def stepup_phone(user: User) -> str | None:
    """The number step-up codes go to: the same as sign-in codes (the portal phone, else the phone on file)."""
    return login_phone(user)


def _check_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    # The payload is stored in the database until the operation runs: a clear
    # secret in it would be a secret at rest. Hash it (make_password) or keep a
    # keyed verification value instead. Refusing loudly catches the mistake.
    for key in payload:
        if key.lower() in FORBIDDEN_KEYS or key.startswith("_"):
            raise ValueError(f"step-up payload key {key!r} is not allowed (secret or reserved)")
    return dict(payload)


def _principal_customer(user: User, card: Card | None) -> Customer:
    customer = user.customer
    if customer is None or not user.is_cardholder:
        raise PermissionDenied
    if card is not None and card.customer_id != customer.pk:
        # A caller passing somebody else's card is a bug: never send a code for it, never run it.
        raise PermissionDenied
    return customer


@transaction.atomic
def stepup_issue(
    *,
    actor: Actor,
    user: User,
    operation: str,
    payload: Mapping[str, Any],
    card: Card | None = None,
    verify_phone: str | None = None,
    channel: str = ChallengeChannel.WEB,
    app_device_id: uuid.UUID | None = None,
) -> SmsChallenge:
    """Start confirming ``operation``: send the code (and one to ``verify_phone``, if given).

    ``verify_phone`` is a new number that must prove it reaches the user: it
    gets a second code (PHONE_VERIFICATION) and the operation runs only when
    both codes are confirmed. ``channel`` (and for the app, the device) is the
    only place the code can come back through.
    """
    op = operation_get(operation)
    if channel not in op.channels:
        raise ChannelNotAllowed(_("This operation cannot be confirmed here."))
    if (channel == ChallengeChannel.APP) != (app_device_id is not None):
        raise ValueError("an app confirmation belongs to exactly one device")
    clean_payload = _check_payload(payload)
    customer = _principal_customer(user, card)
    confirm_with = ConfirmWith.PASSKEY if _confirm_with_passkey(user) else ConfirmWith.SMS
    phone = stepup_phone(user)
    if not phone:
        raise StepUpRefused(_("There is no phone number for confirmation codes. Please visit a branch of your bank."))
    # The customer row lock makes the hourly cap exact when requests race.
    Customer.objects.select_for_update().filter(pk=customer.pk).first()
    since = timezone.now() - dt.timedelta(hours=1)
    recent = SmsChallenge.objects.filter(
        customer=customer, purpose=ChallengePurpose.STEP_UP, created_at__gte=since
    ).count()
    if recent >= MAX_STEP_UPS_PER_HOUR:
        raise StepUpRefused(_("Too many confirmation codes have been requested. Try again in an hour."))
    description = op.describe(payload=clean_payload, card=card)
    common: dict[str, Any] = {
        "actor": actor,
        "customer": customer,
        "user": user,
        "operation": op.name,
        "description": description,
        "card_id": card.pk if card is not None else None,
        "channel": channel,
        "app_device_id": app_device_id,
    }
    stored_payload = dict(clean_payload)
    if verify_phone:
        verification = challenge_issue(
            purpose=ChallengePurpose.PHONE_VERIFICATION, phone=verify_phone, payload={}, **common
        )
        stored_payload[VERIFICATION_KEY] = str(verification.public_id)
    return challenge_issue(
        purpose=ChallengePurpose.STEP_UP, phone=phone, payload=stored_payload, confirm_with=confirm_with, **common
    )


def stepup_request(
    *,
    actor: Actor,
    user: User,
    operation: str,
    payload: Mapping[str, Any],
    channel: str,
    card: Card | None = None,
    verify_phone: str | None = None,
    app_device_id: uuid.UUID | None = None,
) -> StepUpAnswer:
    """Ask for ``operation`` from ``channel``: run it now when this request needs no code, else send one.

    The one entry point of every channel: the rule (``needs_code``) and the
    channels allowed are the operation's, so the portal and the app cannot
    disagree on which request needs a code. A refusal (a ``DomainError``: no
    phone, too many codes, the service's own rule) is raised for the channel to
    show; a direct run leaves nothing half-done (one transaction).
    """
    op = operation_get(operation)
    if channel not in op.channels:
        raise ChannelNotAllowed(_("This operation cannot be confirmed here."))
    _principal_customer(user, card)
    if op.check is not None:
        op.check(payload=payload, card=card, actor=actor)
    if op.needs_code is not None and not op.needs_code(payload=payload, card=card):
        with transaction.atomic():
            return Completed(op.run(user=user, payload=_check_payload(payload), card=card, actor=actor))
    challenge = stepup_issue(
        actor=actor,
        user=user,
        operation=operation,
        payload=payload,
        card=card,
        verify_phone=verify_phone,
        channel=channel,
        app_device_id=app_device_id,
    )
    return ConfirmationNeeded(challenge)


def stepup_begin(
    request: HttpRequest,
    *,
    operation: str,
    payload: Mapping[str, Any],
    card: Card | None = None,
    verify_phone: str | None = None,
    back_url: str | None = None,
    done_url: str | None = None,
) -> HttpResponse:
    """The web's side of ``stepup_request``: run it now or send the code and go to the confirmation page.

    Call it from a view once the input is valid, instead of running the
    operation. ``back_url`` (default: this page) is where "cancel", a refusal
    and a failed confirmation lead; ``done_url`` (default: ``back_url``) is where
    the success message is shown.
    """
    user = request.user
    if not isinstance(user, get_user_model()):
        raise PermissionDenied
    back = back_url or request.path
    done = done_url or back
    try:
        answer = stepup_request(
            actor=Actor.for_user(user),
            user=user,
            operation=operation,
            payload=payload,
            card=card,
            verify_phone=verify_phone,
            channel=ChallengeChannel.WEB,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(back)
    if isinstance(answer, Completed):
        messages.success(request, answer.result.message)
        return HttpResponseRedirect(answer.result.web_path or done)
    challenge = answer.challenge
    entries: dict[str, Any] = dict(request.session.get(SESSION_KEY, {}))
    entries[str(challenge.public_id)] = {"back": back, "done": done}
    # Dicts keep insertion order: the oldest confirmations fall out first.
    request.session[SESSION_KEY] = dict(list(entries.items())[-SESSION_MAX_ENTRIES:])
    return HttpResponseRedirect(stepup_confirm_url(challenge))


def stepup_confirm_url(challenge: SmsChallenge) -> str:
    """The page that confirms ``challenge``: the code page, or the passkey page when no code was sent."""
    name = PASSKEY_CONFIRM_URL_NAME if challenge.confirm_with == ConfirmWith.PASSKEY else "sca:confirm"
    return reverse(name, kwargs={"public_id": challenge.public_id})


def stepup_passkey_challenge(challenge: SmsChallenge) -> bytes:
    """A fresh WebAuthn challenge that carries the operation: 16 random bytes, then the SHA-256 of what runs.

    The passkey's signature over it is specific to this confirmation's operation, card and payload (PSD2 RTS
    art. 5, dynamic linking), as the SMS code's text is for a code.
    """
    operation = json.dumps(
        [str(challenge.public_id), challenge.operation, challenge.description, challenge.card_id, challenge.payload],
        sort_keys=True,
        default=str,
    )
    return secrets.token_bytes(16) + hashlib.sha256(operation.encode()).digest()


@transaction.atomic
def stepup_passkey_challenge_keep(*, challenge: SmsChallenge, value: bytes) -> None:
    """Keep the app's WebAuthn challenge for ``challenge`` on its row (replacing an earlier one)."""
    SmsChallenge.objects.filter(pk=challenge.pk).update(passkey_challenge=base64.urlsafe_b64encode(value).decode())


@transaction.atomic
def stepup_passkey_challenge_take(*, challenge: SmsChallenge) -> bytes | None:
    """The app's kept WebAuthn challenge for ``challenge``, removed at once (single use), or None."""
    locked = SmsChallenge.objects.select_for_update().get(pk=challenge.pk)
    value, locked.passkey_challenge = locked.passkey_challenge, ""
    locked.save(update_fields=["passkey_challenge"])
    return base64.urlsafe_b64decode(value.encode()) if value else None


def _session_entry(request: HttpRequest, challenge: SmsChallenge) -> dict[str, str]:
    entry = request.session.get(SESSION_KEY, {}).get(str(challenge.public_id))
    if isinstance(entry, str):  # a confirmation started before "done" was stored
        return {"back": entry, "done": entry}
    return dict(entry or {})


def stepup_back_url(request: HttpRequest, challenge: SmsChallenge) -> str:
    """The page the confirmation started from (stored in the session)."""
    return str(_session_entry(request, challenge).get("back") or reverse("portal:home"))


def stepup_done_url(request: HttpRequest, challenge: SmsChallenge, result: StepUpResult) -> str:
    """Where the browser goes once the operation ran: the result's own page, else the one the view chose."""
    entry = _session_entry(request, challenge)
    return result.web_path or str(entry.get("done") or entry.get("back") or reverse("portal:home"))


def stepup_forget(request: HttpRequest, challenge: SmsChallenge) -> None:
    """Drop a finished confirmation from the session."""
    entries = dict(request.session.get(SESSION_KEY, {}))
    if entries.pop(str(challenge.public_id), None) is not None:
        request.session[SESSION_KEY] = entries


def stepup_linked(challenge: SmsChallenge) -> SmsChallenge | None:
    """The second challenge (code to a new phone number) of a confirmation, if any."""
    linked_id = challenge.payload.get(VERIFICATION_KEY)
    if not linked_id:
        return None
    return SmsChallenge.objects.get(
        public_id=linked_id, customer_id=challenge.customer_id, purpose=ChallengePurpose.PHONE_VERIFICATION
    )


@dataclass
class VerifyOutcome:
    """What the codes typed on the confirmation page did: errors per field, or all confirmed."""

    errors: dict[str, str]
    ended: bool = False
    # Why it ended, when it ended for a reason of its own: "passkey_required" (the user's confirmations moved to the
    # passkey after the code was sent).
    ended_code: str = ""

    @property
    def confirmed(self) -> bool:
        return not self.errors and not self.ended


def _passkey_now_required() -> str:
    return _("Your confirmations now take your passkey. Please start the operation again.")


PASSKEY_NOW_REQUIRED = "passkey_required"


def _code_no_longer_accepted(challenge: SmsChallenge) -> bool:
    """Whether an SMS confirmation that has not run was issued before the user's confirmations moved to the passkey
    ("passkey only" chosen, or the Level 3 mode switched on, in the code's 5 minutes): its code no longer confirms
    anything (the new number's own validation code of a phone change is not the operation's confirmation, and stays
    SMS)."""
    return (
        challenge.confirm_with == ConfirmWith.SMS
        and challenge.completed_at is None
        and challenge.state in {ChallengeState.PENDING, ChallengeState.CONFIRMED}
        and challenge.user_id is not None
        and _confirm_with_passkey(cast("User", challenge.user))
    )


def stepup_resend(*, actor: Actor, challenge: SmsChallenge, linked: SmsChallenge | None) -> None:
    """Send new codes for the codes still waiting (at most 3 per code; the tries are not reset). A confirmation whose
    code no longer confirms anything ends instead (ChallengeError), and nothing is sent."""
    if _code_no_longer_accepted(challenge):
        stepup_cancel(actor=actor, challenge=challenge, reason=PASSKEY_NOW_REQUIRED)
        raise ChallengeError(_passkey_now_required(), code=PASSKEY_NOW_REQUIRED)
    waiting = [
        item
        for item in (challenge, linked)
        # A passkey challenge has no code to send again (its linked new-number check may).
        if item is not None and item.state == ChallengeState.PENDING and item.confirm_with == ConfirmWith.SMS
    ]
    if not waiting and challenge.confirm_with == ConfirmWith.PASSKEY:
        raise ChallengeError(_("This confirmation takes your passkey, not a code."), code="passkey_required")
    for item in waiting or [challenge]:  # nothing waiting: challenge_resend says why (ended)
        challenge_resend(actor=actor, challenge=item)


def stepup_verify(
    *, actor: Actor, challenge: SmsChallenge, linked: SmsChallenge | None, codes: Mapping[str, str]
) -> VerifyOutcome:
    """Check the codes for the challenges still pending (``code`` and ``verification_code``).

    Each check commits on its own (see challenge_verify): never call this
    inside a transaction. Three wrong codes on either challenge end both.
    """
    if _code_no_longer_accepted(challenge):
        stepup_cancel(actor=actor, challenge=challenge, reason=PASSKEY_NOW_REQUIRED)
        return VerifyOutcome(errors={"code": _passkey_now_required()}, ended=True, ended_code=PASSKEY_NOW_REQUIRED)
    outcome = VerifyOutcome(errors={})
    pairs = [("code", challenge), ("verification_code", linked)]
    for field, item in pairs:
        if item is None or item.state != ChallengeState.PENDING:
            continue
        try:
            challenge_verify(actor=actor, challenge=item, code=codes.get(field, ""))
        except ChallengeError as exc:
            outcome.errors[field] = exc.message
            if exc.code in {"too_many_attempts", "challenge_closed", "code_used"}:
                outcome.ended = True
    if outcome.ended:
        stepup_cancel(actor=actor, challenge=challenge)
    return outcome


def _wipe_secrets(challenge: SmsChallenge) -> None:
    """Drop the operation's secret keys from the stored payload (the confirmation has ended)."""
    secret_keys = set(_registry[challenge.operation].secret_keys) if challenge.operation in _registry else set()
    if secret_keys & set(challenge.payload):
        SmsChallenge.objects.filter(pk=challenge.pk).update(
            payload={key: value for key, value in challenge.payload.items() if key not in secret_keys}
        )


@transaction.atomic
def stepup_cancel(*, actor: Actor, challenge: SmsChallenge, reason: str = "") -> None:
    """End a confirmation and its linked code (cancelled, or failed on the other code); nothing runs. ``reason``
    names why the system ended it (in the audit rows); none when the user cancelled."""
    linked = stepup_linked(challenge)
    for item in (challenge, linked):
        if item is not None:
            challenge_cancel(actor=actor, challenge=item, reason=reason)
    _wipe_secrets(challenge)


def _handler_payload(challenge: SmsChallenge) -> dict[str, Any]:
    return {key: value for key, value in challenge.payload.items() if not key.startswith("_")}


def _card_for(challenge: SmsChallenge) -> Card | None:
    if challenge.card_id is None:
        return None
    # The card model by its label: sca is below cards (cards registers its operations here) and does not import it.
    Card = cast("type[Card]", apps.get_model("cards", "Card"))

    # The card is re-read through the customer: a confirmation can only ever
    # act on a card of the customer who confirmed it.
    return Card.objects.select_related("product", "account").get(
        pk=challenge.card_id, customer_id=challenge.customer_id
    )


def stepup_complete(*, actor: Actor, user: User, challenge: SmsChallenge) -> StepUpResult:
    """Run the confirmed operation once: every code confirmed, not run before.

    The challenge row is locked while the handler runs, so two requests that
    confirm the two codes of a phone change at the same moment cannot both
    run it. A DomainError from the handler is audited and re-raised for the
    view to show; the codes are used up either way (start again).
    """
    op = operation_get(challenge.operation)
    try:
        with transaction.atomic():
            locked = SmsChallenge.objects.select_for_update().get(pk=challenge.pk)
            linked = stepup_linked(locked)
            if (
                locked.state != ChallengeState.CONFIRMED
                or locked.completed_at is not None
                or (linked is not None and linked.state != ChallengeState.CONFIRMED)
            ):
                raise ChallengeError(_("This confirmation has ended. Start again."), code="challenge_closed")
            if _code_no_longer_accepted(locked):
                # "Passkey only" was chosen while this code was being checked: the code confirms nothing now.
                raise ChallengeError(_passkey_now_required(), code=PASSKEY_NOW_REQUIRED)
            result = op.run(user=user, payload=_handler_payload(locked), card=_card_for(locked), actor=actor)
            locked.completed_at = timezone.now()
            locked.save(update_fields=["completed_at"])
            _wipe_secrets(locked)
            audit_record(
                actor=actor,
                action="sca.operation.completed",
                obj=locked,
                customer_id=locked.customer_id,
                after={"operation": locked.operation, "card_id": locked.card_id},
            )
    except ChallengeError:
        raise
    except DomainError as exc:
        with transaction.atomic():
            _wipe_secrets(challenge)
            # A refusal whose own audit row was inside the rolled-back transaction writes it again now.
            record_after_rollback = getattr(exc, "record_after_rollback", None)
            if callable(record_after_rollback):
                record_after_rollback()
            audit_record(
                actor=actor,
                action="sca.operation.refused",
                obj=challenge,
                customer_id=challenge.customer_id,
                after={"operation": challenge.operation, "reason": exc.code},
            )
        raise
    return result


def stepup_expired_secrets_wipe(*, now: dt.datetime | None = None) -> int:
    """Wipe the secret payload keys of confirmations whose code expired unused; return how many.

    A confirmation the user simply walks away from never reaches run, refuse or
    cancel, so without this its payload (e.g. the new password's hash) would
    stay in the database. Run daily with `manage.py wipe_expired_confirmations`.
    """
    now = now or timezone.now()
    secret_operations = [name for name, operation in _registry.items() if operation.secret_keys]
    wiped = 0
    stale = SmsChallenge.objects.filter(
        purpose=ChallengePurpose.STEP_UP, operation__in=secret_operations, expires_at__lte=now
    ).exclude(payload={})
    for challenge in stale.iterator():
        secret_keys = set(_registry[challenge.operation].secret_keys)
        if not secret_keys & set(challenge.payload):
            continue
        with transaction.atomic():
            # Ended first, so that a late "send a new code" cannot revive a
            # confirmation whose payload is gone.
            challenge_cancel(actor=Actor.system("stepup-expiry"), challenge=challenge)
            _wipe_secrets(challenge)
        wiped += 1
    return wiped
