"""ASVS 5.0.0 chapters V9, V11 and V12 (docs/security/asvs.md): what no other test showed.

- V9: the one self-contained value a browser brings back, Django's signed messages cookie, is taken only with a
  valid HMAC-SHA256 under SECRET_KEY for its own purpose (no other algorithm, key or salt, no unsigned value).
- V11: production refuses HMAC keys under 128 bits and one value given for two keys; the values meant to be
  unguessable carry at least 128 bits.
- V12: production refuses plain http to every outbound service (except to this machine, where a TLS sidecar may
  sit), and each outbound client checks the server's certificate and name against the trust store, or against
  the directory server's own CA alone when one is configured.
"""

from __future__ import annotations

import ast
import base64
import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import (
    CookieStorage,
    MessagePartGatherSerializer,
    MessagePartSerializer,
)
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.signing import _cookie_signer_key
from django.middleware.csrf import _get_new_csrf_string
from django.test import RequestFactory

from kartosfera.acs.directory import DirectoryServerError, HttpDirectoryServer
from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.core.audit import Actor
from kartosfera.core.http_json import HttpJsonError, post_json
from kartosfera.notifications.backends import Sms, SmsDeliveryError
from kartosfera.notifications.backends.http import SmsBackend
from kartosfera.testing.production import PRODUCTION, production_start

ROOT = Path(__file__).resolve().parents[2]

# --- V12: TLS to every outbound service ------------------------------------------------------------------

OUTBOUND_URLS = ["SMS_GATEWAY_URL", "TOKEN_SERVICE_URL", "ACS_DIRECTORY_SERVER_URL", "BLIK_SYSTEM_URL"]


_start = production_start


@pytest.mark.parametrize("name", OUTBOUND_URLS)
def test_production_refuses_plain_http_to_an_outbound_service(name):
    result = _start({**PRODUCTION, name: "http://service.bank.example/v1"})
    assert result.returncode != 0
    assert f"{name} must be an https:// URL in production" in result.stderr


