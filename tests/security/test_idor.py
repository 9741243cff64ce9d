"""No actor reaches an object that is not theirs, on any URL that names an object (an IDOR test).

The URLs come from Django's URL resolver: every pattern with a parameter must be in ``ROUTES`` below, which
says how to fill its parameters with an object of Alice (a cardholder of bank A) and which realm it lives in
(the portal, the back office, one of the JSON APIs). A new URL with a parameter and no entry fails
``test_every_url_with_a_parameter_is_in_the_table``, so it cannot escape.

For each URL, every actor of its realm asks for Alice's object with each method the URL takes:

- the portal and the app API: Bob (another cardholder of bank A) and Celina (of bank B) get 404, and so does
  Alice for a URL that pairs her object with somebody else's (her card with Bob's token);
- the back office: bank B's staff get 404 (a role without the URL's permission gets 403 for every object,
  docs/backoffice.md); bank A's and the group's staff with the permission reach it; a URL pairing Alice with
  Bob's card or statement is 404 to them;
- a staff member's own object (a passkey): every other staff member gets 404, whatever their role and bank;
- the provisioning API: bank B's key, and a group key naming bank B, get 404 (docs/api.md);
- every actor of another realm (staff on a portal page, a cardholder in the back office, a key of another
  scope) is refused: sent to sign in, 401 or 403.

Nothing changes while they try: the rows of every Kartosfera model (audit rows, cards, tokens, devices,
challenges...) are compared before and after. Then Alice (or an allowed actor) asks for the same URLs and
must get neither 404 nor 403, so that the test cannot pass by every URL being broken.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from kartosfera.acs.models import AuthenticationRecord
from kartosfera.acs.tests import records
from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.backoffice.actions import ACTIONS
from kartosfera.backoffice.roles import StaffPermission
from kartosfera.backoffice.tests.helpers import action_post_data, verification_planted
from kartosfera.banks.logos import bank_logo_set
from kartosfera.banks.models import Bank, Branch
from kartosfera.banks.tests.logos import png_bytes
from kartosfera.cards.models import CardProduct
from kartosfera.cards.operations_services import card_activate, card_block_temporarily
from kartosfera.cards.stepup_operations import CARD_UNBLOCK
from kartosfera.core.audit import Actor
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import BankMembership
from kartosfera.customers.services import customer_create
from kartosfera.demo.identifiers import make_pan
from kartosfera.devices import services as device_services
from kartosfera.devices.tests.app_client import AppClient
from kartosfera.devices.tests.helpers import device_for, session_open_for
from kartosfera.processing.advices import advice_record
from kartosfera.processing.tests.helpers import PROCESSOR, CardFixture, decide, request_for
from kartosfera.sca.models import ChallengeChannel
from kartosfera.sca.stepup import SESSION_KEY as STEPUP_SESSION_KEY
from kartosfera.sca.stepup import ConfirmationNeeded, stepup_request
from kartosfera.secure3d.services import trusted_merchant_add
from kartosfera.statements.models import Statement
from kartosfera.statements.tests.documents_helpers import OPENED, STATEMENT_DATE, busy_month, close
from kartosfera.statements.tests.helpers import credit_card
from kartosfera.testing import factories
from kartosfera.testing.passkeys_pages import passkey_add_directly
from kartosfera.testing.staff import StaffPerson, staff_client, staff_person_create
from kartosfera.testing.tokens import token_factory
from kartosfera.tokens.models import Token
from kartosfera.users.models import Passkey, UserSession
from kartosfera.users.session_registry import session_key_digest

SYSTEM = factories.SYSTEM
BANK_B = "BANKB"
PROVISIONING = "/api/provisioning/v1"
SVG_LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'

# Realms: who may ask at all, and how an actor of another realm is refused.
PORTAL = "portal"
BACKOFFICE = "backoffice"
PROVISIONING_API = "provisioning API"
BANKS_API = "banks API"  # the group's own endpoints of the provisioning API
PROCESSOR_API = "processor API"
APP_API = "app API"
TOKEN_SERVICE_API = "token service API"
ACS_CHALLENGE = "ACS challenge"
STAFF_OWN = "staff own"  # a staff member's own object (a passkey): theirs alone, 404 to every other member
PUBLIC = "public"  # the same for everybody, by design
GROUP_DATA = "group data"  # no owner: the group's reference data


# --- The world: two banks, their customers and every kind of object, their staff and systems ---------------


@dataclass
class Holder:
    """A cardholder with one of each object."""

    customer: Any
    user: Any
    card: Any  # an active debit card
    credit_card: Any
    token: Token
    device: Any
    app: AppClient
    authentication: AuthenticationRecord
    fixture: Any  # the debit card with its number (processing's CardFixture)
    statement: Statement | None = None  # the credit card's, once the month is closed


@dataclass
class World:
    bank_a: Bank
    bank_b: Bank
    alice: Holder  # bank A: owns every object the URLs are pointed at
    bob: Holder  # bank A too
    celina: Holder  # bank B
    staff: dict[str, StaffPerson]
    keys: dict[str, tuple[str, str | None]]  # name -> (bearer token, X-Bank-Code)
    objects: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=dict)


_pans = itertools.count(900_000)  # away from the other helpers' series


def card_of(customer: Any, product: Any) -> CardFixture:
    """An active debit card whose number the test knows."""
    pan = make_pan("400000", next(_pans))
    card = factories.card_factory(customer=customer, product=product, pan=pan)
    return CardFixture(card=card_activate(actor=SYSTEM, card=card), pan=pan)


def _holder(bank: Bank, reference: str, first_name: str, n: int, debit_product: Any) -> Holder:
    customer = factories.customer_factory(
        bank=bank,
        reference=reference,
        first_name=first_name,
        pesel=factories.make_pesel(dt.date(1980, 1, 1 + n), 500 + n, female=n % 2 == 0),
        phone_on_file=f"+4860070{n:04d}",
    )
    user = factories.cardholder_user_factory(customer=customer)
    tc = card_of(customer, debit_product)
    cc = credit_card(opened=OPENED, customer=customer, bank=bank)
    busy_month(cc)
    app = AppClient()
    device = device_for(customer, app=app)
    app.device_id = str(device.public_id)
    token = token_factory(card=tc.card)
    authentication = records.answered(tc)
    return Holder(customer, user, tc.card, cc.card, token, device, app, authentication, tc)


def _world_build() -> World:
    bank_a = factories.bank_factory()
    bank_b = factories.bank_factory(BANK_B, short_name="BS Beta")
    bank_logo_set(actor=SYSTEM, bank=bank_a, data=png_bytes(), content_type="image/png")
    debit_a = factories.product_factory(bank=bank_a, code="VISA-DEBIT")
    debit_b = factories.product_factory(bank=bank_b, code="B-DEBIT")
    alice = _holder(bank_a, "CIF-000123", "Alicja", 1, debit_a)
    bob = _holder(bank_a, "CIF-000124", "Bartosz", 2, debit_a)
    celina = _holder(bank_b, "CIF-000125", "Celina", 3, debit_b)
    statements = close(STATEMENT_DATE)
    for holder in (alice, bob, celina):
        holder.statement = next(s for s in statements if s.account_id == holder.credit_card.account_id)

    staff = {}
    for role in ("agent", "supervisor", "auditor"):
        staff[f"group {role}"] = staff_person_create(role, username=f"idor-group-{role}")
    for bank, letter in ((bank_a, "A"), (bank_b, "B")):
        for role in ("branch", "supervisor", "auditor"):
            staff[f"bank {letter} {role}"] = staff_person_create(role, username=f"idor-{letter}-{role}", bank=bank)

    def key(name: str, scope: str, bank: Bank | None) -> str:
        return api_key_create(actor=SYSTEM, name=f"idor {name}", scopes=[scope], bank=bank)[1]

    group_provisioning = key("group provisioning", ApiScope.PROVISIONING, None)
    keys = {
        "bank A key": (key("bank A", ApiScope.PROVISIONING, bank_a), None),
        "bank B key": (key("bank B", ApiScope.PROVISIONING, bank_b), None),
        "bank B key naming bank B": (key("bank B named", ApiScope.PROVISIONING, bank_b), BANK_B),
        "group key naming bank A": (group_provisioning, bank_a.code),
        "group key naming bank B": (group_provisioning, BANK_B),
        "processor key": (key("processor", ApiScope.PROCESSOR, None), None),
        "token service key": (key("token service", ApiScope.TOKEN_SERVICE, None), None),
        "ACS key": (key("directory server", ApiScope.ACS, None), None),
    }

    world = World(bank_a, bank_b, alice, bob, celina, staff, keys)
    tc = alice.fixture
    holder = Actor.for_user(alice.user)
    # A payment waiting for Alice's 3-D Secure PIN and code (before anything else makes her 3DS profile).
    world.objects["challenged"] = records.challenged(tc)
    world.objects["merchant"] = trusted_merchant_add(
        actor=holder, customer=alice.customer, name="Księgarnia Nova", merchant_id="MID-000123", country="PL"
    )
    world.objects["bob merchant"] = trusted_merchant_add(
        actor=Actor.for_user(bob.user), customer=bob.customer, name="Apteka", merchant_id="MID-000777", country="PL"
    )
    world.objects["activation"] = device_services.device_activation_code_issue(actor=holder, customer=alice.customer)
    world.objects["passkey"] = passkey_add_directly(alice.user)[0]
    world.objects["authorization"] = decide(tc, amount_minor=10_000).authorization
    stand_in = request_for(tc, amount_minor=500_000, channel="atm", mcc="6011", merchant_name="Bankomat Euronet")
    world.objects["flagged"] = advice_record(actor=PROCESSOR, request=stand_in, approved=True, response_code="00")
    # A card blocked by Alice: unblocking it needs an SMS code, asked for in the portal and in the app.
    blocked = card_block_temporarily(actor=holder, card=card_of(alice.customer, debit_a).card)
    world.objects["blocked card"] = blocked
    for channel, device_id in ((ChallengeChannel.WEB, None), (ChallengeChannel.APP, alice.device.public_id)):
        answer = stepup_request(
            actor=holder,
            user=alice.user,
            operation=CARD_UNBLOCK,
            payload={},
            card=blocked,
            channel=channel,
            app_device_id=device_id,
        )
        assert isinstance(answer, ConfirmationNeeded)
        world.objects[f"{channel} challenge"] = answer.challenge
    world.objects["requested token"] = token_factory(card=tc.card, activate=False, device_name="Galaxy")
    world.objects["branch A"] = Branch.objects.create(
        bank=bank_a, name="Centrala", street="Rynek 1", postal_code="00-950", city="Żółkiewka"
    )
    # A passkey of bank A's branch employee (the row alone: removing it checks no signature).
    world.objects["staff passkey"] = Passkey.objects.create(
        user=staff["bank A branch"].user, credential_id="idor-staff-passkey", public_key=b"\x00", name="Klucz"
    )
    world.schema = Client().get(f"{PROVISIONING}/openapi.json").json()
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once for the module inside a transaction that is rolled back at its end; each test runs in a
    savepoint of it (pytest-django's own), so what a test changes is undone before the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _world_build()
        transaction.set_rollback(True)


# --- The table: every URL with a parameter -----------------------------------------------------------------


Kwargs = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    realm: str
    target: Kwargs | None  # Alice's (bank A's) object; None: nobody's (GROUP_DATA) or everybody's (PUBLIC)
    # Alice's object paired with another one's: 404 to every actor who reaches the target.
    crossed: tuple[Kwargs, ...] = ()
    methods: tuple[str, ...] = ("get", "post")
    permission: StaffPermission | None = None  # the back office's
    body: dict[str, Any] | None = None  # a JSON API's; None: the schema's example (provisioning)
    why: str = ""  # for PUBLIC and GROUP_DATA: why nobody owns it


def _alice_card(w: World) -> dict[str, Any]:
    return {"card_id": w.alice.card.pk}


def _alice_credit(w: World) -> dict[str, Any]:
    return {"card_id": w.alice.credit_card.pk, "statement_id": w.alice.statement.pk}


def _portal_card(url_name: str) -> tuple[str, Route]:
    return f"portal:{url_name}", Route(PORTAL, _alice_card)


def _backoffice_customer(url_name: str, permission: StaffPermission = StaffPermission.CUSTOMER_VIEW):
    return f"backoffice:{url_name}", Route(
        BACKOFFICE, lambda w: {"customer_id": w.alice.customer.pk}, permission=permission
    )


def _backoffice_statement(url_name: str, permission: StaffPermission = StaffPermission.CUSTOMER_VIEW):
    return f"backoffice:{url_name}", Route(
        BACKOFFICE,
        lambda w: {"customer_id": w.alice.customer.pk, "statement_id": w.alice.statement.pk},
        crossed=(lambda w: {"customer_id": w.alice.customer.pk, "statement_id": w.bob.statement.pk},),
        permission=permission,
    )


def _app(url_name: str, target: Kwargs, crossed: tuple[Kwargs, ...] = (), body: dict | None = None, *, get=False):
    return f"app_v1:{url_name}", Route(APP_API, target, crossed, ("get",) if get else ("post",), body=body)


def _provisioning(url_name: str, method: str, target: Kwargs, realm: str = PROVISIONING_API, **extra: Any):
    return f"provisioning_v1:{url_name}", Route(realm, target, methods=(method,), **extra)


def _tokens(w: World, token: Token, card: Any = None) -> dict[str, Any]:
    return {"card_id": (card or token.card).pk, "token_id": token.pk}


def _customer_ref(w: World) -> dict[str, Any]:
    return {"reference": BankMembership.objects.get(customer=w.alice.customer, bank=w.bank_a).customer_number}


_account_ref = lambda w: {"reference": w.alice.card.account.reference}  # noqa: E731
_credit_ref = lambda w: {"reference": w.alice.credit_card.account.reference}  # noqa: E731
_card_ref = lambda w: {"reference": w.alice.card.reference}  # noqa: E731
_bank_a = lambda w: {"code": w.bank_a.code}  # noqa: E731


def _alice_other_session(w: World) -> dict[str, Any]:
    """Another live session of Alice's (her phone), made when asked: a session's 5 idle minutes outlive no module."""
    phone = Client()
    phone.force_login(w.alice.user)
    return {"public_id": UserSession.objects.get(key_digest=session_key_digest(phone.session.session_key)).public_id}


_web = lambda w: {"public_id": w.objects["web challenge"].public_id}  # noqa: E731
_app_challenge = lambda w: {"confirmation_id": w.objects["app challenge"].public_id}  # noqa: E731
_portal_challenge_in_app = lambda w: {"confirmation_id": w.objects["web challenge"].public_id}  # noqa: E731
_app_challenge_in_portal = lambda w: {"public_id": w.objects["app challenge"].public_id}  # noqa: E731
_device = lambda w: {"public_id": w.alice.device.public_id}  # noqa: E731

ROUTES: dict[str, Route] = dict(
    [
        # The portal: a cardholder's own objects, reached through the signed-in customer.
        *(
            _portal_card(name)
            for name in (
                "card_detail",
                "card_history",
                "card_spending",
                "card_activate",
                "card_block",
                "card_unblock",
                "card_cancel",
                "card_contactless",
                "card_limits",
                "card_pin",
                "card_controls",
                "card_what_if",
                "card_temporary_raise",
                "card_temporary_raise_end",
                "card_mobile_payments",
                "card_mobile_payments_off",
                "card_tokens",
            )
        ),
        *(
            (
                f"portal:{name}",
                Route(
                    PORTAL,
                    lambda w: _tokens(w, w.alice.token),
                    crossed=(
                        lambda w: _tokens(w, w.bob.token, w.alice.card),  # Bob's token under Alice's card
                        lambda w: _tokens(w, w.alice.token, w.alice.credit_card),  # her token, her other card
                    ),
                ),
            )
            for name in ("token_suspend", "token_resume", "token_delete")
        ),
        ("portal:statement_list", Route(PORTAL, lambda w: {"card_id": w.alice.credit_card.pk})),
        *(
            (
                f"portal:{name}",
                Route(
                    PORTAL,
                    _alice_credit,
                    crossed=(lambda w: {"card_id": w.alice.credit_card.pk, "statement_id": w.bob.statement.pk},),
                ),
            )
            for name in ("statement", "statement_pdf", "statement_csv")
        ),
        *(
            (f"sca:{name}", Route(PORTAL, _web, crossed=(_app_challenge_in_portal,)))
            for name in ("confirm", "resend", "cancel")
        ),
        # The passkey page of a step-up: the same confirmation, reached the same way (the SMS one redirects back).
        ("users:stepup_passkey", Route(PORTAL, _web, crossed=(_app_challenge_in_portal,))),
        (
            "secure3d:merchant_remove",
            Route(PORTAL, lambda w: {"pk": w.objects["merchant"].pk}),
        ),
        (
            "secure3d:authentication_detail",
            Route(PORTAL, lambda w: {"acs_trans_id": w.alice.authentication.acs_trans_id}),
        ),
        ("profile:session_end", Route(PORTAL, _alice_other_session)),
        ("profile:passkey_remove", Route(PORTAL, lambda w: {"public_id": w.objects["passkey"].public_id})),
        ("devices:activation_code", Route(PORTAL, lambda w: {"public_id": w.objects["activation"].public_id})),
        *((f"devices:{name}", Route(PORTAL, _device)) for name in ("block", "unblock", "block_permanently")),
        # The back office: a bank's staff reach their bank's customers; the group's staff every bank's.
        _backoffice_customer("customer"),
        _backoffice_customer("customer_trail"),
        _backoffice_customer("verify", StaffPermission.CALLER_VERIFY),
        _backoffice_customer("authentications"),
        _backoffice_customer("statements"),
        # customer_action and card_action: every action of ACTIONS in turn, each with its own permission.
        _backoffice_customer("customer_action"),
        (
            "backoffice:card_action",
            Route(
                BACKOFFICE,
                lambda w: {"customer_id": w.alice.customer.pk, "card_id": w.alice.card.pk},
                crossed=(lambda w: {"customer_id": w.alice.customer.pk, "card_id": w.bob.card.pk},),
                permission=StaffPermission.CUSTOMER_VIEW,  # the URL's; each action has its own besides
            ),
        ),
        (
            "backoffice:card_history",
            Route(
                BACKOFFICE,
                lambda w: {"customer_id": w.alice.customer.pk, "card_id": w.alice.card.pk},
                crossed=(lambda w: {"customer_id": w.alice.customer.pk, "card_id": w.bob.card.pk},),
                permission=StaffPermission.CUSTOMER_VIEW,
            ),
        ),
        (
            "backoffice:authentication",
            Route(
                BACKOFFICE,
                lambda w: {"customer_id": w.alice.customer.pk, "acs_trans_id": w.alice.authentication.acs_trans_id},
                crossed=(
                    lambda w: {"customer_id": w.alice.customer.pk, "acs_trans_id": w.bob.authentication.acs_trans_id},
                ),
                permission=StaffPermission.CUSTOMER_VIEW,
            ),
        ),
        _backoffice_statement("statement"),
        _backoffice_statement("statement_pdf"),
        _backoffice_statement("statement_csv"),
        _backoffice_statement("statement_correct", StaffPermission.STATEMENT_CORRECT),
        (
            "backoffice:authorization_review",
            Route(
                BACKOFFICE,
                lambda w: {"authorization_id": w.objects["flagged"].authorization.pk},
                permission=StaffPermission.AUTHORIZATION_REVIEW,
            ),
        ),
        # The provisioning API: a bank's key works in its bank; a group key in the bank it names.
        _provisioning("get_customer", "get", _customer_ref),
        _provisioning("update_customer", "patch", _customer_ref),
        _provisioning("get_account", "get", _account_ref),
        _provisioning("update_account", "patch", _account_ref),
        _provisioning("post_to_account", "post", _account_ref),
        _provisioning("post_repayment", "post", _credit_ref),
        _provisioning("get_card_product", "get", lambda w: {"code": "VISA-DEBIT"}),
        _provisioning("update_card_product", "patch", lambda w: {"code": "VISA-DEBIT"}),
        _provisioning("get_card", "get", _card_ref),
        _provisioning("renew_card", "post", _card_ref),
        _provisioning("replace_card", "post", _card_ref),
        # Banks and branches: the group's keys only; a bank's key gets 404 for every bank, its own included.
        _provisioning("get_bank", "get", _bank_a, BANKS_API),
        _provisioning("update_bank", "patch", _bank_a, BANKS_API),
        _provisioning("create_branch", "post", _bank_a, BANKS_API),
        _provisioning("list_branches", "get", _bank_a, BANKS_API),
        _provisioning(
            "update_branch",
            "patch",
            lambda w: {"code": w.bank_a.code, "branch_id": w.objects["branch A"].pk},
            BANKS_API,
            crossed=(lambda w: {"code": w.bank_b.code, "branch_id": w.objects["branch A"].pk},),
        ),
        _provisioning("set_bank_logo", "put", _bank_a, BANKS_API),
        _provisioning(
            "get_conversion_rate", "get", None, GROUP_DATA, why="a currency pair's rate: the group's, read by all"
        ),
        _provisioning("get_reference_rate", "get", None, GROUP_DATA, why="an ECB reference rate: public data"),
        # The card processor's API: the processor's key only (the group's system, docs/processing.md).
        *(
            (
                f"processor_v1:{name}",
                Route(
                    PROCESSOR_API,
                    lambda w: {"authorization_id": w.objects["authorization"].processor_id},
                    methods=("post",),
                    body={"id": f"idor-{name}", "amount_minor": 100},
                ),
            )
            for name in ("create_reversal", "create_increment")
        ),
        # The BS Pay app: a device reaches its holder's cards and confirmations.
        _app("card_block", _alice_card),
        _app("card_activate", _alice_card),
        _app("card_unblock", _alice_card),
        _app("card_limits", _alice_card, body={"limits": {"internet": 0}}),
        _app("card_mobile_payments", _alice_card, body={"enabled": False}),
        _app("card_tokens", _alice_card, get=True),
        _app(
            "token_suspend_endpoint",
            lambda w: _tokens(w, w.alice.token),
            (lambda w: _tokens(w, w.bob.token, w.alice.card), lambda w: _tokens(w, w.alice.token, w.alice.credit_card)),
        ),
        _app(
            "token_resume_endpoint",
            lambda w: _tokens(w, w.alice.token),
            (lambda w: _tokens(w, w.bob.token, w.alice.card), lambda w: _tokens(w, w.alice.token, w.alice.credit_card)),
        ),
        _app(
            "confirmation_get",
            _app_challenge,
            (_portal_challenge_in_app,),
            get=True,
        ),
        _app(
            "confirmation_confirm",
            _app_challenge,
            (_portal_challenge_in_app,),
            body={"code": "000000"},
        ),
        _app("confirmation_resend", _app_challenge, (_portal_challenge_in_app,)),
        _app("confirmation_cancel", _app_challenge, (_portal_challenge_in_app,)),
        _app("confirmation_passkey_options", _app_challenge, (_portal_challenge_in_app,)),
        _app("confirmation_passkey", _app_challenge, (_portal_challenge_in_app,), body={"passkey": "{}"}),
        # The token service provider's API: the group's provider key only.
        (
            "token_service_v1:verify_provisioning_code",
            Route(
                TOKEN_SERVICE_API,
                lambda w: {"token_reference": w.objects["requested token"].token_reference},
                methods=("post",),
                body={"code": "000000"},
            ),
        ),
        (
            "token_service_v1:create_token_event",
            Route(
                TOKEN_SERVICE_API,
                lambda w: {"token_reference": w.alice.token.token_reference},
                methods=("post",),
                body={"event": "suspended"},
            ),
        ),
        # The ACS challenge page: anonymous by design, bound by a token only the challenge's browser holds.
        (
            "acs:challenge_step",
            Route(ACS_CHALLENGE, lambda w: {"acs_trans_id": w.objects["challenged"].acs_trans_id}, methods=("post",)),
        ),
        (
            "banks:logo",
            Route(PUBLIC, None, why="a bank's logo: shown on its public pages, addressed by its content's digest"),
        ),
        # A staff account is an object of its bank: a supervisor of another bank gets 404 (one's own account 403).
        (
            "backoffice:staff_account_action",
            Route(
                BACKOFFICE,
                lambda w: {"member_id": w.staff["bank A branch"].member.pk, "operation": "disable"},
                methods=("post",),
                permission=StaffPermission.STAFF_ACCOUNT_MANAGE,
            ),
        ),
        # A staff member's own passkey: only its owner reaches it; every other member, whatever their role and
        # bank, gets 404 (backoffice/account_views.py).
        (
            "backoffice:passkey_remove",
            Route(STAFF_OWN, lambda w: {"public_id": w.objects["staff passkey"].public_id}, methods=("post",)),
        ),
        (
            "backoffice:enrol_start",
            Route(
                PUBLIC,
                None,
                why="a staff enrolment link: its one-time 256-bit token is the credential, not an owner's object "
                "(test_staff_accounts.py: a spent, expired or made-up token enrols nothing)",
            ),
        ),
    ]
)


# --- Walking the URL map ---------------------------------------------------------------------------------


def _url_patterns(patterns=None, namespace: str = "", prefix: str = "") -> Iterator[tuple[str, set[str], str]]:
    """(qualified name, parameter names, route) of every URL the resolver serves."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            for name, params, leaf in _url_patterns(pattern.url_patterns, inner, route):
                yield name, params | _params(pattern), leaf
        else:
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else str(pattern.name)
            yield name, _params(pattern), route


