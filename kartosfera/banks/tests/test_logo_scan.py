"""A bank's logo is scanned by a real ClamAV daemon before it is stored (ASVS 5.4.3): flagged, refused and
audited; not scanned (the daemon down, silent or answering an error), refused too (fail closed).

The daemon is Debian's clamd, started here with a signature database of its own (kartosfera/testing/clamav.py):
the EICAR test string, inside files that are otherwise valid logos, is its malware.
"""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from kartosfera.api.models import ApiScope
from kartosfera.api.services import api_key_create
from kartosfera.api.tests.conftest import BASE
from kartosfera.banks.logos import LogoMalwareFound, LogoNotScanned, bank_logo_set, logo_check
from kartosfera.banks.tests.logos import HARMLESS_SVG, png_bytes, svg_bytes
from kartosfera.core.antivirus import (
    CHUNK_SIZE,
    ClamdAddress,
    ScannerUnavailable,
    clamd_address_parse,
    instream_scan,
)
from kartosfera.core.audit import Actor, ActorType
from kartosfera.core.audit_actions import audit_action_require
from kartosfera.core.models import AuditEvent
from kartosfera.testing.clamav import EICAR, SIGNATURE_FOUND, STREAM_MAX_LENGTH, Clamd, clamd_start
from kartosfera.testing.factories import bank_factory

ACTOR = Actor.system("tests")
PNG = "image/png"
SVG = "image/svg+xml"


@pytest.fixture(autouse=True)
def english():
    # The messages are checked by their English words.
    with translation.override("en"):
        yield


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    daemon = clamd_start(tmp_path_factory.mktemp("clamd"))
    print(f"\nclamd answered PING {daemon.started_in:.2f} s after its start")
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture
def scanning(settings, clamd: Clamd) -> Clamd:
    """The settings of a deployment: every logo goes through the test's clamd (over its Unix socket)."""
    settings.CLAMD_ADDRESS = clamd.unix_address
    settings.CLAMD_TIMEOUT = 10
    return clamd


def png_with_text(text: str) -> bytes:
    """A valid PNG carrying ``text`` in a tEXt chunk (metadata the decoder reads past)."""
    info = PngInfo()
    info.add_text("Comment", text)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), "#006633").save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


INFECTED_PNG = png_with_text(EICAR.decode("ascii"))
# The test string in an XML comment: a well-formed, script-free SVG that logo_check accepts.
INFECTED_SVG = svg_bytes(f"<!-- {EICAR.decode('ascii')} --><rect width='10' height='10'/>")


def stopped_clamd_address(directory: Path) -> str:
    """The address of a clamd that ran and was stopped: its socket is gone."""
    daemon = clamd_start(directory)
    daemon.stop()
    return daemon.unix_address


# --- The client against clamd ---------------------------------------------------------------


@pytest.fixture(params=["unix", "tcp"])
def address(request, clamd: Clamd) -> ClamdAddress:
    return clamd_address_parse(clamd.unix_address if request.param == "unix" else clamd.tcp_address)


@pytest.mark.parametrize("data", [png_bytes(), HARMLESS_SVG], ids=["png", "svg"])
def test_clean_logos_are_clean_over_the_unix_socket_and_tcp(address, data):
    assert instream_scan(data, address=address, timeout=10).clean


@pytest.mark.parametrize("data", [EICAR, INFECTED_PNG, INFECTED_SVG], ids=["eicar", "png", "svg"])
def test_the_test_string_is_found_over_the_unix_socket_and_tcp(address, data):
    result = instream_scan(data, address=address, timeout=10)

    assert not result.clean
    assert result.signature == SIGNATURE_FOUND