def test_production_takes_plain_http_only_to_this_machine():
    # A TLS sidecar on the host (stunnel, envoy) may take the request: nothing crosses a network in clear.
    local = dict.fromkeys(OUTBOUND_URLS, "http://127.0.0.1:8443/v1")
    result = _start({**PRODUCTION, **local})
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@dataclass
class Pki:
    """A private CA and a server certificate it issued for 127.0.0.1 (or for another name)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pki(directory: Path, *, label: str, server_name: str = "127.0.0.1") -> Pki:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} test CA"))
        .issuer_name(_name(f"{label} test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    try:
        alternative: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(server_name))
    except ValueError:
        alternative = x509.DNSName(server_name)
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(server_name))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(
        ca_file=directory / f"{label}-ca.pem",
        cert_file=directory / f"{label}-server.pem",
        key_file=directory / f"{label}-server-key.pem",
    )
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return pki


class TlsServer:
    """An HTTPS server on 127.0.0.1 answering every POST with ``answer`` (JSON); counts the requests it read."""

    def __init__(self, pki: Pki, answer: dict[str, object]) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests += 1
                payload = dict(answer)
                if payload.get("messageType") == "RRes":
                    rreq = json.loads(body)
                    payload.update({k: rreq[k] for k in ("threeDSServerTransID", "acsTransID")})
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.cert_file, pki.key_file)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return _pki(tmp_path_factory.mktemp("pki"), label="internal")


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory) -> Pki:
    return _pki(tmp_path_factory.mktemp("other-pki"), label="other")


@pytest.fixture
def tls_server(pki) -> Iterator[TlsServer]:
    server = TlsServer(pki, {"id": "gw-1", "reference": "ref-1"})
    yield server
    server.close()


@pytest.fixture
def directory_server(pki) -> Iterator[TlsServer]:
    server = TlsServer(pki, {"messageType": "RRes", "resultsStatus": "01"})
    yield server
    server.close()


SMS = Sms(to="+48600100200", text="Kartosfera: test", reference="asvs-12-3-2")
RREQ = {
    "messageType": "RReq",
    "threeDSServerTransID": "8a880dc0-d2d2-4067-bcb1-b08d1690b26e",
    "acsTransID": "d7c1ee99-9478-44a6-b1f2-391e29c6b340",
    "transStatus": "Y",
}


def test_the_sms_gateway_client_refuses_a_certificate_the_trust_store_does_not_vouch_for(tls_server):
    backend = SmsBackend(url=tls_server.url, retries=0, timeout=5)
    with pytest.raises(SmsDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
        backend.send(SMS)
    assert tls_server.requests == 0  # nothing (not the text, not the credentials) was sent


def test_the_sms_gateway_client_talks_to_a_server_the_trust_store_vouches_for(tls_server, pki, monkeypatch):
    # The deployment trusts an internal CA by pointing OpenSSL's store at it (SSL_CERT_FILE).
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    assert SmsBackend(url=tls_server.url, retries=0, timeout=5).send(SMS) == "gw-1"
    assert tls_server.requests == 1


def test_the_blik_and_token_service_client_refuses_a_certificate_the_trust_store_does_not_vouch_for(
    tls_server, pki, monkeypatch
):
    with pytest.raises(HttpJsonError):
        post_json(tls_server.url, {"enabled": False}, timeout=5)
    assert tls_server.requests == 0
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.ca_file))
    assert post_json(tls_server.url, {"enabled": False}, timeout=5)["reference"] == "ref-1"
    assert tls_server.requests == 1


def test_the_directory_server_client_trusts_only_the_ca_it_is_given(directory_server, pki, other_pki):
    with pytest.raises(DirectoryServerError, match="unreachable"):
        HttpDirectoryServer(directory_server.url, timeout=5).send(RREQ)
    with pytest.raises(DirectoryServerError, match="unreachable"):
        HttpDirectoryServer(directory_server.url, timeout=5, ca_file=str(other_pki.ca_file)).send(RREQ)
    assert directory_server.requests == 0
    rres = HttpDirectoryServer(directory_server.url, timeout=5, ca_file=str(pki.ca_file)).send(RREQ)
    assert rres["resultsStatus"] == "01"
    assert directory_server.requests == 1


def test_a_certificate_for_another_name_is_refused_even_from_the_trusted_ca(tmp_path):
    wrong_name = _pki(tmp_path, label="wrong-name", server_name="ds.bank.example")
    server = TlsServer(wrong_name, {"messageType": "RRes", "resultsStatus": "01"})
    try:
        with pytest.raises(DirectoryServerError, match="unreachable"):
            HttpDirectoryServer(server.url, timeout=5, ca_file=str(wrong_name.ca_file)).send(RREQ)
        assert server.requests == 0
    finally:
        server.close()


# --- V11: keys and random values --------------------------------------------------------------------------

HMAC_KEYS = ["CARD_FINGERPRINT_KEY", "CARD_PIN_KEY", "ACS_AUTHENTICATION_KEY"]


@pytest.mark.parametrize("name", HMAC_KEYS)
def test_production_refuses_an_hmac_key_under_128_bits(name):
    short = _start({**PRODUCTION, name: "k" * 31})
    assert short.returncode != 0
    assert f"{name} must have at least 32 characters" in short.stderr
    assert "k" * 31 not in short.stderr  # the error names the setting, never the value


def test_production_refuses_one_value_for_two_keys():
    result = _start({**PRODUCTION, "CARD_PIN_KEY": PRODUCTION["CARD_FINGERPRINT_KEY"]})
    assert result.returncode != 0
    assert "must be different keys" in result.stderr
    assert PRODUCTION["CARD_FINGERPRINT_KEY"] not in result.stderr


def test_the_settings_helpers_refuse_in_production_only(settings, monkeypatch):
    import config.settings as module

    monkeypatch.setattr(module, "IS_PRODUCTION", True)
    with pytest.raises(ImproperlyConfigured):
        module.outbound_url_require_tls("SMS_GATEWAY_URL", "http://10.0.0.5/sms")
    with pytest.raises(ImproperlyConfigured):
        module.outbound_url_require_tls("SMS_GATEWAY_URL", "ftp://sms.example/")
    assert module.outbound_url_require_tls("SMS_GATEWAY_URL", "https://10.0.0.5/sms") == "https://10.0.0.5/sms"
    with pytest.raises(ImproperlyConfigured):
        module.key_require_strength("CARD_PIN_KEY", "x" * 31)
    monkeypatch.setattr(module, "IS_PRODUCTION", False)
    assert module.outbound_url_require_tls("SMS_GATEWAY_URL", "http://10.0.0.5/sms") == "http://10.0.0.5/sms"


@pytest.mark.django_db
def test_the_unguessable_values_carry_at_least_128_bits_and_never_repeat():
    # API key secrets (hex), session keys ([a-z0-9]), CSRF secrets ([A-Za-z0-9]): bits = length x log2(alphabet).
    secrets_ = [
        api_key_create(actor=Actor.system("test"), name=f"k{i}", scopes=[ApiScope.PROVISIONING])[1].rsplit("_", 1)[1]
        for i in range(3)
    ]
    assert all(len(secret) * 4 >= 128 for secret in secrets_)
    sessions = [SessionStore()._get_new_session_key() for _ in range(3)]
    assert all(len(key) * 5.16 >= 128 for key in sessions)
    csrf = [_get_new_csrf_string() for _ in range(3)]
    assert all(len(value) * 5.95 >= 128 for value in csrf)
    assert len(set(secrets_)) == len(set(sessions)) == len(set(csrf)) == 3


@pytest.mark.django_db
def test_the_3ds_challenge_token_carries_at_least_128_bits(client, django_capture_on_commit_callbacks):
    from kartosfera.acs.tests.test_challenge import begin, pending, token_of

    tokens = set()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = begin(client, pending())
        tokens.add(token_of(response))
    # secrets.token_urlsafe(32): 43 characters of base64url, 256 bits.
    assert len(tokens) == 2
    assert all(len(token) * 6 >= 128 for token in tokens)


# --- V9: the signed messages cookie -----------------------------------------------------------------------

MESSAGE = "Wiadomość z ciasteczka"


def _messages_cookie(*, secret_key: str | None = None, algorithm: str = "sha256", salt: str | None = None) -> str:
    """The messages cookie Django's CookieStorage sets, signed under ``secret_key`` with ``algorithm`` for ``salt``."""
    storage = CookieStorage(RequestFactory().get("/"))
    signer = signing.TimestampSigner(
        key=_cookie_signer_key(secret_key or settings.SECRET_KEY), salt=salt or storage.key_salt, algorithm=algorithm
    )
    parts = MessagePartSerializer().dumps([Message(constants.ERROR, MESSAGE)])
    return signer.sign_object(parts, serializer=MessagePartGatherSerializer, compress=True)


