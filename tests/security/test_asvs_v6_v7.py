"""OWASP ASVS 5.0 V6 (authentication) and V7 (session management): the checks no app's own tests made.

Each test names the requirement it shows; docs/security/asvs.md maps every requirement of the two chapters
to its proof (these tests and the apps' own).
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django_otp.plugins.otp_totp.models import TOTPDevice
from ninja.constants import NOT_SET

from kartosfera.api.models import ApiKey
from kartosfera.api.urls import acs_api, app_api, processor_api, provisioning_api, token_service_api
from kartosfera.backoffice.demo import DEMO_STAFF_PASSWORD, demo_staff_load
from kartosfera.backoffice.forms import StaffLoginForm
from kartosfera.backoffice.passwords import validate_staff_password
from kartosfera.devices import services as device_services
from kartosfera.profile.forms import PasswordChangeForm
from kartosfera.sca import services as sca_services
from kartosfera.sca.models import SmsChallenge
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to
from kartosfera.testing import factories
from kartosfera.testing.staff import staff_client, staff_person_create
from kartosfera.users.forms import (
    ActivationPasswordForm,
    LoginCodeForm,
    LoginForm,
    RegistrationIdentifierForm,
    SetPasswordForm,
)
from kartosfera.users.models import User
from kartosfera.users.passwords import CONTEXT_WORDS, context_words, validate_portal_password
from kartosfera.users.tests.helpers import (
    GENERIC_ERROR,
    LOGIN_CODE_URL,
    Portal,
    last_activation_password,
    last_login_code,
)

ROOT = Path(settings.BASE_DIR)
ACCESS_DOC = (ROOT / "docs" / "access.md").read_text(encoding="utf-8")
CARD_LIST = reverse("portal:card_list")
PORTAL_LOGOUT = f'action="{reverse("users:logout")}"'
STAFF_LOGOUT = f'action="{reverse("backoffice:logout")}"'


@pytest.fixture
def portal(client, django_capture_on_commit_callbacks) -> Portal:
    return Portal(client=client, capture=django_capture_on_commit_callbacks)


@pytest.fixture
def other_browser(django_capture_on_commit_callbacks) -> Portal:
    return Portal(client=Client(), capture=django_capture_on_commit_callbacks)


# --- V6.1.3, V6.3.4: every authentication pathway is documented ------------------------------------


def _pathways_section() -> str:
    start = ACCESS_DOC.index("## Every way in (authentication pathways)")
    return ACCESS_DOC[start : ACCESS_DOC.index("\n## ", start + 1)]


def _operations(api):
    """(method, path, names of the auth classes) of every operation of a django-ninja API."""
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                auth = operation.auth_param
                if auth is NOT_SET:
                    auth = router.auth if router.auth is not NOT_SET else api.auth
                callbacks = auth if isinstance(auth, list | tuple) else ([auth] if auth else [])
                for method in operation.methods:
                    yield method, f"{prefix}{path}", {type(callback).__name__ for callback in callbacks}


def _modules_calling_auth_login() -> set[str]:
    """The modules (not tests) that import django.contrib.auth.login: the only places a session is signed in."""
    found = set()
    for path in (ROOT / "kartosfera").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if "/tests/" in relative or relative.startswith("kartosfera/testing/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            imports_login = isinstance(node, ast.ImportFrom) and node.module == "django.contrib.auth"
            if imports_login and any(alias.name == "login" for alias in node.names):
                found.add(relative)
    return found


def test_every_authentication_pathway_is_documented():
    section = _pathways_section()
    backends = {backend.rsplit(".", 1)[1] for backend in settings.AUTHENTICATION_BACKENDS}
    assert backends == {"CustomerIdentifierBackend", "StaffBackend"}
    assert [name for name in sorted(backends) if f"`{name}`" not in section] == []

    schemes: set[str] = set()
    unauthenticated: list[str] = []
    apis = {"app": app_api, "processor": processor_api, "provisioning": provisioning_api, "acs": acs_api}
    apis["token_service"] = token_service_api
    for name, api in apis.items():
        for method, path, classes in _operations(api):
            schemes |= classes
            if not classes:
                unauthenticated.append(f"{name} {method} {path}")
    assert schemes == {"DeviceSignature", "ApiKeyAuth"}
    assert [name for name in sorted(schemes) if f"`{name}`" not in section] == []
    # The one operation without authentication is the app's activation, which the table names.
    assert unauthenticated == ["app POST /activations"]
    assert "`POST /api/app/v1/activations` is the one operation without it" in section

    # A session is signed in only by the two documented sign-in flows.
    assert _modules_calling_auth_login() == {"kartosfera/users/views.py", "kartosfera/backoffice/views.py"}
    assert "`kartosfera/users/views.py`" in section and "`kartosfera/backoffice/views.py`" in section


def test_no_authentication_backend_signs_anybody_in_by_password_alone(cardholder, db):
    person = staff_person_create("agent", username="ewa")
    for path in settings.AUTHENTICATION_BACKENDS:
        backend = import_string(path)()
        for username, password in ((cardholder.identifier, cardholder.password), ("ewa", person.password)):
            assert backend.authenticate(None, username=username, password=password) is None


# --- V6.1.2, V6.2.11: context-specific words ------------------------------------------------------


def test_the_documented_context_words_are_the_codes():
    start, end = ACCESS_DOC.index("<!-- context-words:start -->"), ACCESS_DOC.index("<!-- context-words:end -->")
    block = ACCESS_DOC[start:end]
    assert re.findall(r"^- `([a-z0-9]+)`$", block, flags=re.MULTILINE) == list(CONTEXT_WORDS)


@pytest.mark.parametrize(
    "password",
    [
        "Kartosfera jesienia 2026",
        "k4rt0sf3ra-na-zawsze",  # look-alike characters
        "moje BS Pay haslo!!",  # spaces between the words of a name
        "Back-Office-codziennie",
        "Testowo nad rzeka 2026",  # the bank's short name
        "bstestowo-i-reszta-swiata",  # the bank's code
    ],
)
def test_a_password_with_a_context_word_is_refused_for_cardholders_and_staff(password, db):
    factories.bank_factory(code="BSTESTOWO", short_name="BS Testowo")
    customer = factories.customer_factory(first_name="Anna", last_name="Nowak")

    with pytest.raises(ValidationError) as portal_refusal:
        validate_portal_password(password, customer=customer)
    with pytest.raises(ValidationError) as staff_refusal:
        validate_staff_password(password, username="ewa.k", full_name="Ewa Konsultant")

    assert "password_context" in {error.code for error in portal_refusal.value.error_list}
    assert "password_context" in {error.code for error in staff_refusal.value.error_list}


def test_generic_bank_words_stay_allowed_and_the_banks_names_are_in_the_list(db):
    factories.bank_factory(code="BSTESTOWO", short_name="BS Testowo")
    customer = factories.customer_factory(first_name="Anna", last_name="Nowak")

    words = context_words()
    assert {"kartosfera", "bspay", "backoffice", "bstestowo", "testowo"} <= set(words)
    assert not {"bank", "bs"} & set(words)
    validate_portal_password("Moj bank spoldzielczy nad rzeka", customer=customer)
    validate_staff_password(DEMO_STAFF_PASSWORD, username="supervisor", full_name="Maria Kierownik")


# --- V6.2.6, V6.2.7, V6.2.8, V6.2.9: password fields and exact checking ---------------------------


def _password_fields(form) -> list[str]:
    return [str(form[name]) for name, field in form.fields.items() if field.widget.input_type == "password"]


def test_every_password_field_is_masked_and_open_to_password_managers(cardholder):
    forms = [
        LoginForm(),
        SetPasswordForm(customer=cardholder.customer, user=cardholder.user),
        PasswordChangeForm(user=cardholder.user),
        StaffLoginForm(),
    ]
    rendered = [html for form in forms for html in _password_fields(form)]

    assert len(rendered) == 7
    for html in rendered:
        assert 'type="password"' in html
        assert re.search(r'autocomplete="(current|new)-password"', html), html
        assert "onpaste" not in html and 'autocomplete="off"' not in html
    # Nothing in the pages or scripts stops pasting or password managers.
    sources = [*(ROOT / "templates").rglob("*.html"), *(ROOT / "static").rglob("*.js")]
    assert [p.name for p in sources if re.search(r"onpaste|oncopy|['\"]paste['\"]", p.read_text("utf-8"))] == []


def test_a_long_password_is_checked_exactly_as_typed(portal, other_browser, stranger):
    # 100 characters with spaces at both ends and mixed case: nothing is trimmed, cut or folded.
    password = "  Długie Hasło Z Odstępami " + "x" * 65 + "Koniec  "
    assert len(password) == 100
    response = portal.register(stranger.identifier, password)
    assert response.status_code == 302 and portal.signed_in_user_id is not None

    for variant in (password.strip(), password.lower(), password[:72], password[:64], password + "x"):
        refused = other_browser.password_step(stranger.identifier, variant)
        assert refused.status_code == 200 and GENERIC_ERROR in refused.content.decode(), variant
        # Not the lockout under test: three wrong passwords would lock, so each variant starts from zero.
        User.objects.filter(customer=stranger.customer).update(failed_login_count=0, locked_until=None)
    accepted = other_browser.password_step(stranger.identifier, password)
    assert accepted.status_code == 302 and accepted["Location"] == LOGIN_CODE_URL


# --- V6.3.2, V6.3.6, V6.4.2: no default accounts, no e-mail, no secret questions ------------------


def test_no_account_key_or_authenticator_exists_before_somebody_creates_one(db, settings):
    # The migrations create no user, no staff authenticator and no API key: nothing with a default password.
    assert User.objects.count() == 0 and TOTPDevice.objects.count() == 0 and ApiKey.objects.count() == 0
    settings.IS_PRODUCTION = True
    with pytest.raises(RuntimeError, match="never created in production"):
        demo_staff_load()
    assert User.objects.count() == 0


def test_email_is_no_authentication_factor():
    assert "email" not in {field.name for field in get_user_model()._meta.get_fields()}
    senders = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "kartosfera").rglob("*.py")
        if re.search(r"django\.core\.mail|send_mail\(", path.read_text(encoding="utf-8"))
    ]
    assert senders == []


def test_sign_in_and_recovery_ask_for_no_hint_or_secret_question(cardholder):
    asked = {
        type(form).__name__: set(form.fields)
        for form in (
            LoginForm(),
            LoginCodeForm(),
            RegistrationIdentifierForm(),
            ActivationPasswordForm(),
            SetPasswordForm(customer=cardholder.customer, user=cardholder.user),
        )
    }
    assert asked == {
        "LoginForm": {"identifier", "password"},
        "LoginCodeForm": {"code"},
        "RegistrationIdentifierForm": {"identifier"},
        "ActivationPasswordForm": {"activation_password"},
        "SetPasswordForm": {"new_password", "new_password_again"},
    }
    fields = {field.name for field in User._meta.get_fields()}
    assert not {name for name in fields if re.search("hint|question|answer", name)}


# --- V6.5.3, V6.5.8: codes and seeds from a CSPRNG; TOTP on the server's clock ---------------------


def test_one_time_codes_and_totp_seeds_come_from_the_operating_systems_csprng(portal, cardholder, monkeypatch):
    drawn = []

    def randbelow(upper: int) -> int:
        drawn.append(upper)
        return 4711

    monkeypatch.setattr(sca_services.secrets, "randbelow", randbelow)
    portal.password_step(cardholder.identifier, cardholder.password)
    assert last_login_code() == "004711" and drawn == [10**6]

    activation = device_services.device_activation_code_issue(actor=factories.SYSTEM, customer=cardholder.customer)
    assert drawn == [10**6, 10**8]
    assert device_services.device_activation_code_reveal(actor=factories.SYSTEM, activation=activation) == "00004711"

    # The TOTP seed is os.urandom's (django-otp's random_hex), 160 bits.
    monkeypatch.setattr("django_otp.util.urandom", lambda n: bytes(range(n)))
    device = staff_person_create("agent", username="ewa").device
    assert device.key == bytes(range(20)).hex()


def test_a_totp_code_is_checked_against_the_servers_clock(db):
    person = staff_person_create("agent", username="ewa")
    browser = Client()
    browser.post(reverse("backoffice:login"), {"username": "ewa", "password": person.password})

    # A code of another time (a client claiming its clock is right) is refused; only the server's time counts.
    for offset in (-10, 10):
        response = browser.post(reverse("backoffice:login_code"), {"code": person.code(offset_steps=offset)})
        assert response.status_code == 200 and browser.get(reverse("backoffice:home")).status_code == 302
    response = browser.post(reverse("backoffice:login_code"), {"code": person.code()})
    assert response.status_code == 302 and browser.get(reverse("backoffice:home")).status_code == 200


# --- V7.2.1, V7.2.3: session ids ---------------------------------------------------------------------


def test_session_ids_are_random_unique_128_bit_references_checked_by_the_server(portal, other_browser, cardholder):
    portal.sign_in(cardholder.identifier, cardholder.password)
    other_browser.sign_in(cardholder.identifier, cardholder.password)
    keys = [portal.client.session.session_key, other_browser.client.session.session_key]

    # 32 characters of [a-z0-9] from Django's get_random_string (the secrets module): 165 bits.
    assert all(re.fullmatch(r"[a-z0-9]{32}", key) for key in keys) and keys[0] != keys[1]
    # A made-up id of the same shape is nobody: the server holds the session, not the cookie.
    forged = Client()
    forged.cookies[settings.SESSION_COOKIE_NAME] = keys[0][::-1]
    response = forged.get(CARD_LIST)
    assert response.status_code == 302 and reverse("users:login") in response["Location"]


# --- V7.1.2: concurrent sessions (docs/sessions.md) ---------------------------------------------------


def test_one_user_may_be_signed_in_from_two_browsers_at_once(portal, other_browser, cardholder):
    portal.sign_in(cardholder.identifier, cardholder.password)
    other_browser.sign_in(cardholder.identifier, cardholder.password)

    assert portal.get(CARD_LIST).status_code == 200
    assert other_browser.get(CARD_LIST).status_code == 200
    assert "**Concurrent sessions** [ours]" in (ROOT / "docs" / "sessions.md").read_text(encoding="utf-8")


# --- V7.4.2: a staff account made inactive -------------------------------------------------------------


def test_a_staff_account_made_inactive_loses_its_session_at_the_next_request(db):
    person = staff_person_create("supervisor", username="maria")
    browser = staff_client(person)
    assert browser.get(reverse("backoffice:home")).status_code == 200

    User.objects.filter(pk=person.user.pk).update(is_active=False)

    response = browser.get(reverse("backoffice:home"))
    assert response.status_code == 302 and reverse("backoffice:login") in response["Location"]


# --- V7.4.3: a new portal phone ends the other sessions --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_changing_the_portal_phone_ends_every_other_session_but_this_one(cardholder):
    phone, new_phone = "+48601000111", "+48602999888"
    User.objects.filter(pk=cardholder.user.pk).update(portal_phone=phone)
    user = User.objects.get(pk=cardholder.user.pk)
    this, laptop = Client(), Client()
    this.force_login(user)
    laptop.force_login(user)

    response = this.post(reverse("profile:phone"), {"new_phone": new_phone, "current_password": cardholder.password})
    challenge_from(response)
    assert laptop.get(CARD_LIST).status_code == 200  # nothing ends before the change is confirmed
    this.post(response["Location"], {"code": code_sent_to(phone), "verification_code": code_sent_to(new_phone)})

    assert User.objects.get(pk=user.pk).portal_phone == new_phone
    assert this.get(CARD_LIST).status_code == 200
    ended = laptop.get(CARD_LIST)
    assert ended.status_code == 302 and reverse("users:login") in ended["Location"]


# --- V7.4.4: sign-out on every page that needs a sign-in -------------------------------------------------


def _parameterless_get_paths(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    paths = []
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            paths.extend(_parameterless_get_paths(entry, route))
        elif isinstance(entry, URLPattern) and "<" not in route and "(" not in route and "^" not in route:
            paths.append("/" + route)
    return paths


def _signed_in_pages(anonymous_login: str) -> list[str]:
    """The parameterless pages an anonymous visitor is sent to ``anonymous_login`` from."""
    anonymous = Client()
    pages = []
    for path in _parameterless_get_paths():
        if path.startswith(("/api/", "/dev/", "/internal/", "/i18n/")):
            continue
        response = anonymous.get(path)
        if response.status_code == 302 and response["Location"].startswith(anonymous_login + "?"):
            pages.append(path)
    return pages


def test_every_page_that_needs_a_sign_in_offers_sign_out(client, cardholder, card):
    client.force_login(cardholder.user)
    pages = _signed_in_pages(reverse("users:login"))
    pages.append(reverse("portal:card_detail", kwargs={"card_id": card.pk}))
    assert len(pages) >= 10

    for path in pages:
        response = client.get(path)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            assert PORTAL_LOGOUT in response.content.decode(), path
        else:
            # A page that is no HTML page (a download, a redirect onwards) shows nothing to sign out from.
            assert response.status_code in {302, 405} or not response["Content-Type"].startswith("text/html"), path

    staff_browser = staff_client(staff_person_create("supervisor", username="maria"))
    staff_pages = _signed_in_pages(reverse("backoffice:login"))
    assert reverse("backoffice:home") in staff_pages
    for path in staff_pages:
        response = staff_browser.get(path)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            assert STAFF_LOGOUT in response.content.decode(), path


# --- V6.4.1: the activation password is a one-time secret, never the password --------------------------


def test_the_activation_password_never_becomes_the_password(portal, other_browser, stranger):
    portal.post(reverse("users:register"), {"identifier": stranger.identifier})
    portal.post(reverse("users:register_send"))
    activation = last_activation_password()
    portal.post(reverse("users:register_activate"), {"activation_password": activation})

    # It fits the policy's length, yet it may not become the password, in any case or spacing.
    for typed in (activation, activation.lower(), f"{activation[:5]} {activation[5:]}"):
        refused = portal.post(reverse("users:register_password"), {"new_password": typed, "new_password_again": typed})
        assert refused.status_code == 200, typed
        assert "aktywacyjne" in refused.content.decode() or "activation password" in refused.content.decode()
        assert not User.objects.filter(customer=stranger.customer).exists()
    portal.post(
        reverse("users:register_password"),
        {"new_password": "Zielone drzewa nad rzeka", "new_password_again": "Zielone drzewa nad rzeka"},
    )
    response = other_browser.password_step(stranger.identifier, activation)
    assert GENERIC_ERROR in response.content.decode()


# --- V6.2.10: no periodic password change ------------------------------------------------------------------


def test_a_password_set_years_ago_still_signs_in_without_a_forced_change(portal, cardholder):
    User.objects.filter(pk=cardholder.user.pk).update(
        password_changed_at=timezone.now() - dt.timedelta(days=5 * 365), last_login=None
    )

    response = portal.sign_in(cardholder.identifier, cardholder.password)

    assert response.status_code == 302 and response["Location"] == CARD_LIST
    assert portal.get(CARD_LIST).status_code == 200


# --- V7.5.1: both factors anew before a new phone, login or device ----------------------------------------


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("profile:phone", {"new_phone": "+48602999888"}),
        ("profile:login", {"login": "anna.nowak"}),
        ("devices:activate", {}),
    ],
)
def test_a_new_phone_login_or_device_needs_the_password_before_the_code(url, data, client, cardholder):
    client.force_login(cardholder.user)

    for password in ("", "not-the-password", cardholder.password.upper()):
        response = client.post(reverse(url), {**data, "current_password": password})
        assert response.status_code in {200, 302} and "/confirm/" not in response.get("Location", ""), password
    assert not SmsChallenge.objects.exists()

    response = client.post(reverse(url), {**data, "current_password": cardholder.password})
    assert challenge_from(response).user_id == cardholder.user.pk


def test_the_current_password_checks_share_one_budget(client, cardholder):
    client.force_login(cardholder.user)
    pages = [
        (reverse("profile:phone"), {"new_phone": "+48602999888"}),
        (reverse("profile:login"), {"login": "anna.nowak"}),
        (reverse("devices:activate"), {}),
        (reverse("profile:password"), {"new_password": "Zielone drzewa", "new_password_repeat": "Zielone drzewa"}),
    ]
    for attempt in range(10):
        url, data = pages[attempt % len(pages)]
        client.post(url, {**data, "current_password": f"guess-{attempt}"})

    # The eleventh guess, on any of the pages, is not even checked: the right password is refused too.
    response = client.post(pages[0][0], {**pages[0][1], "current_password": cardholder.password})
    assert response.status_code == 429 and not SmsChallenge.objects.exists()