def test_the_string_split_across_two_chunks_is_still_found(clamd):
    # The stream is sent in chunks; clamd must see it whole, not chunk by chunk.
    data = b"a" * (CHUNK_SIZE - len(EICAR) // 2) + EICAR + b"b" * 100

    result = instream_scan(data, address=clamd_address_parse(clamd.unix_address), timeout=10)

    assert result.signature == SIGNATURE_FOUND


def test_clamds_error_answer_is_no_verdict(clamd):
    # Over StreamMaxLength clamd answers "INSTREAM size limit exceeded. ERROR" (or hangs up): never "clean".
    with pytest.raises(ScannerUnavailable):
        instream_scan(
            b"a" * (STREAM_MAX_LENGTH + CHUNK_SIZE), address=clamd_address_parse(clamd.tcp_address), timeout=10
        )


def test_a_stopped_clamd_is_no_verdict(tmp_path):
    address = clamd_address_parse(stopped_clamd_address(tmp_path))

    with pytest.raises(ScannerUnavailable, match="cannot be reached"):
        instream_scan(png_bytes(), address=address, timeout=10)


def test_a_peer_that_never_answers_is_no_verdict_after_the_timeout():
    with socket.socket() as listener:
        # It accepts connections (the kernel's backlog) but never reads or answers.
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        address = ClamdAddress(host="127.0.0.1", port=listener.getsockname()[1])
        started = time.monotonic()

        with pytest.raises(ScannerUnavailable):
            instream_scan(b"x" * 100, address=address, timeout=0.5)

        assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("tcp://127.0.0.1:3310", ClamdAddress(host="127.0.0.1", port=3310)),
        ("tcp://clamav.internal:3310/", ClamdAddress(host="clamav.internal", port=3310)),
        ("unix:///run/clamav/clamd.ctl", ClamdAddress(path="/run/clamav/clamd.ctl")),
    ],
)
def test_an_address_is_tcp_or_a_unix_socket(value, expected):
    assert clamd_address_parse(value) == expected
    assert str(expected) == value.rstrip("/")


@pytest.mark.parametrize(
    "value",
    ["127.0.0.1:3310", "tcp://127.0.0.1", "tcp://:3310", "tcp://host:port", "unix://run/clamd.ctl", "http://h:1"],
)
def test_any_other_address_is_refused(value):
    with pytest.raises(ValueError, match=r"tcp://host:port|unix:///"):
        clamd_address_parse(value)


# --- The logo service --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "content_type"), [(png_bytes(), PNG), (HARMLESS_SVG, SVG)], ids=["png", "svg"])
def test_a_clean_logo_is_scanned_and_stored(scanning, data, content_type):
    bank = bank_factory()

    bank_logo_set(actor=ACTOR, bank=bank, data=data, content_type=content_type)

    bank.refresh_from_db()
    assert bytes(bank.logo) == data
    assert AuditEvent.objects.filter(action="banks.bank.logo_changed", bank_id=bank.pk).count() == 1
    assert not AuditEvent.objects.filter(action="banks.bank.logo_refused").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "content_type"), [(INFECTED_PNG, PNG), (INFECTED_SVG, SVG)], ids=["png", "svg"])
def test_a_logo_the_scanner_flags_is_refused_and_the_refusal_audited(scanning, data, content_type):
    # The file passes every format check: only the scan finds it.
    logo = logo_check(data=data, content_type=content_type)
    bank = bank_factory()
    bank_logo_set(actor=ACTOR, bank=bank, data=png_bytes(), content_type=PNG)

    with pytest.raises(LogoMalwareFound) as caught:
        bank_logo_set(actor=ACTOR, bank=bank, data=data, content_type=content_type)

    assert caught.value.code == "logo_malware_found"
    assert caught.value.field_errors == {"logo": caught.value.message}
    assert "antivirus" in caught.value.message
    assert SIGNATURE_FOUND not in caught.value.message
    bank.refresh_from_db()
    assert bytes(bank.logo) == png_bytes()
    (row,) = AuditEvent.objects.filter(action="banks.bank.logo_refused")
    assert row.bank_id == bank.pk
    assert (row.actor_type, row.actor_label) == (ACTOR.type, ACTOR.label)
    assert row.after == {
        "signature": SIGNATURE_FOUND,
        "content_type": content_type,
        "digest": logo.digest,
        "size": len(data),
    }
    action = audit_action_require("banks.bank.logo_refused")
    assert SIGNATURE_FOUND in action.detail_for(row.before, row.after, for_staff=True)
    assert AuditEvent.objects.filter(action="banks.bank.logo_changed").count() == 1