def _page_with(client, cookie: str) -> str:
    client.cookies[settings.MESSAGES_COOKIE_NAME] = cookie
    response = client.get("/login/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_a_messages_cookie_signed_with_the_secret_key_is_shown(client):
    # The control: the same cookie, signed as Django signs it, is read (so the refusals below are the signature's).
    storage = CookieStorage(RequestFactory().get("/"))
    assert [m.message for m in storage._decode(_messages_cookie())] == [MESSAGE]
    assert MESSAGE in _page_with(client, _messages_cookie())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda: _messages_cookie(secret_key="another-key-" + "x" * 40), id="another key"),
        pytest.param(lambda: _messages_cookie(algorithm="sha1"), id="another algorithm"),
        # A value the same key signed for another purpose (Django's signed cookies all share SECRET_KEY).
        pytest.param(lambda: _messages_cookie(salt="django.core.signing.get_cookie_signer"), id="another purpose"),
        pytest.param(lambda: _messages_cookie().rsplit(":", 1)[0] + ":", id="no signature"),
        pytest.param(lambda: _messages_cookie()[:-2] + "AA", id="signature changed"),
    ],
)
def test_a_messages_cookie_not_signed_with_hmac_sha256_under_the_secret_key_is_dropped(client, forge):
    assert MESSAGE not in _page_with(client, forge())


