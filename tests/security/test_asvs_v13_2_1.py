"""OWASP ASVS 5.0.0 13.2.1: backend components authenticate each other with certificates, not fixed credentials alone.

Inbound (docs/api.md, "Client certificates"): an API key bound to client certificates is taken only when the
trusted TLS proxy vouches, in API_CLIENT_CERT_HEADER, for one of them; the header from any other peer is dropped;
with API_KEYS_REQUIRE_CLIENT_CERT (production's default) an unbound key is refused, and the deploy check names it.
Outbound: the SMS gateway, BLIK and token service clients present their client certificate to a real local TLS
server that requires one (the directory server's client already did).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.checks import Warning
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory

from kartosfera.api.checks import api_client_certs_check
from kartosfera.api.models import ApiKey, ApiScope
from kartosfera.api.services import api_key_client_certs_change, api_key_create
from kartosfera.blik.client import BlikUpdate, blik_system_client
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.http_json import HttpJsonError, post_json, tls_context
from kartosfera.core.middleware import RequestContextMiddleware, client_cert_sha256
from kartosfera.core.models import AuditEvent
from kartosfera.customers.models import Customer
from kartosfera.notifications.backends import Sms, SmsDeliveryError
from kartosfera.notifications.backends.http import SmsBackend
from kartosfera.testing.factories import bank_factory
from kartosfera.tokens.backends import TokenServiceError, TokenServiceRequest
from kartosfera.tokens.backends.http import TokenServiceBackend

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.5"
CERT_A = "a1" * 32
CERT_B = "b2" * 32
HEADER = "HTTP_X_SSL_CLIENT_SHA256"
CUSTOMERS = "/api/provisioning/v1/customers"


def _customer(reference: str) -> str:
    from kartosfera.testing.factories import make_pesel

    return json.dumps(
        {
            "reference": reference,
            "residency": "resident",
            "first_name": "Anna",
            "last_name": "Nowak",
            "pesel": make_pesel(dt.date(1985, 3, 14), 500 + int(reference.rsplit("-", 1)[1]), female=True),
            "phone_on_file": "600 100 200",
        }
    )


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_IPS = frozenset({PROXY})
    settings.API_CLIENT_CERT_HEADER = HEADER
    settings.API_KEYS_REQUIRE_CLIENT_CERT = False
    return settings


@pytest.fixture
def bound_key(db) -> tuple[ApiKey, str]:
    return api_key_create(
        actor=Actor.system("tests"),
        name="core banking",
        scopes=[ApiScope.PROVISIONING],
        bank=bank_factory(),
        client_cert_sha256=[CERT_A.upper()],
    )


def _post(token: str, reference: str, *, remote: str = PROXY, cert: str | None = None, idem: str = "mtls-1"):
    extra = {HEADER: cert} if cert is not None else {}
    return Client().post(
        CUSTOMERS,
        _customer(reference),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IDEMPOTENCY_KEY=idem,
        REMOTE_ADDR=remote,
        **extra,
    )


# --- Inbound: keys bound to client certificates -----------------------------------------------------------


@pytest.mark.django_db
def test_a_bound_key_with_its_certificate_from_the_proxy_is_taken(behind_proxy, bound_key):
    _key, token = bound_key
    # The proxy may pass the fingerprint in upper case or with colons (openssl's form): the same certificate.
    with_colons = ":".join(CERT_A[i : i + 2] for i in range(0, 64, 2)).upper()
    response = _post(token, "CIF-MTLS-1", cert=with_colons)
    assert response.status_code == 201, response.content
    assert Customer.objects.filter(reference="CIF-MTLS-1").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("cert", [None, CERT_B, "", "not-a-fingerprint"], ids=["none", "another", "empty", "garbage"])
def test_a_bound_key_without_its_certificate_is_refused_like_a_wrong_key_and_nothing_is_done(
    behind_proxy, bound_key, cert, caplog
):
    key, token = bound_key
    wrong_token = token[:-1] + ("0" if token[-1] != "0" else "1")
    audit_before = AuditEvent.objects.count()
    with caplog.at_level(logging.WARNING, logger="kartosfera.api.services"):
        response = _post(token, "CIF-MTLS-2", cert=cert)
    wrong = _post(wrong_token, "CIF-MTLS-3", cert=CERT_A)

    assert response.status_code == wrong.status_code == 401
    assert response.json() == wrong.json()
    assert response["WWW-Authenticate"] == wrong["WWW-Authenticate"]
    assert not Customer.objects.filter(reference__in=["CIF-MTLS-2", "CIF-MTLS-3"]).exists()
    assert AuditEvent.objects.count() == audit_before
    (record,) = [r for r in caplog.records if r.getMessage() == "api key refused: client certificate"]
    assert record.api_key == key.prefix  # type: ignore[attr-defined]
    assert token not in caplog.text and token.rsplit("_", 1)[1] not in caplog.text


@pytest.mark.django_db
def test_the_certificate_header_from_anybody_but_the_trusted_proxy_is_ignored(behind_proxy, bound_key):
    _key, token = bound_key
    # A client reaching the application around the proxy cannot claim the certificate it does not hold.
    response = _post(token, "CIF-MTLS-4", remote="198.51.100.9", cert=CERT_A)
    assert response.status_code == 401
    assert not Customer.objects.filter(reference="CIF-MTLS-4").exists()


def test_the_middleware_drops_the_header_unless_the_proxy_sent_it(settings):
    settings.TRUSTED_PROXY_IPS = frozenset({PROXY})
    settings.API_CLIENT_CERT_HEADER = HEADER
    seen: dict[str, object] = {}

    def view(request):
        from django.http import HttpResponse

        seen.update(cert=client_cert_sha256(request), raw=request.META.get(HEADER))
        return HttpResponse()

    RequestContextMiddleware(view)(RequestFactory().get("/", REMOTE_ADDR="198.51.100.9", **{HEADER: CERT_A}))
    assert seen == {"cert": None, "raw": None}
    RequestContextMiddleware(view)(RequestFactory().get("/", REMOTE_ADDR=PROXY, **{HEADER: CERT_A.upper()}))
    assert seen == {"cert": CERT_A, "raw": None}
    RequestContextMiddleware(view)(RequestFactory().get("/", REMOTE_ADDR=PROXY, **{HEADER: "abc"}))
    assert seen == {"cert": None, "raw": None}
    # A request that never passed the middleware carries no certificate, whatever its headers say.
    assert client_cert_sha256(RequestFactory().get("/", REMOTE_ADDR=PROXY, **{HEADER: CERT_A})) is None


@pytest.mark.django_db
def test_when_certificates_are_required_an_unbound_key_is_refused_and_a_bound_one_taken(behind_proxy, bound_key):
    _unbound, unbound_token = api_key_create(
        actor=Actor.system("tests"), name="legacy", scopes=[ApiScope.PROVISIONING], bank=bound_key[0].bank
    )
    assert _post(unbound_token, "CIF-MTLS-5", idem="mtls-5").status_code == 201  # not required: taken
    behind_proxy.API_KEYS_REQUIRE_CLIENT_CERT = True
    assert _post(unbound_token, "CIF-MTLS-6", idem="mtls-6").status_code == 401
    assert _post(unbound_token, "CIF-MTLS-7", idem="mtls-7", cert=CERT_A).status_code == 401
    assert _post(bound_key[1], "CIF-MTLS-8", idem="mtls-8", cert=CERT_A).status_code == 201
    assert set(Customer.objects.values_list("reference", flat=True)) == {"CIF-MTLS-5", "CIF-MTLS-8"}


def test_production_requires_client_certificates_by_default_and_development_does_not():
    from kartosfera.core.tests.test_settings import PRODUCTION

    def required(env: dict[str, str]) -> str:
        clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("API_KEYS_")}
        probe = "from django.conf import settings; print('require', settings.API_KEYS_REQUIRE_CLIENT_CERT)"
        result = subprocess.run(  # noqa: S603 (this interpreter, a fixed probe)
            [sys.executable, "-c", f"import django; django.setup(); {probe}"],
            cwd=ROOT,
            env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert required(PRODUCTION) == "require True"
    assert required({**PRODUCTION, "API_KEYS_REQUIRE_CLIENT_CERT": "false"}) == "require False"
    assert required({"KARTOSFERA_ENV": "development"}) == "require False"


@pytest.mark.django_db
def test_the_deploy_check_names_the_unbound_keys_and_passes_without_a_database(behind_proxy, bound_key):
    behind_proxy.API_KEYS_REQUIRE_CLIENT_CERT = True
    assert api_client_certs_check() == []
    unbound, _token = api_key_create(actor=Actor.system("tests"), name="legacy", scopes=[ApiScope.PROVISIONING])
    (warning,) = api_client_certs_check()
    assert isinstance(warning, Warning) and warning.id == "api.W003"
    assert unbound.prefix in warning.msg and bound_key[0].prefix not in warning.msg
    behind_proxy.TRUSTED_PROXY_IPS = frozenset()
    assert [each.id for each in api_client_certs_check()] == ["api.W002", "api.W003"]
    behind_proxy.API_KEYS_REQUIRE_CLIENT_CERT = False
    assert [each.id for each in api_client_certs_check()] == ["api.W001"]


def test_the_deploy_check_without_a_database_checks_the_settings_alone(settings, monkeypatch):
    from django.db import OperationalError
    from django.db.models import QuerySet

    settings.API_KEYS_REQUIRE_CLIENT_CERT = True
    settings.TRUSTED_PROXY_IPS = frozenset({PROXY})

    def no_table(self, *args, **kwargs):
        raise OperationalError("no such table: api_apikey")

    monkeypatch.setattr(QuerySet, "_fetch_all", no_table)
    assert api_client_certs_check() == []


@pytest.mark.django_db
def test_binding_and_unbinding_certificates_by_command_is_audited(behind_proxy):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_key",
        "--name=ledger",
        "--scope=provisioning",
        "--group",
        f"--client-cert-sha256=sha256 Fingerprint={CERT_A.upper()}",
        stdout=out,
        stderr=err,
    )
    key = ApiKey.objects.get(name="ledger")
    assert key.client_certs == [CERT_A]
    created = AuditEvent.objects.get(action="api.api_key.created", object_id=str(key.pk))
    assert created.after["client_certs"] == [CERT_A]
    assert out.getvalue().strip() not in json.dumps(created.after)  # the token is not in the audit row

    call_command("api_key_client_cert", key.prefix, f"--bind={CERT_B}", f"--unbind={CERT_A}", stdout=io.StringIO())
    key.refresh_from_db()
    assert key.client_certs == [CERT_B]
    changed = AuditEvent.objects.get(action="api.api_key.client_certs_changed", object_id=str(key.pk))
    assert changed.before == {"client_certs": [CERT_A]}
    assert changed.after["client_certs"] == [CERT_B]
    assert changed.actor_label == "manage.py api_key_client_cert"

    with pytest.raises(CommandError, match="not bound"):
        call_command("api_key_client_cert", key.prefix, f"--unbind={CERT_A}", stdout=io.StringIO())
    with pytest.raises(CommandError, match="64 hexadecimal digits"):
        call_command("api_key_client_cert", key.prefix, "--bind=abc", stdout=io.StringIO())
    with pytest.raises(CommandError, match="64 hexadecimal digits"):
        call_command(
            "create_api_key", "--name=x", "--scope=provisioning", "--group", "--client-cert-sha256=zz", stdout=out
        )
    assert AuditEvent.objects.filter(action="api.api_key.client_certs_changed").count() == 1


@pytest.mark.django_db
def test_more_certificates_than_a_key_may_have_are_refused(behind_proxy, bound_key):
    key, _token = bound_key
    many = [f"{n:064x}" for n in range(1, 6)]
    with pytest.raises(ValidationFailed):
        api_key_client_certs_change(actor=Actor.system("tests"), api_key=key, add=many)
    key.refresh_from_db()
    assert key.client_certs == [CERT_A]


# --- Outbound: the clients present their certificate -------------------------------------------------------


@dataclass
class Pki:
    ca_file: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_sha256: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _issue(ca: x509.Certificate, ca_key, subject: str, usage, alternative=None):
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if alternative is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    import ipaddress

    directory = tmp_path_factory.mktemp("mtls-pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("mtls test CA"))
        .issuer_name(_name("mtls test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server, server_key = _issue(
        ca, ca_key, "127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    )
    client, client_key = _issue(ca, ca_key, "kartosfera", ExtendedKeyUsageOID.CLIENT_AUTH)
    pki = Pki(
        ca_file=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server-key.pem",
        client_cert=directory / "client.pem",
        client_key=directory / "client-key.pem",
        client_sha256=client.fingerprint(hashes.SHA256()).hex(),
    )
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    pki.server_key.write_bytes(_pem_key(server_key))
    pki.client_cert.write_bytes(client.public_bytes(serialization.Encoding.PEM))
    pki.client_key.write_bytes(_pem_key(client_key))
    return pki


class MutualTlsServer:
    """An HTTPS server on 127.0.0.1 that requires a client certificate of its CA; records each peer's fingerprint."""

    def __init__(self, pki: Pki) -> None:
        self.peers: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                peer = self.connection.getpeercert(binary_form=True)  # type: ignore[attr-defined]
                server.peers.append(hashlib.sha256(peer).hexdigest())
                data = json.dumps({"id": "mtls-1", "reference": "ref-1"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        context.load_verify_locations(pki.ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mtls_server(pki) -> Iterator[MutualTlsServer]:
    server = MutualTlsServer(pki)
    yield server
    server.close()


def _mtls(pki: Pki, *, client: bool = True) -> dict[str, str]:
    options = {"ca_file": str(pki.ca_file)}
    if client:
        options.update(client_cert=str(pki.client_cert), client_key=str(pki.client_key))
    return options


SMS = Sms(to="+48600100200", text="Kartosfera: test", reference="asvs-13-2-1")
TOKEN_COMMAND = TokenServiceRequest(token_reference="DNITHE000000000001", command="suspend", reference="cmd-1")


def test_the_sms_gateway_client_presents_its_certificate(mtls_server, pki):
    with pytest.raises(SmsDeliveryError):
        SmsBackend(url=mtls_server.url, retries=0, timeout=5, **_mtls(pki, client=False)).send(SMS)
    assert mtls_server.peers == []
    assert SmsBackend(url=mtls_server.url, retries=0, timeout=5, **_mtls(pki)).send(SMS) == "mtls-1"
    assert mtls_server.peers == [pki.client_sha256]


def test_the_token_service_client_presents_its_certificate(mtls_server, pki):
    with pytest.raises(TokenServiceError):
        TokenServiceBackend(url=mtls_server.url, timeout=5, **_mtls(pki, client=False)).send(TOKEN_COMMAND)
    assert TokenServiceBackend(url=mtls_server.url, timeout=5, **_mtls(pki)).send(TOKEN_COMMAND) == "mtls-1"
    assert mtls_server.peers == [pki.client_sha256]


def test_the_blik_client_built_from_the_settings_presents_its_certificate(mtls_server, pki, settings):
    settings.BLIK_SYSTEM_BACKEND = "http"
    settings.BLIK_SYSTEM_URL = mtls_server.url
    settings.BLIK_SYSTEM_TIMEOUT = 5
    settings.BLIK_SYSTEM_CA_FILE = str(pki.ca_file)
    update = BlikUpdate("CIF-1", ("BSNOWY",), False, 1, "2026-01-01T00:00:00Z")
    settings.BLIK_SYSTEM_CLIENT_CERT = settings.BLIK_SYSTEM_CLIENT_KEY = ""
    with pytest.raises(HttpJsonError):
        blik_system_client().send(update)
    settings.BLIK_SYSTEM_CLIENT_CERT = str(pki.client_cert)
    settings.BLIK_SYSTEM_CLIENT_KEY = str(pki.client_key)
    assert blik_system_client().send(update) == "ref-1"
    assert mtls_server.peers == [pki.client_sha256]


def test_the_outbound_clients_take_their_certificate_settings(settings, pki):
    # The settings reach the backends the application builds (not only a client built by hand).
    from kartosfera.notifications.backends import get_sms_backend
    from kartosfera.tokens.backends import get_token_service_backend

    options = {"url": "https://gw.example/v1", **_mtls(pki)}
    settings.SMS_BACKEND = "kartosfera.notifications.backends.http.SmsBackend"
    settings.SMS_BACKEND_OPTIONS = options
    settings.TOKEN_SERVICE_BACKEND = "kartosfera.tokens.backends.http.TokenServiceBackend"
    settings.TOKEN_SERVICE_BACKEND_OPTIONS = options
    sms, tokens = get_sms_backend(), get_token_service_backend()
    assert isinstance(sms, SmsBackend) and isinstance(tokens, TokenServiceBackend)
    assert tokens._context is not None and tokens._context.verify_mode == ssl.CERT_REQUIRED


def test_a_client_certificate_that_cannot_be_loaded_stops_the_start(pki, tmp_path):
    with pytest.raises(ImproperlyConfigured, match="SMS_GATEWAY_CLIENT_KEY is set without"):
        tls_context(client_key=str(pki.client_key), setting="SMS_GATEWAY")
    with pytest.raises(ImproperlyConfigured, match="cannot be loaded"):
        tls_context(client_cert=str(tmp_path / "missing.pem"), setting="BLIK_SYSTEM")
    with pytest.raises(ImproperlyConfigured, match="cannot be loaded"):
        # A key that is not the certificate's.
        tls_context(client_cert=str(pki.client_cert), client_key=str(pki.server_key), setting="TOKEN_SERVICE")
    context = tls_context(client_cert=str(pki.client_cert), client_key=str(pki.client_key), setting="X")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_post_json_without_a_certificate_is_refused_by_a_server_that_requires_one(mtls_server, pki):
    with pytest.raises(HttpJsonError):
        post_json(mtls_server.url, {}, timeout=5, context=tls_context(ca_file=str(pki.ca_file), setting="X"))
    assert mtls_server.peers == []