def _params(pattern: URLPattern | URLResolver) -> set[str]:
    # A path() knows its converters; a re_path() names its groups.
    return set(pattern.pattern.converters) | set(pattern.pattern.regex.groupindex)


# The catch-all of /api/ (any other address is the API's JSON 404): it names no object.
NO_OBJECT = {("None", "api/^(?P<rest>.*)$")}


def test_every_url_with_a_parameter_is_in_the_table():
    seen = set()
    for name, params, route in _url_patterns():
        if not params or (name, route) in NO_OBJECT:
            continue
        seen.add(name)
        assert name in ROUTES, (
            f"URL {name!r} ({route}) takes {sorted(params)} and is not in tests/security/test_idor.py ROUTES: say "
            "how to fill its parameters with Alice's object and which realm's actors must not reach it"
        )
    assert not set(ROUTES) - seen, f"ROUTES names URLs that no longer exist: {sorted(set(ROUTES) - seen)}"
    assert len(seen) >= 80


@pytest.mark.django_db
def test_the_dev_urls_name_no_object_and_are_404_without_debug(settings, world):
    """/dev/ is mounted in every environment: none of its URLs names an object in its path (the demo terminal
    and shop pick any card in a form), and each answers 404 unless DEBUG, to everybody."""
    settings.DEBUG = False
    dev = [(name, params) for name, params, route in _url_patterns() if route.startswith("dev/")]
    assert len(dev) >= 4, "the walk sees the /dev/ URLs"
    assert [name for name, params in dev if params] == []
    callers = [Caller(world, actor) for actor in ("anonymous", "Alice", "group supervisor")]
    answers = {
        (name, method): getattr(c.client, method)(reverse(name)).status_code
        for name, _p in dev
        for c in callers
        for method in ("get", "post")
    }
    assert set(answers.values()) <= {404, 405}, answers  # 405: a method the page never takes
    assert {status for (_name, method), status in answers.items() if method == "get"} == {404}