# --- V9: the BS Pay app's signatures take one algorithm ---------------------------------------------------


def test_the_app_takes_ed25519_keys_and_signatures_only():
    from kartosfera.devices import signatures

    message = signatures.canonical_string(
        method="GET", path="/api/app/v1/device", timestamp="1", request_id="r" * 16, body=b""
    )
    device = Ed25519PrivateKey.generate()
    key = signatures.public_key_text(device)
    assert signatures.public_key_parse(key) == key
    assert signatures.signature_valid(public_key=key, signature=signatures.sign(device, message), message=message)
    # Another algorithm's key is no device key, and its signature never verifies: there is no header to name one.
    p256 = ec.generate_private_key(ec.SECP256R1())
    p256_key = p256.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert signatures.public_key_parse(base64.b64encode(p256_key).decode()) is None
    ecdsa = base64.b64encode(p256.sign(message, ec.ECDSA(hashes.SHA256()))).decode()
    for signature in (ecdsa, "", "none", base64.b64encode(bytes(64)).decode()):
        assert not signatures.signature_valid(public_key=key, signature=signature, message=message)


# --- V11: the inventory, the hashes, authenticated encryption --------------------------------------------

KEY_SETTING = re.compile(r'"([A-Z][A-Z0-9_]*(?:_KEY|_KEYS|_TOKEN|_PASSWORD|_CERT|_CA_FILE))"')
ALGORITHMS = ["Fernet", "AES", "HMAC-SHA256", "SHA-256", "Argon2id", "Ed25519", "ISO 9564", "secrets", "TLS"]


def test_the_inventory_names_every_key_setting_and_algorithm():
    inventory = (ROOT / "docs" / "security" / "cryptography.md").read_text()
    names = set(KEY_SETTING.findall((ROOT / "config" / "settings.py").read_text()))
    assert {"SECRET_KEY", "CARD_DATA_KEYS", "CARD_PIN_KEY", "ACS_DIRECTORY_SERVER_CLIENT_KEY"} <= names
    assert [name for name in sorted(names) if f"`{name}`" not in inventory] == []
    assert [name for name in ALGORITHMS if name not in inventory] == []