@pytest.mark.django_db
def test_the_scanner_down_refuses_the_logo_and_stores_nothing(settings, tmp_path):
    settings.CLAMD_ADDRESS = stopped_clamd_address(tmp_path)
    bank = bank_factory()

    with pytest.raises(LogoNotScanned) as caught:
        bank_logo_set(actor=ACTOR, bank=bank, data=png_bytes(), content_type=PNG)

    assert caught.value.code == "antivirus_unavailable"
    bank.refresh_from_db()
    assert bank.logo_digest == ""
    assert not AuditEvent.objects.filter(action__startswith="banks.bank.logo").exists()


@pytest.mark.django_db
def test_without_a_scanner_configured_logos_are_not_scanned(settings):
    # Development and the demo run without clamd (production refuses to start without CLAMD_ADDRESS).
    settings.CLAMD_ADDRESS = ""
    bank = bank_factory()

    bank_logo_set(actor=ACTOR, bank=bank, data=INFECTED_PNG, content_type=PNG)

    bank.refresh_from_db()
    assert bytes(bank.logo) == INFECTED_PNG


# --- Through the provisioning API and the command -------------------------------------------


@pytest.fixture
def group_token(db) -> str:
    _, token = api_key_create(actor=ACTOR, name="group hub", scopes=[ApiScope.PROVISIONING])
    return token


def put_logo(token: str, code: str, data: bytes, content_type: str):
    client = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    return client.put(f"{BASE}/banks/{code}/logo", data, content_type=content_type)


@pytest.mark.django_db
def test_the_api_stores_a_clean_svg_and_refuses_an_infected_one_with_422(scanning, group_token):
    bank = bank_factory()

    assert put_logo(group_token, bank.code, HARMLESS_SVG, SVG).status_code == 200
    response = put_logo(group_token, bank.code, INFECTED_SVG, SVG)

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "logo_malware_found"
    assert body["errors"] == [{"field": "logo", "message": body["detail"]}]
    assert "antivirus" in body["detail"]
    bank.refresh_from_db()
    assert bytes(bank.logo) == HARMLESS_SVG
    (row,) = AuditEvent.objects.filter(action="banks.bank.logo_refused")
    assert row.actor_type == ActorType.API_CLIENT
    assert row.request_id


@pytest.mark.django_db
def test_the_api_answers_503_when_the_scanner_is_down(settings, tmp_path, group_token):
    settings.CLAMD_ADDRESS = stopped_clamd_address(tmp_path)
    bank = bank_factory()

    response = put_logo(group_token, bank.code, png_bytes(), PNG)

    assert response.status_code == 503, response.content
    body = response.json()
    assert body["code"] == "antivirus_unavailable"
    assert "try again later" in body["detail"]
    assert body["errors"] == [{"field": "logo", "message": body["detail"]}]
    bank.refresh_from_db()
    assert bank.logo_digest == ""


@pytest.mark.django_db
def test_the_command_refuses_an_infected_logo_and_one_not_scanned(settings, scanning, tmp_path):
    bank = bank_factory()
    infected = tmp_path / "logo.svg"
    infected.write_bytes(INFECTED_SVG)

    with pytest.raises(CommandError, match="antivirus scanner found"):
        call_command("bank_logo_set", bank.code, str(infected))

    settings.CLAMD_ADDRESS = stopped_clamd_address(tmp_path / "stopped")
    clean = tmp_path / "logo.png"
    clean.write_bytes(png_bytes())
    with pytest.raises(CommandError, match="could not be checked for viruses"):
        call_command("bank_logo_set", bank.code, str(clean))
    bank.refresh_from_db()
    assert bank.logo_digest == ""