# --- Actors and what each may get ------------------------------------------------------------------------

ALLOWED = "allowed"
NOT_FOUND = frozenset({404})
FORBIDDEN = frozenset({403})
UNAUTHORIZED = frozenset({401})
TO_LOGIN = "to login"  # the portal sends a visitor without a cardholder session to sign in
TO_STAFF_LOGIN = "to staff login"

CARDHOLDERS = ("Alice", "Bob", "Celina")
STAFF = (
    "group agent",
    "group supervisor",
    "group auditor",
    "bank A branch",
    "bank A supervisor",
    "bank A auditor",
    "bank B branch",
    "bank B supervisor",
    "bank B auditor",
)


def _holder_of(world: World, name: str) -> Holder:
    return {"Alice": world.alice, "Bob": world.bob, "Celina": world.celina}[name]


def _expectations(world: World, route: Route, permission: StaffPermission | None) -> dict[str, Any]:
    """actor -> what it must get for Alice's object on ``route``."""
    if route.realm == PORTAL:
        return {
            "Alice": ALLOWED,
            "Bob": NOT_FOUND,
            "Celina": NOT_FOUND,
            "anonymous": TO_LOGIN,
            # A staff session lives in its own cookie: to the portal every role is a visitor, so three stand in.
            **dict.fromkeys(("group supervisor", "bank A supervisor", "bank B supervisor"), TO_LOGIN),
        }
    if route.realm == BACKOFFICE:
        assert permission is not None
        expected: dict[str, Any] = {"anonymous": TO_STAFF_LOGIN, **dict.fromkeys(CARDHOLDERS, TO_STAFF_LOGIN)}
        for name in STAFF:
            member = world.staff[name].member
            if not member.can(route.permission or permission):
                expected[name] = FORBIDDEN  # the URL's permission: refused before any object is looked at
            elif member.bank_id not in (None, world.bank_a.pk):
                expected[name] = NOT_FOUND
            elif not member.can(permission):
                expected[name] = FORBIDDEN  # an action's own permission, checked on the customer found
            else:
                expected[name] = ALLOWED
        return expected
    if route.realm == STAFF_OWN:
        return {
            "anonymous": TO_STAFF_LOGIN,
            **dict.fromkeys(CARDHOLDERS, TO_STAFF_LOGIN),
            **{name: ALLOWED if name == "bank A branch" else NOT_FOUND for name in STAFF},
        }
    keys_refused = {
        "anonymous": UNAUTHORIZED,
        "processor key": FORBIDDEN,
        "token service key": FORBIDDEN,
        "ACS key": FORBIDDEN,
    }
    if route.realm == PROVISIONING_API:
        return {
            **keys_refused,
            "bank A key": ALLOWED,
            "group key naming bank A": ALLOWED,
            "bank B key": NOT_FOUND,
            "bank B key naming bank B": NOT_FOUND,
            "group key naming bank B": NOT_FOUND,
        }
    if route.realm == BANKS_API:
        return {
            **keys_refused,
            "group key naming bank A": ALLOWED,
            "bank A key": NOT_FOUND,
            "bank B key": NOT_FOUND,
            "bank B key naming bank B": NOT_FOUND,
        }
    if route.realm == PROCESSOR_API:
        return {
            "anonymous": UNAUTHORIZED,
            "processor key": ALLOWED,
            "bank A key": FORBIDDEN,
            "group key naming bank A": FORBIDDEN,
            "token service key": FORBIDDEN,
            "ACS key": FORBIDDEN,
        }
    if route.realm == TOKEN_SERVICE_API:
        return {
            "anonymous": UNAUTHORIZED,
            "token service key": ALLOWED,
            "bank A key": FORBIDDEN,
            "group key naming bank A": FORBIDDEN,
            "processor key": FORBIDDEN,
            "ACS key": FORBIDDEN,
        }
    if route.realm == APP_API:
        return {
            "Alice's phone": ALLOWED,
            "Bob's phone": NOT_FOUND,
            "Celina's phone": NOT_FOUND,
            "anonymous": UNAUTHORIZED,
            "bank A key": UNAUTHORIZED,
        }
    if route.realm == ACS_CHALLENGE:
        # Without the challenge's token: not found, whoever is signed in where.
        return {
            "the challenge's browser": ALLOWED,
            "anonymous": NOT_FOUND,
            **dict.fromkeys(CARDHOLDERS, NOT_FOUND),
            "bank A supervisor": NOT_FOUND,
        }
    raise AssertionError(f"no actors for realm {route.realm}")