def test_production_hashes_passwords_with_argon2id_above_the_owasp_minimum():
    code = (
        "import json; from django.conf import settings as s; "
        "from django.contrib.auth.hashers import get_hashers; h = get_hashers()[0]; "
        "print(json.dumps([s.PASSWORD_HASHERS, h.algorithm, h.time_cost, h.memory_cost, h.parallelism]))"
    )
    result = production_start(PRODUCTION, code)
    assert result.returncode == 0, result.stderr
    hashers, algorithm, time_cost, memory_cost, parallelism = json.loads(result.stdout)
    assert hashers == [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    # OWASP Password Storage Cheat Sheet: Argon2id with at least 19 MiB, 2 passes, 1 lane.
    assert algorithm == "argon2"
    assert memory_cost >= 19 * 1024 and time_cost >= 2 and parallelism >= 1


BROKEN = {"md5", "sha1", "md4", "des", "rc4", "blowfish", "tripledes", "arc4"}


def _broken_uses(path: Path) -> list[str]:
    """Calls and names of broken hashes and ciphers in one module: hashlib.md5(), hashes.SHA1, "sha1" arguments."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and node.attr.lower() in BROKEN:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in BROKEN:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    return found


def test_no_broken_hash_or_cipher_is_used_anywhere_in_the_code():
    # The test settings' MD5 password hasher (a fast hasher for the suite) is a class path, not a use here;
    # TOTP's HMAC-SHA1 lives in django-otp, as RFC 6238 fixes it (docs/security/cryptography.md).
    # The Pwned Passwords range API is addressed by SHA-1 prefixes: the lookup of a public corpus (k-anonymity),
    # not a protection of ours (docs/access.md "Password policy"); its client and the tests' server use it.
    protocol_bound = {"kartosfera/users/pwned.py", "kartosfera/testing/pwned.py"}
    modules = [
        path
        for folder in ("kartosfera", "config")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "tests" not in path.parts
        and "migrations" not in path.parts
        and str(path.relative_to(ROOT)) not in protocol_bound
    ]
    assert len(modules) > 100
    assert [use for path in modules for use in _broken_uses(path)] == []


def test_a_changed_card_data_ciphertext_is_refused_not_decrypted():
    from cryptography.fernet import InvalidToken

    from kartosfera.core.crypto import decrypt, encrypt

    token = encrypt("4111111111111111")
    raw = bytearray(base64.urlsafe_b64decode(token))
    for position in (9, 30, len(raw) - 40, len(raw) - 1):  # the IV, the ciphertext, the last block, the MAC
        changed = bytearray(raw)
        changed[position] ^= 0x01
        with pytest.raises(InvalidToken):
            decrypt(base64.urlsafe_b64encode(bytes(changed)).decode())
    assert decrypt(token) == "4111111111111111"


def test_every_outbound_tls_context_requires_tls_1_2_a_valid_certificate_and_the_host_name():
    # The SMS gateway, BLIK and token service clients use urllib's default HTTPS context; the directory server
    # client builds its own (for its CA and the mutual TLS pair).
    directory = HttpDirectoryServer("https://ds.example/rreq", timeout=1)
    handlers = [each for each in directory._opener.handlers if isinstance(each, urllib.request.HTTPSHandler)]
    contexts = [handler._context for handler in handlers]
    assert len(contexts) == 1
    for context in [*contexts, ssl._create_default_https_context()]:
        assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname


# --- V11.2.2: a key replaced without breaking what it protected -------------------------------------------


@pytest.mark.django_db
def test_a_new_fingerprint_key_leaves_every_pin_working(settings, cardholder, debit_product):
    from io import StringIO

    from django.core.management import call_command

    from kartosfera.cards.pan import decrypt_pan
    from kartosfera.cards.pin import pin_matches, pin_values_under_cards, pin_verification_value
    from kartosfera.cards.pinblock import PinCheck, pin_block_encipher, pin_block_verify
    from kartosfera.testing.factories import card_factory

    card = card_factory(customer=cardholder.customer, product=debit_product)
    pan = decrypt_pan(card.pan_ciphertext)
    card.pin_verification_value = pin_verification_value("4821", card=card)
    card.save(update_fields=["pin_verification_value"])
    old_fingerprint = card.pan_fingerprint

    settings.CARD_FINGERPRINT_KEY = "a-new-fingerprint-key-" + "0" * 20
    call_command("rotate_card_keys", stdout=StringIO())

    card.refresh_from_db()
    assert card.pan_fingerprint != old_fingerprint  # look-ups moved to the new key
    assert pin_matches("4821", card=card) and not pin_matches("4822", card=card)
    block = pin_block_encipher(pin="4821", pan=pan)
    assert pin_block_verify(card=card, pan=pan, pin_block=block) == PinCheck.MATCH
    # The 3-D Secure PIN is still compared with the card's PIN correctly (the two must differ).
    under_each_key = pin_values_under_cards("4821", customer=card.customer)[str(card.pk)]
    assert card.pin_verification_value in under_each_key.values()
