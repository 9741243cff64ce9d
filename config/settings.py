"""Kartosfera settings: one module, read strictly from the environment.

KARTOSFERA_ENV selects the mode: ``production`` (the default, so that a
forgotten variable fails closed), ``development`` (the demo) or ``test``.
Production refuses to start without SECRET_KEY, ALLOWED_HOSTS and the
card-data keys; the other modes fall back to clearly insecure local values.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from kartosfera.core.antivirus import clamd_address_parse
from kartosfera.core.key_material import decode_aes_key
from kartosfera.core.private_files import private_dir, private_file, sqlite_database_path
from kartosfera.core.static_files import static_file_headers

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


def env_required(name: str, insecure_default: str) -> str:
    value = env(name)
    if value is not None:
        return value
    if IS_PRODUCTION:
        raise ImproperlyConfigured(f"{name} must be set in production (see .env.example)")
    return insecure_default


# This machine's names: the only hosts production may reach over plain http (a TLS sidecar on the host).
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The shortest HMAC key production takes: 32 characters carry at least 128 bits even as hex.
_MIN_KEY_LENGTH = 32


def outbound_url_require_tls(name: str, value: str) -> str:
    """``value``; in production, refused unless https (or http to this machine, where a local TLS sidecar may sit).

    Every outbound service (the SMS gateway, the directory server, the BLIK system, the token service) carries
    credentials, one-time codes or authentication values: never in clear across a network [ASVS 12.2.1, 12.3.1].
    """
    parts = urlsplit(value)
    if IS_PRODUCTION and not (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS)
    ):
        raise ImproperlyConfigured(f"{name} must be an https:// URL in production (see .env.example)")
    return value


def key_require_strength(name: str, value: str) -> str:
    """``value``; in production, refused when shorter than 32 characters (under 128 bits of key) [ASVS 11.2.3]."""
    if IS_PRODUCTION and len(value) < _MIN_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"{name} must have at least {_MIN_KEY_LENGTH} characters, e.g. head -c 32 /dev/urandom | base64"
        )
    return value


KARTOSFERA_ENV = env("KARTOSFERA_ENV", "production")
if KARTOSFERA_ENV not in {"production", "development", "test"}:
    raise ImproperlyConfigured("KARTOSFERA_ENV must be production, development or test")
IS_PRODUCTION = KARTOSFERA_ENV == "production"
IS_TEST = KARTOSFERA_ENV == "test"

DEBUG = env_bool("DEBUG", default=KARTOSFERA_ENV == "development")
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must not be enabled in production")

DEV_SECRET_KEY = "insecure-local-only-" + "x" * 40
SECRET_KEY = env_required("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if IS_PRODUCTION else "127.0.0.1,localhost,testserver")
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production (see .env.example)")

# Card data: Fernet keys (comma-separated, newest first: MultiFernet decrypts with
# any and encrypts with the first, so a key is rotated by prepending a new one and
# running `manage.py rotate_card_keys`). The fingerprint key is a separate HMAC key
# so that look-ups never need decryption.
DEV_CARD_DATA_KEY = "ZGV2LW9ubHktY2FyZC1kYXRhLWtleS0wMDAwMDAwMDA="
CARD_DATA_KEYS = env_list("CARD_DATA_KEYS", "" if IS_PRODUCTION else DEV_CARD_DATA_KEY)
if IS_PRODUCTION and not CARD_DATA_KEYS:
    raise ImproperlyConfigured("CARD_DATA_KEYS must be set in production (see .env.example)")
DEV_CARD_FINGERPRINT_KEY = "dev-only-card-fingerprint-key-000000000000"
CARD_FINGERPRINT_KEY = env_required("CARD_FINGERPRINT_KEY", DEV_CARD_FINGERPRINT_KEY)
# The card PIN keys: PIN verification values are HMAC-SHA256 under one of them (docs/pin.md). Comma-separated,
# newest first, as CARD_DATA_KEYS: new values are made under the first, a value records the id of the key that
# made it (kartosfera/cards/pin.py: pin_key_id) and is rewritten under the first when its PIN is verified right.
# Kept outside the database; an HSM takes its place in a production card core.
DEV_CARD_PIN_KEY = "dev-only-card-pin-key-00000000000000000000"
CARD_PIN_KEYS = env_list("CARD_PIN_KEY", "" if IS_PRODUCTION else DEV_CARD_PIN_KEY)
if IS_PRODUCTION and not CARD_PIN_KEYS:
    raise ImproperlyConfigured("CARD_PIN_KEY must be set in production (see .env.example)")
# The development defaults are public (they are in this file): production refuses each of them even when it is
# set explicitly (copied from a demo's environment), as it refuses the PIN encryption and ACS keys' below.
if IS_PRODUCTION:
    _public_defaults = {
        "SECRET_KEY": SECRET_KEY == DEV_SECRET_KEY,
        "CARD_DATA_KEYS": DEV_CARD_DATA_KEY in CARD_DATA_KEYS,
        "CARD_FINGERPRINT_KEY": CARD_FINGERPRINT_KEY == DEV_CARD_FINGERPRINT_KEY,
        "CARD_PIN_KEY": DEV_CARD_PIN_KEY in CARD_PIN_KEYS,
    }
    for _name, _is_public in _public_defaults.items():
        if _is_public:
            raise ImproperlyConfigured(f"{_name} must be set in production to a key of its own (see .env.example)")
# The PIN encryption keys (PEK) shared with the card processor: PIN blocks (ISO 9564 format 4,
# AES) arrive enciphered under one of them (kartosfera/cards/pinblock.py, docs/pin.md). Comma-separated,
# newest first: a block that does not open under the first is tried under the next (a change-over with
# the processor, docs/pin.md "Changing the PIN encryption key"). Each is base64 of 16, 24 or 32 random
# bytes; an HSM holds them in a production card core. The default decodes to
# "dev-only-pin-encryption-key-0000", and production refuses it like any missing key.
DEV_PIN_ENCRYPTION_KEY = "ZGV2LW9ubHktcGluLWVuY3J5cHRpb24ta2V5LTAwMDA="
PIN_ENCRYPTION_KEYS = env_list("PIN_ENCRYPTION_KEY", "" if IS_PRODUCTION else DEV_PIN_ENCRYPTION_KEY)
if IS_PRODUCTION and not PIN_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("PIN_ENCRYPTION_KEY must be set in production (see .env.example)")
try:
    _pin_encryption_keys_raw = [decode_aes_key("PIN_ENCRYPTION_KEY", key) for key in PIN_ENCRYPTION_KEYS]
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
if IS_PRODUCTION and DEV_PIN_ENCRYPTION_KEY in PIN_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("PIN_ENCRYPTION_KEY must be set in production to a key of its own (see .env.example)")
if len(set(_pin_encryption_keys_raw)) < len(_pin_encryption_keys_raw):
    raise ImproperlyConfigured("PIN_ENCRYPTION_KEY lists the same key twice")

# The key of the 3-D Secure authentication values the ACS gives (kartosfera/acs/authentication_value.py,
# docs/3d-secure.md): HMAC-SHA256 under it, checked again when the value comes back. Kept outside the
# database; production refuses to start without a key of its own.
DEV_ACS_AUTHENTICATION_KEY = "dev-only-acs-authentication-key-0000000000"
ACS_AUTHENTICATION_KEY = env_required("ACS_AUTHENTICATION_KEY", DEV_ACS_AUTHENTICATION_KEY)
if IS_PRODUCTION and ACS_AUTHENTICATION_KEY == DEV_ACS_AUTHENTICATION_KEY:
    raise ImproperlyConfigured(
        "ACS_AUTHENTICATION_KEY must be set in production to a key of its own (see .env.example)"
    )
key_require_strength("CARD_FINGERPRINT_KEY", CARD_FINGERPRINT_KEY)
for _pin_key in CARD_PIN_KEYS:
    key_require_strength("CARD_PIN_KEY", _pin_key)
key_require_strength("ACS_AUTHENTICATION_KEY", ACS_AUTHENTICATION_KEY)
if len(set(CARD_PIN_KEYS)) < len(CARD_PIN_KEYS):
    raise ImproperlyConfigured("CARD_PIN_KEY lists the same key twice")
# One key, one purpose [ASVS 11.1.2]: a value given for two of the HMAC keys (or SECRET_KEY) would let a value
# made for one purpose pass for another (a PIN verification value for a card fingerprint, say). Every key in
# the PIN key lists counts, the old ones too; the PIN encryption keys are compared decoded and as written.
_keys_in_use = [SECRET_KEY, CARD_FINGERPRINT_KEY, ACS_AUTHENTICATION_KEY, *CARD_PIN_KEYS, *PIN_ENCRYPTION_KEYS]
_keys_in_use_raw = [
    *(key.encode() for key in (SECRET_KEY, CARD_FINGERPRINT_KEY, ACS_AUTHENTICATION_KEY, *CARD_PIN_KEYS)),
    *_pin_encryption_keys_raw,
]
if IS_PRODUCTION and (len(set(_keys_in_use)) < len(_keys_in_use) or len(set(_keys_in_use_raw)) < len(_keys_in_use_raw)):
    raise ImproperlyConfigured(
        "SECRET_KEY, CARD_FINGERPRINT_KEY, ACS_AUTHENTICATION_KEY, every CARD_PIN_KEY and every "
        "PIN_ENCRYPTION_KEY must be different keys"
    )

# Where the ACS sends the results request (RReq) after a challenge (kartosfera/acs/directory.py, docs/3d-secure.md,
# "The RReq"): empty, the in-process directory server of the demo and the tests; set, the directory server's
# https address. Production refuses to start without one: an RReq that goes nowhere leaves the merchant's
# liability shift unproven. Mutual TLS: the client certificate and key (PEM files) and the CA that signed the
# server's certificate, as the scheme's directory server requires.
ACS_DIRECTORY_SERVER_URL = env("ACS_DIRECTORY_SERVER_URL", "") or ""
if IS_PRODUCTION and not ACS_DIRECTORY_SERVER_URL:
    raise ImproperlyConfigured("ACS_DIRECTORY_SERVER_URL must be set in production (see .env.example)")
outbound_url_require_tls("ACS_DIRECTORY_SERVER_URL", ACS_DIRECTORY_SERVER_URL)
ACS_DIRECTORY_SERVER_TIMEOUT = float(env("ACS_DIRECTORY_SERVER_TIMEOUT", "5") or 5)
ACS_DIRECTORY_SERVER_CLIENT_CERT = env("ACS_DIRECTORY_SERVER_CLIENT_CERT", "") or ""
ACS_DIRECTORY_SERVER_CLIENT_KEY = env("ACS_DIRECTORY_SERVER_CLIENT_KEY", "") or ""
ACS_DIRECTORY_SERVER_CA_FILE = env("ACS_DIRECTORY_SERVER_CA_FILE", "") or ""
# An RReq the directory server did not take is sent again, waiting RETRY_DELAY seconds, then twice as long
# each time, up to MAX_ATTEMPTS tries in all (30+60+...+480 s: about a quarter of an hour), then given up.
ACS_RREQ_MAX_ATTEMPTS = int(env("ACS_RREQ_MAX_ATTEMPTS", "6") or 6)
ACS_RREQ_RETRY_DELAY = float(env("ACS_RREQ_RETRY_DELAY", "30") or 30)

# --- The card core's PSD2 exemptions (docs/processing.md, "PSD2 exemptions") -------
# Which counter ends the contactless (RTS art. 11) and low-value (art. 16) exemptions: "count" (at most 5
# payments without SCA in a row) or "amount" (at most EUR 150 contactless / EUR 100 remote since the last
# SCA). The EBA lets the bank apply one of the two (Q&A 2018_4225); "count" needs no exchange rate and is
# the easiest rule to tell a customer. The per-payment ceilings (EUR 50 / EUR 30) always apply.
PSD2_EXEMPTION_COUNTER = env("PSD2_EXEMPTION_COUNTER", "count") or "count"
if PSD2_EXEMPTION_COUNTER not in {"count", "amount"}:
    raise ImproperlyConfigured("PSD2_EXEMPTION_COUNTER must be count or amount")
# PLN per EUR for the RTS's EUR ceilings when the bank has provisioned no EUR/PLN rate
# (POST /api/provisioning/v1/conversion-rates): the ECB reference rate's order of size. A rate the bank
# provisions always wins; set this to the current reference if the bank provisions none.
try:
    PSD2_FALLBACK_EUR_PLN_RATE = Decimal(env("PSD2_FALLBACK_EUR_PLN_RATE", "4.25") or "4.25")
except ArithmeticError:
    raise ImproperlyConfigured("PSD2_FALLBACK_EUR_PLN_RATE must be a decimal number, e.g. 4.25") from None
if not PSD2_FALLBACK_EUR_PLN_RATE.is_finite() or not Decimal("0.1") <= PSD2_FALLBACK_EUR_PLN_RATE <= Decimal(100):
    raise ImproperlyConfigured("PSD2_FALLBACK_EUR_PLN_RATE must be PLN per EUR, between 0.1 and 100")
# --- The legal maximum of interest (Kodeks cywilny art. 359 § 2¹; docs/statements.md, "Billing terms") ----
# The maximum annual interest is twice the sum of the NBP reference rate and 3.5 percentage points. The
# reference rate is CONFIGURATION, not a fact this code knows: the Monetary Policy Council changes it, and
# the bank must set these two values from nbp.pl on each change (the rate in percent, and the day it applies
# from). Production refuses to start without them; the development and test value below is only a value for
# the demo and the tests, not a claim about the current rate.
try:
    NBP_REFERENCE_RATE_PERCENT = Decimal(env_required("NBP_REFERENCE_RATE_PERCENT", "5.75"))
except ArithmeticError:
    raise ImproperlyConfigured("NBP_REFERENCE_RATE_PERCENT must be a decimal number, e.g. 5.75") from None
if not NBP_REFERENCE_RATE_PERCENT.is_finite() or not Decimal(0) <= NBP_REFERENCE_RATE_PERCENT <= Decimal(50):
    raise ImproperlyConfigured("NBP_REFERENCE_RATE_PERCENT must be a percentage between 0 and 50")
try:
    NBP_REFERENCE_RATE_SINCE = dt.date.fromisoformat(env_required("NBP_REFERENCE_RATE_SINCE", "2023-10-05"))
except ValueError:
    raise ImproperlyConfigured("NBP_REFERENCE_RATE_SINCE must be a date (YYYY-MM-DD)") from None

# The contactless amount without a PIN, per merchant country (ISO 3166 alpha-2; "*": every other country), in
# PLN minor units: Poland's is 100 PLN (the research §7). A country not listed has only the RTS's EUR 50.
CONTACTLESS_NO_PIN_LIMITS_PLN_MINOR: dict[str, int] = {"PL": 10_000}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "kartosfera.core",
    "kartosfera.users",
    "kartosfera.notifications",
    "kartosfera.sca",
    "kartosfera.banks",
    "kartosfera.customers",
    "kartosfera.accounts",
    "kartosfera.cards",
    "kartosfera.processing",
    "kartosfera.notices",
    "kartosfera.tokens",
    "kartosfera.api",
    "kartosfera.portal",
    "kartosfera.profile",
    "kartosfera.secure3d",
    "kartosfera.devices",
    "kartosfera.acs",
    "kartosfera.statements",
    "kartosfera.blik",
    "kartosfera.stops",
    "kartosfera.jobs",
    "kartosfera.backoffice",
    "kartosfera.help",
    "kartosfera.demo",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_ratelimit",
]

MIDDLEWARE = [
    # First, so that it times the whole answer (kartosfera/core/metrics.py).
    "kartosfera.core.metrics.RequestMetricsMiddleware",
    "kartosfera.core.middleware.RequestContextMiddleware",
    # Outside every middleware that may answer early (SecurityMiddleware's https redirect, WhiteNoise's static
    # files): those answers carry the CSP, X-Frame-Options and Permissions-Policy too (tests/security).
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kartosfera.core.middleware.PermissionsPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # TRACE and TRACK: 405 with Allow on every path (unknown paths 404); never echoed (kartosfera/core/middleware.py).
    "kartosfera.core.middleware.RefuseTraceMiddleware",
    # Two session realms with their own cookies: cardholders and bank staff (the
    # URLs under STAFF_URL_PREFIX); a session of one is never read in the other.
    "kartosfera.backoffice.session.RealmSessionMiddleware",
    "kartosfera.core.middleware.PolishFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the staff session's TOTP device (django-otp).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle timeout and absolute lifetime (docs/sessions.md); needs the user and messages.
    "kartosfera.users.session_timeout.SessionTimeoutMiddleware",
    # PORTAL_PASSKEY_REQUIRED: a cardholder without a passkey adds one first (kartosfera/profile/passkey_required.py).
    "kartosfera.profile.passkey_required.PasskeyRequiredMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "kartosfera.core.middleware.PrivatePageCacheMiddleware",
    # Turns django-ratelimit's refusal (raised by @ratelimit) into RATELIMIT_VIEW's 429 page.
    "django_ratelimit.middleware.RatelimitMiddleware",
]

# The server-to-server JSON APIs (a card processor, a bank's systems, with Bearer keys) are served
# through this lean stack instead (kartosfera/core/wsgi.py says why): no sessions, CSRF, users,
# messages, htmx or static files, which no API request uses; the security headers stay the same
# (a JSON answer opened in a browser gets the same CSP). Their reference pages (…/docs) are HTML
# for people and keep the full stack.
# The internal endpoints (/internal/metrics, for Prometheus) take the lean stack too: no session or CSRF.
SERVER_API_PATH = r"^/(api/(?!.*/docs/?$)|internal/)"
SERVER_API_MIDDLEWARE = [
    "kartosfera.core.metrics.RequestMetricsMiddleware",
    "kartosfera.core.middleware.RequestContextMiddleware",
    # Outside every middleware that may answer early (ApiHttpsOnlyMiddleware's refusal of plain http): those
    # answers carry the CSP, X-Frame-Options and Permissions-Policy too (tests/security).
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kartosfera.core.middleware.PermissionsPolicyMiddleware",
    # Django's SecurityMiddleware without the redirect: plain http is refused instead, by the last middleware
    # (kartosfera/api/middleware.py).
    "kartosfera.api.middleware.ApiSecurityMiddleware",
    "kartosfera.core.middleware.RefuseTraceMiddleware",
    # The APIs' error messages follow Accept-Language.
    "kartosfera.core.middleware.PolishFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "kartosfera.core.middleware.PrivatePageCacheMiddleware",
    "kartosfera.api.middleware.ApiHttpsOnlyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kartosfera.backoffice.context_processors.staff",
                "kartosfera.core.context_processors.helpline_numbers",
            ],
        },
    },
]

# SQLite is the embedded default (the demo); production and CI use PostgreSQL
# through DATABASE_URL, e.g. postgres://kartosfera@127.0.0.1:5432/kartosfera.
DATABASES = {
    "default": dj_database_url.parse(
        # Production must name its database: a forgotten variable must not fall back to a local file.
        env_required("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'kartosfera.sqlite3'}"),
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "60") or 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's database and SMS outbox hold PESELs and phone numbers: owner-only (0700/0600).
    private_dir(BASE_DIR / "var")
    _sqlite_file = sqlite_database_path(DATABASES["default"]["NAME"])
    if _sqlite_file is not None and _sqlite_file.parent.is_dir():
        private_file(_sqlite_file)
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "kartosfera.users.backends.CustomerIdentifierBackend",
    "kartosfera.backoffice.backends.StaffBackend",
]
LOGIN_URL = "users:login"
LOGIN_REDIRECT_URL = "portal:card_list"
LOGOUT_REDIRECT_URL = "users:login"

# Argon2id first (Django's Argon2PasswordHasher uses the argon2id variant).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    # Django's own password commands (changepassword, createsuperuser) check breached passwords too.
    {"NAME": "kartosfera.users.pwned.BreachedPasswordValidator"},
]

# Breached passwords [ASVS 5.0 6.2.4, 6.2.12] (kartosfera/users/pwned.py, docs/access.md "Password policy"): every
# new password is looked up in the Pwned Passwords range API by the first 5 hex characters of its SHA-1 (the
# password and its full hash never leave). The address of the public API (https://api.pwnedpasswords.com) or of
# the bank's own mirror of it, or "off". Production has no default: banks often forbid outbound internet, so the
# choice is explicit, and "off" draws a warning from `manage.py check --deploy` (users.W001). Unreachable, the
# check lets the password through (a down service must not stop registration), logged and counted.
PWNED_PASSWORDS_URL = env_required("PWNED_PASSWORDS_URL", "off").strip()
if PWNED_PASSWORDS_URL.lower() == "off":
    PWNED_PASSWORDS_URL = "off"
else:
    _pwned = urlsplit(PWNED_PASSWORDS_URL)
    if _pwned.scheme not in {"http", "https"} or not _pwned.hostname or _pwned.query or _pwned.fragment:
        raise ImproperlyConfigured("PWNED_PASSWORDS_URL must be an http:// or https:// address, or off")
    if _pwned.username or _pwned.password:
        raise ImproperlyConfigured("PWNED_PASSWORDS_URL must not carry credentials")
    # In clear, anybody on the path could answer "not breached" for every password.
    outbound_url_require_tls("PWNED_PASSWORDS_URL", PWNED_PASSWORDS_URL)
# Seconds to wait for an answer before letting the password through unchecked; kept short, a person is waiting.
PWNED_PASSWORDS_TIMEOUT = float(env("PWNED_PASSWORDS_TIMEOUT", "2") or 2)
if not 0 < PWNED_PASSWORDS_TIMEOUT <= 10:
    raise ImproperlyConfigured("PWNED_PASSWORDS_TIMEOUT must be seconds, more than 0 and at most 10")

# Passkeys (WebAuthn) [ASVS 5.0 6.3.3 at Level 3, 6.6.1] (kartosfera/users/passkeys.py, docs/passkeys.md). The
# relying party id is the domain passkeys are bound to: empty means the host of the request (already checked
# against ALLOWED_HOSTS). A bank that serves the portal and the back office on sub-domains of one domain may name
# that domain. The origins a signed answer may come from: empty means the request's own origin; the BS Pay app's
# origins (android:apk-key-hash:..., the https origin of its associated domain) are added here.
PASSKEY_RP_ID = (env("PASSKEY_RP_ID", "") or "").strip().lower()
PASSKEY_RP_NAME = (env("PASSKEY_RP_NAME", "") or "").strip() or "Kartosfera"
PASSKEY_ORIGINS = env_list("PASSKEY_ORIGINS", "")
for _origin in PASSKEY_ORIGINS:
    if not _origin.startswith(("https://", "android:apk-key-hash:")) and not (
        not IS_PRODUCTION and _origin.startswith("http://")
    ):
        raise ImproperlyConfigured("PASSKEY_ORIGINS: each origin is https://... (or android:apk-key-hash:...)")
# Synced passkeys (kept by the phone's or browser's password manager, copied to the user's other devices) are
# accepted unless the bank wants only device-bound authenticators (security keys, a device's own chip); the
# setting governs new passkeys (those already added keep signing in: refusing them would lock people out).
PASSKEY_ALLOW_SYNCED = env_bool("PASSKEY_ALLOW_SYNCED", True)
# The Level 3 mode [ASVS 5.0 6.3.3, 6.6.1]: once a user has a passkey only the passkey completes a sign-in (no
# SMS code for cardholders, no authenticator-app code for staff), and a user without one is sent to add one right
# after signing in, before anything else. Off by default: the kartoSFERA model signs cardholders in with SMS codes.
PORTAL_PASSKEY_REQUIRED = env_bool("PORTAL_PASSKEY_REQUIRED", False)
BACKOFFICE_PASSKEY_REQUIRED = env_bool("BACKOFFICE_PASSKEY_REQUIRED", False)

LANGUAGE_CODE = "pl"
LANGUAGES = [("pl", "Polski"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Europe/Warsaw"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_ADD_HEADERS_FUNCTION = static_file_headers
# WhiteNoise lets every origin read the static files (Access-Control-Allow-Origin: *) by default; no other
# site needs ours, so no answer of Kartosfera carries a CORS header (ASVS 3.4.2).
WHITENOISE_ALLOW_ALL_ORIGINS = False
if not IS_PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security -----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Permissions-Policy (kartosfera.core.middleware.PermissionsPolicyMiddleware): the portal and
# the back office use none of the browser's powerful features, so every one is denied to the
# pages and to anything they might embed: feature → allowlist, () = nobody. Chromium's own list
# (minus client hints) plus bluetooth and web-share, which Chrome on other systems and Safari
# know; a browser test checks that Chromium allows none of its features and knows every other
# name here (tests/browser/test_security_headers.py), so a misspelt name cannot slip through.
PERMISSIONS_POLICY: dict[str, tuple[str, ...]] = dict.fromkeys(
    (
        "accelerometer",
        "aria-notify",
        "autoplay",
        "bluetooth",
        "browsing-topics",
        "camera",
        "captured-surface-control",
        "clipboard-read",
        "clipboard-write",
        "compute-pressure",
        "cross-origin-isolated",
        "deferred-fetch",
        "deferred-fetch-minimal",
        "digital-credentials-create",
        "digital-credentials-get",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "gamepad",
        "geolocation",
        "gyroscope",
        "hid",
        "identity-credentials-get",
        "idle-detection",
        "interest-cohort",
        "keyboard-map",
        "language-detector",
        "language-model",
        "local-fonts",
        "local-network",
        "local-network-access",
        "loopback-network",
        "magnetometer",
        "media-playback-while-not-visible",
        "microphone",
        "midi",
        "on-device-speech-recognition",
        "otp-credentials",
        "payment",
        "picture-in-picture",
        "private-state-token-issuance",
        "private-state-token-redemption",
        "publickey-credentials-create",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "speaker-selection",
        "storage-access",
        "summarizer",
        "sync-xhr",
        "translator",
        "unload",
        "usb",
        "web-share",
        "window-management",
        "xr-spatial-tracking",
    ),
    (),
)
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# The language switch's cookie (django.views.i18n.set_language): no script reads it.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Flash messages live in a signed cookie (then the session) under our own name, which production prefixes
# __Host- like every other cookie (kartosfera/core/messages.py).
MESSAGE_STORAGE = "kartosfera.core.messages.MessageStorage"
SESSION_COOKIE_AGE = 30 * 60  # a backstop: the stored session outlives no 30 idle minutes
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Sessions are read from the default cache (Redis in production, shared by every process) with the database
# behind it, written to both: a signed-in page would otherwise cost a database round trip for its session row
# before anything else (docs/performance.md). Ending a session deletes it from both.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Registration's "send" and "activation password" answers take at least this long, whether the identifier
# names a customer with a phone (a challenge stored, an SMS queued) or nobody (a decoy in the session), so
# that their time tells nothing [ASVS 5.0 6.3.8]; 0 in the tests, whose timing test sets it itself.
REGISTRATION_ANSWER_FLOOR_SECONDS = 0.0 if IS_TEST else 0.25
# Enforced by kartosfera.users.session_timeout (docs/sessions.md), in seconds:
# 5 minutes without activity [law: PSD2 RTS art. 4(3)(d)], a warning with a
# one-click extension 60 s before [PRODUCT.md], and 12 hours since sign-in
# whatever the activity [ours, after NIST SP 800-63B AAL2 reauthentication].
SESSION_IDLE_TIMEOUT = 5 * 60
SESSION_WARNING_LEAD = 60
SESSION_ABSOLUTE_LIFETIME = 12 * 60 * 60
# Bank staff (docs/backoffice.md) [law: PCI DSS 8.2.8]: 15 idle minutes end a
# staff session; 10 wrong passwords or TOTP codes in a row lock the account for
# 30 minutes [PCI DSS 8.3.4]; staff passwords have at least 12 characters.
STAFF_SESSION_IDLE_TIMEOUT = 15 * 60
STAFF_SESSION_ABSOLUTE_LIFETIME = 10 * 60 * 60  # one shift
STAFF_LOCKOUT_ATTEMPTS = 10
STAFF_LOCKOUT_MINUTES = 30
# The back office's URLs are the staff realm (kartosfera/backoffice/session.py). Its cookie has path
# / so that it can carry the __Host- prefix (no sibling host can plant or overwrite it, ASVS 5.0
# 3.3.3); which cookie is read is decided by this prefix, not by the browser's path matching.
STAFF_URL_PREFIX = "/backoffice/"
# The back office's public address (scheme and host, no path), e.g. https://zaplecze.bank.example: a staff
# enrolment link goes by SMS to the member's work phone as this address and the link's path [ASVS 5.0 6.4.6].
# Production has no default (a link sent to the wrong host would be useless or worse): `manage.py check
# --deploy` refuses it unset or not https (backoffice.E001); at most 44 characters, so the text fits one SMS.
BACKOFFICE_BASE_URL = (env("BACKOFFICE_BASE_URL", "" if IS_PRODUCTION else "http://127.0.0.1:8000") or "").rstrip("/")
STAFF_SESSION_COOKIE_PATH = "/"
# Our own lockout (above) is the brute-force rule; django-otp's exponential
# back-off would refuse even a right code after a few wrong ones.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Kartosfera")

# The helpline shown in every footer and in every "call us" message. The defaults are the
# BPS group's contact centre, which serves all of the group's banks.
# The group of banks (docs/banks.md): its name and its contact centre's lines, which answer for every
# bank that gives none of its own. Today's data before banks existed moved under DEFAULT_BANK_CODE.
GROUP_NAME = env("GROUP_NAME", "Grupa BPS")
DEFAULT_BANK_CODE: str = env("DEFAULT_BANK_CODE") or "BANK"
HELPLINE_PHONE = env("HELPLINE_PHONE", "+48 86 215 50 00")
CARD_BLOCKING_PHONE = env("CARD_BLOCKING_PHONE", "+48 86 215 50 50")
# Where people write about accessibility (the accessibility statement, /help/accessibility/);
# empty: the statement offers the helpline and the branches only. A written channel matters to
# people who cannot use the phone: give the bank's address.
ACCESSIBILITY_CONTACT_EMAIL = env("ACCESSIBILITY_CONTACT_EMAIL", "") or ""
if IS_PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe the health endpoint, and Prometheus scrapes the metrics, over plain HTTP inside
    # the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^internal/metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000") or 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The __Host- prefix pins cookies to this exact host, HTTPS and path /.
    SESSION_COOKIE_NAME = "__Host-kartosfera_session"
    STAFF_SESSION_COOKIE_NAME = "__Host-kartosfera_staff_session"
    CSRF_COOKIE_NAME = "__Host-kartosfera_csrf"
    LANGUAGE_COOKIE_NAME = "__Host-kartosfera_language"
    LANGUAGE_COOKIE_SECURE = True
    MESSAGES_COOKIE_NAME = "__Host-kartosfera_messages"
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
else:
    SESSION_COOKIE_NAME = "kartosfera_session"
    STAFF_SESSION_COOKIE_NAME = "kartosfera_staff_session"
    CSRF_COOKIE_NAME = "kartosfera_csrf"
    MESSAGES_COOKIE_NAME = "kartosfera_messages"

# Addresses of the TLS proxies in front of the application: from them (only),
# the client's address is taken from X-Real-IP, which the proxy must overwrite.
TRUSTED_PROXY_IPS = frozenset(env_list("TRUSTED_PROXY_IPS"))

# --- Client certificates of the server-to-server APIs (docs/api.md, "Client certificates") --------------
# The proxy terminates TLS, verifies the calling system's certificate against its bank's CA and passes the
# certificate's SHA-256 fingerprint (64 hex digits) in this header, which it must overwrite (never pass on a
# client's own). Kartosfera reads it from a peer in TRUSTED_PROXY_IPS only; from anybody else it is dropped.
# The name as Django's request.META spells it: X-SSL-Client-SHA256 is HTTP_X_SSL_CLIENT_SHA256.
API_CLIENT_CERT_HEADER = env("API_CLIENT_CERT_HEADER", "HTTP_X_SSL_CLIENT_SHA256") or ""
if not re.fullmatch(r"HTTP_[A-Z0-9_]+", API_CLIENT_CERT_HEADER):
    raise ImproperlyConfigured("API_CLIENT_CERT_HEADER must be a request.META name, e.g. HTTP_X_SSL_CLIENT_SHA256")
# True: every API key needs a bound client certificate (`manage.py api_key_client_cert`), so a token alone,
# leaked or copied, opens nothing. Production's default; development and the tests call without a proxy.
API_KEYS_REQUIRE_CLIENT_CERT = env_bool("API_KEYS_REQUIRE_CLIENT_CERT", IS_PRODUCTION)

# --- Antivirus (ClamAV's clamd; kartosfera/core/antivirus.py, docs/operations.md "Antivirus") ---------
# Every file from outside (a bank's logo: docs/banks.md) is scanned by clamd before it is stored; a file it
# flags, or one it cannot scan (down, too slow, an error), is refused. tcp://host:port or unix:///path.
# Production requires it; without it (development, the demo, the tests) files are not scanned.
CLAMD_ADDRESS = env_required("CLAMD_ADDRESS", "")
if CLAMD_ADDRESS:
    try:
        clamd_address_parse(CLAMD_ADDRESS)
    except ValueError as exc:
        raise ImproperlyConfigured(f"CLAMD_ADDRESS: {exc}") from None
elif IS_PRODUCTION:
    raise ImproperlyConfigured("CLAMD_ADDRESS must be set in production (see .env.example)")
# Seconds to connect, and between any two steps of a scan, before the file is refused as not scanned.
try:
    CLAMD_TIMEOUT = float(env("CLAMD_TIMEOUT", "10") or 10)
except ValueError:
    raise ImproperlyConfigured("CLAMD_TIMEOUT must be a number of seconds, e.g. 10") from None
if not 0 < CLAMD_TIMEOUT <= 300:
    raise ImproperlyConfigured("CLAMD_TIMEOUT must be between 0 and 300 seconds")

# --- Metrics (Prometheus; kartosfera/core/metrics.py, docs/operations.md "Metrics") -------------------
# GET /internal/metrics answers only with "Authorization: Bearer <METRICS_TOKEN>" and, when
# METRICS_ALLOWED_NETWORKS is set, only to clients in those networks (CIDR, comma-separated; the client's
# address as the trusted proxy gives it). Anybody else gets a 404. Without a token the endpoint is off.
METRICS_TOKEN = env("METRICS_TOKEN", "") or ""
try:
    METRICS_ALLOWED_NETWORKS = tuple(
        ipaddress.ip_network(item, strict=False) for item in env_list("METRICS_ALLOWED_NETWORKS")
    )
except ValueError:
    raise ImproperlyConfigured("METRICS_ALLOWED_NETWORKS must be networks, e.g. 10.0.0.0/8,127.0.0.1/32") from None
if METRICS_ALLOWED_NETWORKS and not METRICS_TOKEN:
    # A network alone is not enough behind a proxy that forwards the internet's requests.
    raise ImproperlyConfigured("METRICS_ALLOWED_NETWORKS needs METRICS_TOKEN too (see .env.example)")
if IS_PRODUCTION and METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must have at least 32 characters, e.g. secrets.token_urlsafe(32)")

# Strict CSP: every asset is self-hosted; no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        # default-src 'none' already covers plugins; named as ASVS 3.4.3 asks, so no later change to default-src
        # can let an <object> or <embed> in.
        "object-src": [NONE],
    },
}

# --- Logging: JSON lines on standard error (the handler named "stdout"), with the UTC time, request id, client IP
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "kartosfera.core.logging.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "kartosfera.core.logging.UtcJsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(client_ip)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_context"],
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "INFO"},
        "django.db.backends": {"level": "INFO"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50

# --- Background tasks (Django's tasks API through django-tasks) -----------------
# TASKS_BACKEND chooses the queue (docs/operations.md, "The task worker"):
#   database: the embedded default (django-tasks-db): `manage.py db_worker` runs it (make demo starts
#             one); a task enqueued in a transaction is stored with the data, one fewer service;
#   rq:       Redis through RQ (django-tasks-rq): `manage.py rqworker --with-scheduler` runs it; for
#             throughput and many workers; needs REDIS_URL (the system check core.E001 says so).
# A dotted backend path is taken as it is (the tests' default is the immediate backend: tasks run at
# once, after commit).
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
}
_tasks_backend = env("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend" if IS_TEST else "database")
_tasks_backend = TASK_BACKENDS.get(_tasks_backend or "database", _tasks_backend or "")
if "." not in _tasks_backend:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {', '.join(TASK_BACKENDS)} or a dotted backend path")
TASKS = {"default": {"BACKEND": _tasks_backend, "QUEUES": ["default"]}}

# --- Caches (rate limits) --------------------------------------------------------
# Production needs a cache shared by all workers, or every worker would count
# rate limits on its own.
REDIS_URL = env_required("REDIS_URL", "") or None
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kartosfera"}
    ),
    # {% cache %} fragments that are the same for every visitor (the footer, the menu, an unbound form's fields),
    # keyed by language: process-local, so no round trip, and never anything personal or a CSRF token
    # (docs/performance.md). A deploy (new templates, translations, settings) starts with it empty.
    "template_fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "kartosfera-template-fragments",
        "TIMEOUT": None,
    },
}

# Rate limits (django-ratelimit) count in the default cache; a refusal renders a 429 page. Per address: the
# client's (REMOTE_ADDR as RequestContextMiddleware sets it), one shared bucket when a request has none.
RATELIMIT_VIEW = "kartosfera.core.views.rate_limited"
RATELIMIT_IP_META_KEY = "kartosfera.core.middleware.ratelimit_client_ip"
# W001: django-ratelimit predates Django's own RedisCache, whose incr() is atomic
# (Redis INCR) and so fit for counting.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]
if not REDIS_URL:
    # LocMemCache is per process: fine for the demo and the tests, refused in production above.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

# The RQ task queue (django-rq's settings, read by django-tasks-rq and `manage.py rqworker`). Its one
# queue is the tasks' queue, "default", in REDIS_URL's Redis; without REDIS_URL (the demo, the tests)
# the local Redis's db 0 stands in, and the check core.E001 refuses TASKS_BACKEND=rq. The worker runs
# each job through django-tasks-rq's job class, which calls the task and records its result.
RQ_QUEUES = {
    "default": {
        "URL": REDIS_URL or "redis://127.0.0.1:6379/0",
        # A job running longer than this is killed: above the slowest task (the statement close).
        "DEFAULT_TIMEOUT": 1800,
    }
}
RQ = {"JOB_CLASS": "django_tasks_rq.Job"}
RQ_SHOW_ADMIN_LINK = False

# --- SMS ------------------------------------------------------------------------
# console | file (the demo's outbox, readable at /dev/sms-outbox/ in DEBUG) |
# locmem (tests) | http (a real gateway); see docs/sms.md.
SMS_BACKENDS = {
    "console": "kartosfera.notifications.backends.console.SmsBackend",
    "file": "kartosfera.notifications.backends.file.SmsBackend",
    "locmem": "kartosfera.notifications.backends.locmem.SmsBackend",
    "http": "kartosfera.notifications.backends.http.SmsBackend",
}
_sms_backend_name = env("SMS_BACKEND", "locmem" if IS_TEST else ("http" if IS_PRODUCTION else "file")) or "file"
if _sms_backend_name not in SMS_BACKENDS:
    raise ImproperlyConfigured(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}")
if IS_PRODUCTION and _sms_backend_name in {"console", "file", "locmem"}:
    raise ImproperlyConfigured("SMS_BACKEND=console, file or locmem would expose codes; production needs http")
SMS_BACKEND = SMS_BACKENDS[_sms_backend_name]
SMS_OUTBOX_PATH = BASE_DIR / "var" / "sms-outbox.jsonl"
# The development payment terminal's and the traffic simulator's processor API token (docs/processing.md).
DEV_PROCESSOR_KEY_PATH = BASE_DIR / "var" / "dev-processor-key"
# The development shop's ACS-scope token (/dev/shop/ plays the 3DS server and directory server; docs/3d-secure.md).
DEV_ACS_KEY_PATH = BASE_DIR / "var" / "dev-acs-key"
# An AReq's notificationURL must be https; outside production, http to this machine (127.0.0.1, localhost, ::1)
# is allowed too, so that the development shop and the browser tests can run the challenge without TLS.
ACS_NOTIFICATION_HTTP_LOOPBACK = not IS_PRODUCTION
SMS_BACKEND_OPTIONS: dict[str, object] = {}
if _sms_backend_name == "http":
    SMS_BACKEND_OPTIONS = {
        "url": outbound_url_require_tls("SMS_GATEWAY_URL", env_required("SMS_GATEWAY_URL", "http://127.0.0.1:9/")),
        "username": env("SMS_GATEWAY_USERNAME", ""),
        "password": env("SMS_GATEWAY_PASSWORD", ""),
        "sender": env("SMS_GATEWAY_SENDER", "Kartosfera"),
        "timeout": float(env("SMS_GATEWAY_TIMEOUT", "5") or 5),
        "retries": int(env("SMS_GATEWAY_RETRIES", "3") or 3),
        "backoff": float(env("SMS_GATEWAY_BACKOFF", "0.5") or 0.5),
        # Mutual TLS: the client certificate and key (PEM files) the gateway asks for, and its CA when it is
        # not in the system's trust store (docs/sms.md). With them, username and password may be left empty.
        "client_cert": env("SMS_GATEWAY_CLIENT_CERT", "") or "",
        "client_key": env("SMS_GATEWAY_CLIENT_KEY", "") or "",
        "ca_file": env("SMS_GATEWAY_CA_FILE", "") or "",
    }
# A message the gateway did not take is delivered again by a later task, up to
# this many tries in all, waiting RETRY_DELAY seconds, then twice as long each time
# (20+40+80+160 s: about the 5 minutes a login code lives).
SMS_DELIVERY_MAX_ATTEMPTS = int(env("SMS_DELIVERY_MAX_ATTEMPTS", "5") or 5)
SMS_DELIVERY_RETRY_DELAY = float(env("SMS_DELIVERY_RETRY_DELAY", "20") or 20)

# --- BLIK ----------------------------------------------------------------------
# The bank's BLIK system learns each switch of a holder's BLIK (docs/phone-payments.md, "BLIK"):
# log (the demo and the tests: logged only) | http (a JSON POST to BLIK_SYSTEM_URL; production).
BLIK_SYSTEM_BACKEND = env("BLIK_SYSTEM_BACKEND", "http" if IS_PRODUCTION else "log") or "log"
if BLIK_SYSTEM_BACKEND not in {"log", "http"}:
    raise ImproperlyConfigured("BLIK_SYSTEM_BACKEND must be log or http")
if IS_PRODUCTION and BLIK_SYSTEM_BACKEND != "http":
    raise ImproperlyConfigured("BLIK_SYSTEM_BACKEND=log tells no BLIK system; production needs http")
BLIK_SYSTEM_URL = (
    outbound_url_require_tls("BLIK_SYSTEM_URL", env_required("BLIK_SYSTEM_URL", "http://127.0.0.1:9/"))
    if BLIK_SYSTEM_BACKEND == "http"
    else ""
)
BLIK_SYSTEM_TOKEN = env("BLIK_SYSTEM_TOKEN", "") or ""
BLIK_SYSTEM_TIMEOUT = float(env("BLIK_SYSTEM_TIMEOUT", "5") or 5)
# Mutual TLS: the client certificate and key (PEM files) the BLIK system asks for, and its CA when it is not in the
# system's trust store. With a certificate, BLIK_SYSTEM_TOKEN may be left empty.
BLIK_SYSTEM_CLIENT_CERT = env("BLIK_SYSTEM_CLIENT_CERT", "") or ""
BLIK_SYSTEM_CLIENT_KEY = env("BLIK_SYSTEM_CLIENT_KEY", "") or ""
BLIK_SYSTEM_CA_FILE = env("BLIK_SYSTEM_CA_FILE", "") or ""
# A change the system did not take is sent again by a later task, up to this many tries in all, waiting
# RETRY_DELAY seconds, then twice as long each time; then `manage.py blik_sync` sends it.
BLIK_SYNC_MAX_ATTEMPTS = int(env("BLIK_SYNC_MAX_ATTEMPTS", "6") or 6)
BLIK_SYNC_RETRY_DELAY = float(env("BLIK_SYNC_RETRY_DELAY", "30") or 30)
# --- Token service (wallet tokens) ---------------------------------------------------
# log (the demo's and the tests': confirms each command at once and logs it) | http (the token
# service provider's API); see docs/phone-payments.md.
TOKEN_SERVICE_BACKENDS = {
    "log": "kartosfera.tokens.backends.log.TokenServiceBackend",
    "http": "kartosfera.tokens.backends.http.TokenServiceBackend",
}
_tsp_backend_name = env("TOKEN_SERVICE_BACKEND", "http" if IS_PRODUCTION else "log") or "log"
if _tsp_backend_name not in TOKEN_SERVICE_BACKENDS:
    raise ImproperlyConfigured(f"TOKEN_SERVICE_BACKEND must be one of {', '.join(TOKEN_SERVICE_BACKENDS)}")
if IS_PRODUCTION and _tsp_backend_name != "http":
    raise ImproperlyConfigured("TOKEN_SERVICE_BACKEND=log tells no wallet anything; production needs http")
TOKEN_SERVICE_BACKEND = TOKEN_SERVICE_BACKENDS[_tsp_backend_name]
TOKEN_SERVICE_BACKEND_OPTIONS: dict[str, object] = {}
if _tsp_backend_name == "http":
    TOKEN_SERVICE_BACKEND_OPTIONS = {
        "url": outbound_url_require_tls("TOKEN_SERVICE_URL", env_required("TOKEN_SERVICE_URL", "http://127.0.0.1:9/")),
        "api_key": env("TOKEN_SERVICE_API_KEY", ""),
        "timeout": float(env("TOKEN_SERVICE_TIMEOUT", "5") or 5),
        # Mutual TLS: the client certificate and key (PEM files) the provider asks for, and its CA when it is
        # not in the system's trust store. With a certificate, TOKEN_SERVICE_API_KEY may be left empty.
        "client_cert": env("TOKEN_SERVICE_CLIENT_CERT", "") or "",
        "client_key": env("TOKEN_SERVICE_CLIENT_KEY", "") or "",
        "ca_file": env("TOKEN_SERVICE_CA_FILE", "") or "",
    }
# A command the provider did not confirm is sent again by a later task, up to this many tries,
# waiting RETRY_DELAY seconds, then twice as long each time (30 s, 1, 2, 4, 8 min ... about 4 hours in all).
TOKEN_COMMAND_MAX_ATTEMPTS = int(env("TOKEN_COMMAND_MAX_ATTEMPTS", "10") or 10)
TOKEN_COMMAND_RETRY_DELAY = float(env("TOKEN_COMMAND_RETRY_DELAY", "30") or 30)

if IS_TEST:
    # Argon2 is exercised by its own test; the rest of the suite hashes quickly.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