class Caller:
    """One actor's way of sending a request: a signed-in client, a key, a signed app request."""

    def __init__(self, world: World, name: str) -> None:
        self.name = name
        self.world = world
        self.app: AppClient | None = None
        self.client = Client()
        if name in CARDHOLDERS:
            self.client.force_login(_holder_of(world, name).user)
        elif name in STAFF:
            staff_client(world.staff[name], self.client)
        elif name in world.keys:
            token, bank_code = world.keys[name]
            headers = {"Authorization": f"Bearer {token}"}
            if bank_code:
                headers["X-Bank-Code"] = bank_code
            self.client = Client(headers=headers)
        elif name.endswith("'s phone"):
            holder = _holder_of(world, name.removesuffix("'s phone"))
            self.app = AppClient()
            self.app.private_key = holder.app.private_key
            self.app.device_id = holder.app.device_id
            # The phone's app session is open (the PIN): what is refused is refused for the object, not the session.
            session_open_for(self.app)
        else:
            assert name in ("anonymous", "the challenge's browser"), name

    def send(self, method: str, path: str, body: Any) -> Any:
        if self.app is not None:
            base = "/api/app/v1"
            assert path.startswith(base), path
            if method == "get":
                return self.app.get(path.removeprefix(base))
            return self.app.post(path.removeprefix(base), body)
        if path.startswith("/api/"):
            if method == "get":
                return self.client.get(path)
            if method == "put":
                return self.client.put(path, SVG_LOGO, content_type="image/svg+xml")
            data = json.dumps(body if body is not None else {})
            headers = {"Idempotency-Key": f"idor-{uuid.uuid4().hex}"}
            return getattr(self.client, method)(path, data, content_type="application/json", headers=headers)
        if method == "get":
            return self.client.get(path)
        return self.client.post(path, body or {})


def _schema_body(world: World, method: str, path: str) -> dict[str, Any] | None:
    """The example body the provisioning API's schema gives for the operation at ``path``."""
    relative = path.removeprefix(PROVISIONING)
    for template, operations in world.schema["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template.removeprefix(PROVISIONING))
        if method in operations and re.fullmatch(pattern, relative):
            content = operations[method].get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                return None
            ref = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            return world.schema["components"]["schemas"][ref]["examples"][0]
    raise AssertionError(f"no operation {method.upper()} {path} in the schema")


# --- The state that must not change ------------------------------------------------------------------------


def _last_event(state: dict[str, list[tuple[Any, ...]]]) -> int:
    return max(row[0] for row in state["core.AuditEvent"])


def _snapshot(without: Any = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every Kartosfera model (the world is small: a few hundred rows)."""
    state = {}
    for model in apps.get_models():
        if not model.__module__.startswith("kartosfera.") or VOLATILE.get(model._meta.label, ("",))[0] == "*":
            continue
        volatile = VOLATILE.get(model._meta.label, ("",))[0].split()
        columns = [f.attname for f in model._meta.concrete_fields if f.attname not in volatile]
        rows = model.objects.order_by("pk")
        if model is AuditEvent:
            rows = rows.exclude(action__in=AUDITED_REFUSALS)
            if without is not None:
                rows = rows.exclude(pk__in=without.values("pk"))
        state[model._meta.label] = list(rows.values_list(*columns))
    return state


# A refusal that is itself a security event is audited by design: these rows may be added (and nothing else).
AUDITED_REFUSALS = {
    "devices.request.refused": "the app API audits each request it refuses (docs/phone-payments.md)",
}


# Rows that a request writes whoever sends it and whatever it asks for: not the objects' state (columns by spaces).
VOLATILE: dict[str, tuple[str, str]] = {
    "api.ApiKey": ("last_used_at", "the key's last use, stamped by every request it authenticates"),
    "devices.AppDevice": (
        "last_seen_at session_seen_at",
        "the requesting device's last request and its app session's idle stamp, moved by every signed one",
    ),
    "devices.DeviceRequestId": ("*", "every signed request's id, kept against replays"),
}


def _changes(before: dict[str, list], after: dict[str, list]) -> list[str]:
    changed = []
    for label, rows in after.items():
        old = before[label]
        if rows != old:
            added = [row for row in rows if row not in old]
            removed = [row for row in old if row not in rows]
            changed.append(f"{label}: +{added[:3]} -{removed[:3]}")
    return changed


# --- The test -----------------------------------------------------------------------------------------------


@dataclass
class Case:
    label: str
    method: str
    path: str
    body: Any
    actor: str
    expected: Any


def _cases(world: World, name: str, route: Route) -> list[Case]:
    """Every (URL, method, actor) to try: Alice's object to each actor, and the crossed pairs."""
    assert route.target is not None
    variants: list[tuple[str, dict[str, Any], StaffPermission | None, tuple[Kwargs, ...]]] = []
    if name in ("backoffice:customer_action", "backoffice:card_action"):
        on_card = name == "backoffice:card_action"
        for action in ACTIONS.values():
            if action.on_card == on_card:
                crossed = tuple(_with_action(make, action.name) for make in route.crossed)
                variants.append(
                    (action.name, {**route.target(world), "action_name": action.name}, action.permission, crossed)
                )
    else:
        variants.append(("", route.target(world), route.permission, route.crossed))

    cases = []
    for label, kwargs, permission, crossed in variants:
        expectations = _expectations(world, route, permission)
        for method in route.methods:
            path = reverse(name, kwargs=kwargs)
            body = route.body
            if route.realm in (PROVISIONING_API, BANKS_API) and method != "put" and body is None:
                body = _schema_body(world, method, path)
            allowed = _controls(expectations)
            for actor, expected in expectations.items():
                if expected != ALLOWED or actor in allowed:
                    cases.append(Case(label, method, path, body, actor, expected))
            for make in crossed:
                crossed_path = reverse(name, kwargs=make(world))
                for actor in allowed:
                    cases.append(Case(f"{label} crossed", method, crossed_path, body, actor, NOT_FOUND))
    return cases


# Of the actors allowed, those who try the URL: the owner, or one of the bank's staff and one of the group's.
CONTROLS = ("Alice", "Alice's phone", "the challenge's browser", "bank A supervisor", "group supervisor", "group agent")


def _controls(expectations: dict[str, Any]) -> list[str]:
    allowed = [actor for actor, expected in expectations.items() if expected == ALLOWED]
    chosen = [actor for actor in CONTROLS if actor in allowed]
    return chosen[:2] or allowed[:1]


def _with_action(make: Kwargs, action_name: str) -> Kwargs:
    return lambda w: {**make(w), "action_name": action_name}


def _refusal_ok(expected: Any, response: Any) -> bool:
    if expected == TO_LOGIN:
        return response.status_code == 302 and response["Location"].startswith(reverse("users:login"))
    if expected == TO_STAFF_LOGIN:
        return response.status_code == 403 or (
            response.status_code == 302 and response["Location"].startswith(reverse("backoffice:login"))
        )
    return response.status_code in expected


def _prepare(world: World, name: str, callers: dict[str, Caller]) -> dict[str, Any]:
    """What an allowed actor holds besides the URL: the portal's confirmation in Alice's session (forged into
    Bob's and Celina's too, so that only the object's owner decides); the ACS challenge's token."""
    extra: dict[str, Any] = {}
    if name.startswith("sca:") or name == "users:stepup_passkey":
        for person in CARDHOLDERS:
            session = callers[person].client.session
            session[STEPUP_SESSION_KEY] = {
                str(world.objects[f"{c} challenge"].public_id): {"back": "/", "done": "/"} for c in ("web", "app")
            }
            session.save()
    if name.startswith("backoffice:"):
        # Every staff member has verified Alice as a caller: a valid verification still reaches nothing.
        for person in world.staff.values():
            verification_planted(person, world.alice.customer)
    if name == "acs:challenge_step":
        # The holder's browser, sent by the shop with the CReq: the page it gets holds the challenge's token.
        from kartosfera.acs.tests.test_challenge import SESSION_DATA, creq_of, token_of

        browser = callers["the challenge's browser"].client
        record = world.objects["challenged"]
        page = browser.post(reverse("acs:challenge"), {"creq": creq_of(record), "threeDSSessionData": SESSION_DATA})
        assert page.status_code == 200, page.content
        extra["acs"] = {"token": token_of(page), "threeDSSessionData": SESSION_DATA}
    return extra


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(n for n, r in ROUTES.items() if r.target is not None))
def test_nobody_reaches_alices_object_but_those_allowed(name, world):
    route = ROUTES[name]
    cases = _cases(world, name, route)
    callers = {actor: Caller(world, actor) for actor in {case.actor for case in cases}}
    extra = _prepare(world, name, callers)
    refusals = [case for case in cases if case.expected != ALLOWED]
    before = _snapshot()

    answers = [(case, callers[case.actor].send(case.method, case.path, case.body)) for case in refusals]

    assert _changes(before, _snapshot()) == [], f"{name}: a refused request changed something"
    # The control: those allowed reach the same URLs (neither 404 nor 403), with at least one method.
    taken: dict[tuple[str, str], set[str]] = {}
    for case in cases:
        if case.expected != ALLOWED:
            continue
        body = extra.get("acs", case.body)
        response = callers[case.actor].send(case.method, case.path, body)
        assert response.status_code < 500, (name, case, response.status_code)
        assert response.status_code not in (401, 403, 404), (name, case.label, case.method, case.actor, response)
        if response.status_code != 405:
            taken.setdefault(case.label, set()).add(case.method)
    assert taken, f"{name}: no method reaches the URL for those allowed"
    wrong = [
        (case.label, case.method, case.actor, case.path, answer.status_code, case.expected)
        for case, answer in answers
        if not _refusal_ok(case.expected, answer)
        and not (answer.status_code == 405 and case.method not in taken.get(case.label.removesuffix(" crossed"), set()))
    ]
    assert wrong == [], f"{name}: these actors got the wrong answer for an object that is not theirs"


# --- Objects named in a form, not in the URL ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("staff", ["group supervisor", "bank A supervisor"])
def test_a_form_naming_another_customers_device_or_token_reaches_nothing(staff, world):
    """The back office's device block names the device in a hidden field and the token suspension a token's last
    digits: under Alice's customer (or card) they reach only hers, never Bob's (same bank) or Celina's."""
    person = world.staff[staff]
    verification_planted(person, world.alice.customer)
    client = staff_client(person)
    device_url = reverse("backoffice:customer_action", args=[world.alice.customer.pk, "device_block"])
    token_url = reverse("backoffice:card_action", args=[world.alice.customer.pk, world.alice.card.pk, "token_suspend"])
    before = _snapshot()

    for other in (world.bob, world.celina):
        response = client.post(device_url, action_post_data("device_block", device=other.device.public_id))
        assert response.status_code in (200, 400), response.status_code  # the form again, with its error
        data = action_post_data("token_suspend", world.alice.card, token_last4=other.token.token_last4)
        assert client.post(token_url, data).status_code in (200, 400)

    # Only the refusals are recorded, each on Alice's file (whose page the staff member was on).
    refusals = AuditEvent.objects.filter(action="backoffice.action_refused", pk__gt=_last_event(before))
    assert [(e.customer_id, e.after["refusal"]) for e in refusals] == [
        (world.alice.customer.pk, "validation_failed")
    ] * 4
    assert _changes(before, _snapshot(without=refusals)) == []
    # The control: the same forms act on Alice's own device and token.
    client.post(device_url, action_post_data("device_block", device=world.alice.device.public_id))
    data = action_post_data("token_suspend", world.alice.card, token_last4=world.alice.token.token_last4)
    client.post(token_url, data)
    world.alice.device.refresh_from_db()
    world.alice.token.refresh_from_db()
    assert world.alice.device.state != "active"
    assert world.alice.token.status == "suspended"


@pytest.mark.django_db
@pytest.mark.parametrize("staff", ["bank A supervisor", "bank A auditor"])
def test_the_activity_log_filtered_by_another_banks_staff_member_shows_nothing_of_theirs(staff, world):
    """The staff activity log names a staff member in its query string (?staff=<user id>): bank A's supervisor
    or auditor naming bank B's supervisor sees none of bank B's events (the filter offers bank A's staff only)."""
    other = world.staff["bank B supervisor"]
    assert staff_client(other).get(reverse("backoffice:customer", args=[world.celina.customer.pk])).status_code == 200
    theirs = AuditEvent.objects.filter(bank_id=world.bank_b.pk).values_list("pk", flat=True)
    assert theirs, "bank B's supervisor looked at Celina's file: an event of bank B"

    response = staff_client(world.staff[staff]).get(reverse("backoffice:activity"), {"staff": other.user.pk})

    assert response.status_code == 200
    shown = [row.event for row, _name, _summary in response.context["events"]]
    assert {event.bank_id for event in shown} <= {world.bank_a.pk, None}
    assert not {event.pk for event in shown} & set(theirs)
    # The control: the group's supervisor, naming the same member, sees that event.
    group = staff_client(world.staff["group supervisor"]).get(reverse("backoffice:activity"), {"staff": other.user.pk})
    assert {row.event.pk for row, _name, _summary in group.context["events"]} & set(theirs)


@pytest.mark.django_db
def test_another_banks_card_of_a_person_of_both_banks_is_404_to_the_banks_staff(world):
    """Dorota is a customer of both banks: bank A's staff reach her file, but her bank B card is 404 on every
    back-office URL that names a card (each action's in turn), whatever the role; the group's supervisor reaches
    it."""
    dorota = factories.customer_factory(bank=world.bank_a, reference="CIF-000126", first_name="Dorota")
    customer_create(
        actor=SYSTEM,
        bank=world.bank_b,
        reference="CIF-000127",
        residency=dorota.residency,
        first_name=dorota.first_name,
        last_name=dorota.last_name,
        pesel=dorota.pesel,
        phone_on_file=dorota.phone_on_file,
    )
    card_b = card_of(dorota, CardProduct.objects.get(bank=world.bank_b, code="B-DEBIT")).card
    paths = []
    for name, route in ROUTES.items():
        if route.realm != BACKOFFICE or route.target is None or "card_id" not in route.target(world):
            continue
        kwargs = {"customer_id": dorota.pk, "card_id": card_b.pk}
        if name == "backoffice:card_action":
            paths += [reverse(name, kwargs={**kwargs, "action_name": a.name}) for a in ACTIONS.values() if a.on_card]
        else:
            paths.append(reverse(name, kwargs=kwargs))
    assert len(paths) >= 5
    callers = {
        name: staff_client(world.staff[name]) for name in ("bank A branch", "bank A supervisor", "bank A auditor")
    }
    for person in world.staff.values():
        verification_planted(person, dorota)
    before = _snapshot()

    wrong = [
        (name, method, path, response.status_code)
        for name, client in callers.items()
        for path in paths
        for method, response in (("get", client.get(path)), ("post", client.post(path, {})))
        if response.status_code not in (404, 405)
    ]

    assert wrong == []
    assert _changes(before, _snapshot()) == []
    group = staff_client(world.staff["group supervisor"])
    assert all(group.get(path).status_code != 404 for path in paths)


@pytest.mark.django_db
def test_a_banks_logo_is_the_same_for_everybody_and_only_at_its_current_digest(world):
    """banks:logo is in the table as PUBLIC: the logo (not a secret: the bank's pages show it to visitors)
    answers the same to a visitor, another bank's cardholder and staff; another digest, or the digest under
    another bank's code, is 404."""
    bank = Bank.objects.get(pk=world.bank_a.pk)
    url = reverse("banks:logo", kwargs={"code": bank.code, "digest": bank.logo_digest})
    answers = {
        actor: Caller(world, actor).client.get(url) for actor in ("anonymous", "Celina", "bank B supervisor", "Alice")
    }
    assert {actor: r.status_code for actor, r in answers.items()} == dict.fromkeys(answers, 200)
    assert len({bytes(r.content) for r in answers.values()}) == 1
    other_digest = reverse("banks:logo", kwargs={"code": bank.code, "digest": "0" * 64})
    other_bank = reverse("banks:logo", kwargs={"code": BANK_B, "digest": bank.logo_digest})
    assert Client().get(other_digest).status_code == 404
    assert Client().get(other_bank).status_code == 404
