"""A bank's logo: only a real PNG or a script-free, self-contained SVG is stored, audited, and served safely."""

from __future__ import annotations

import hashlib

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from kartosfera.banks.logos import MAX_BYTES, bank_logo_set, logo_check
from kartosfera.banks.models import Bank
from kartosfera.banks.tests.logos import HARMLESS_SVG, SVG_NS, png_bytes, svg_bytes
from kartosfera.core.audit import Actor
from kartosfera.core.errors import ValidationFailed
from kartosfera.core.models import AuditEvent
from kartosfera.testing.factories import bank_factory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
PNG = "image/png"
SVG = "image/svg+xml"


@pytest.fixture(autouse=True)
def english():
    # The reasons are checked by their English words; test_the_reasons_read_in_polish checks the translation.
    with translation.override("en"):
        yield


def refusal(data: bytes, content_type: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        logo_check(data=data, content_type=content_type)
    assert set(caught.value.field_errors) == {"logo"}
    return caught.value.message


# --- What is accepted ---------------------------------------------------------------------


def test_a_png_is_stored_with_its_type_and_sha256_and_audited():
    bank = bank_factory()
    data = png_bytes()

    bank_logo_set(actor=ACTOR, bank=bank, data=data, content_type=PNG)

    bank.refresh_from_db()
    assert bytes(bank.logo) == data
    assert bank.logo_content_type == PNG
    assert bank.logo_digest == hashlib.sha256(data).hexdigest()
    (event,) = AuditEvent.objects.filter(action="banks.bank.logo_changed")
    assert event.bank_id == bank.pk
    assert event.before == {"content_type": "", "digest": ""}
    assert event.after == {"content_type": PNG, "digest": bank.logo_digest, "size": len(data)}


def test_a_drawing_only_svg_is_accepted_and_a_charset_parameter_is_ignored():
    logo = logo_check(data=HARMLESS_SVG, content_type="image/svg+xml; charset=utf-8")

    assert logo.content_type == SVG


def test_the_same_logo_again_changes_nothing_and_writes_no_audit_row():
    bank = bank_factory()
    bank_logo_set(actor=ACTOR, bank=bank, data=png_bytes(), content_type=PNG)

    bank_logo_set(actor=ACTOR, bank=bank, data=png_bytes(), content_type=PNG)

    assert AuditEvent.objects.filter(action="banks.bank.logo_changed").count() == 1


def test_a_png_of_the_largest_accepted_size_passes():
    assert logo_check(data=png_bytes(1024, 1024), content_type=PNG).content_type == PNG


# --- What is refused ------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["image/gif", "image/jpeg", "text/html", "application/octet-stream", ""])
def test_another_content_type_is_refused(content_type):
    assert "image/png or image/svg+xml" in refusal(png_bytes(), content_type)


def test_something_that_is_not_an_image_is_refused():
    assert "not a PNG" in refusal(b"<html><script>alert(1)</script></html>", PNG)
    assert "not an SVG" in refusal(b"<html><script>alert(1)</script></html>", SVG)
    assert "not a valid SVG" in refusal(b"just text", SVG)
    assert "empty" in refusal(b"", PNG)


def test_a_png_sent_as_svg_is_refused():
    assert "send it as image/png" in refusal(png_bytes(), SVG)


def test_an_svg_sent_as_png_is_refused():
    assert "not a PNG" in refusal(HARMLESS_SVG, PNG)


def test_a_truncated_png_is_refused():
    assert "not a valid PNG" in refusal(png_bytes()[:60], PNG)


def test_a_png_larger_than_1024_pixels_is_refused():
    assert "1025x10" in refusal(png_bytes(1025, 10), PNG)


def test_a_file_over_100_kb_is_refused_whatever_it_is():
    padding = "<!--" + "x" * MAX_BYTES + "-->"

    assert "at most 100 KB" in refusal(svg_bytes(padding), SVG)
    assert "at most 100 KB" in refusal(png_bytes() + b"\0" * MAX_BYTES, PNG)


@pytest.mark.parametrize(
    ("svg", "words"),
    [
        (svg_bytes("<script>alert(1)</script>"), "<script>"),
        (svg_bytes('<a:script xmlns:a="http://www.w3.org/2000/svg">alert(1)</a:script>'), "<script>"),
        (svg_bytes('<rect width="1" height="1"/>', ' onload="alert(1)"'), "event handlers"),
        (svg_bytes('<rect onClick="alert(1)" width="1" height="1"/>'), "event handlers"),
        (svg_bytes('<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">x</p></foreignObject>'), "foreignObject"),
        (svg_bytes('<image href="https://tracker.example/p.png"/>'), "outside itself"),
        (
            svg_bytes('<use xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="https://evil.example/s.svg#a"/>'),
            "outside itself",
        ),
        (svg_bytes('<a href="javascript:alert(1)"><rect width="1" height="1"/></a>'), "outside itself"),
        (svg_bytes('<set attributeName="href" to="javascript:alert(1)"/>'), "animate a link"),
        (svg_bytes("<style>@import url(https://evil.example/x.css);</style>"), "url() or @import"),
        (svg_bytes("<style>rect{fill:url('https://evil.example/x.svg#p')}</style>"), "url() or @import"),
        (svg_bytes('<rect style="fill:url(https://evil.example/p)" width="1" height="1"/>'), "url() or @import"),
        (svg_bytes('<rect filter="url(https://evil.example/f.svg#f)" width="1" height="1"/>'), "url() or @import"),
    ],
)
def test_an_svg_that_could_run_or_load_something_is_refused(svg, words):
    assert words in refusal(svg, SVG)


@pytest.mark.parametrize(
    "svg",
    [
        f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg {SVG_NS}>&x;</svg>'.encode(),
        f'<!DOCTYPE svg SYSTEM "http://evil.example/svg.dtd"><svg {SVG_NS}/>'.encode(),
        # A billion laughs stops at the DOCTYPE, before any expansion.
        f'<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><svg {SVG_NS}>&b;</svg>'.encode(),
    ],
)
def test_an_svg_with_a_doctype_or_entities_is_refused(svg):
    assert "DOCTYPE" in refusal(svg, SVG)


def test_the_reasons_read_in_polish():
    with translation.override("pl"):
        assert refusal(svg_bytes("<script>x</script>"), SVG) == "Logo SVG nie może zawierać elementu <script>."
        assert refusal(png_bytes(2000, 10), PNG) == "Logo ma 2000x10 pikseli; przyjmujemy najwyżej 1024x1024."


def test_an_svg_with_a_stylesheet_processing_instruction_is_refused():
    svg = b'<?xml-stylesheet href="https://evil.example/x.css"?>' + HARMLESS_SVG

    assert "processing instructions" in refusal(svg, SVG)


def test_a_refused_logo_leaves_the_bank_and_the_audit_log_unchanged():
    bank = bank_factory()
    bank_logo_set(actor=ACTOR, bank=bank, data=png_bytes(), content_type=PNG)

    with pytest.raises(ValidationFailed):
        bank_logo_set(actor=ACTOR, bank=bank, data=svg_bytes("<script>x</script>"), content_type=SVG)

    bank.refresh_from_db()
    assert bytes(bank.logo) == png_bytes()
    assert AuditEvent.objects.filter(action="banks.bank.logo_changed").count() == 1


# --- Serving ---------------------------------------------------------------------------------


def test_a_png_logo_is_served_with_its_type_nosniff_and_an_immutable_cache(client):
    bank = bank_logo_set(actor=ACTOR, bank=bank_factory(), data=png_bytes(), content_type=PNG)

    response = client.get(bank.logo_url)

    assert bank.logo_url == f"/banks/{bank.code}/logo/{bank.logo_digest}/"
    assert response.status_code == 200
    assert response.content == png_bytes()
    assert response["Content-Type"] == PNG
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"


def test_an_svg_logo_is_served_sandboxed_with_no_other_source_allowed(client):
    bank = bank_logo_set(actor=ACTOR, bank=bank_factory(), data=HARMLESS_SVG, content_type=SVG)

    response = client.get(bank.logo_url)

    assert response.status_code == 200
    assert response["Content-Type"] == f"{SVG}; charset=utf-8"
    assert response["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_signed_in_cardholder_gets_the_logo_cacheable_too(client, cardholder):
    bank = bank_logo_set(actor=ACTOR, bank=bank_factory(), data=png_bytes(), content_type=PNG)
    client.force_login(cardholder.user)

    response = client.get(bank.logo_url)

    assert response["Cache-Control"] == "public, max-age=31536000, immutable"


def test_an_old_or_unknown_digest_is_a_404(client):
    bank = bank_logo_set(actor=ACTOR, bank=bank_factory(), data=png_bytes(), content_type=PNG)
    old_url = bank.logo_url
    bank = bank_logo_set(actor=ACTOR, bank=bank, data=png_bytes(colour="#003366"), content_type=PNG)

    assert client.get(old_url).status_code == 404
    assert client.get(bank.logo_url).status_code == 200
    other = bank_factory("BS-INNY")
    assert client.get(reverse("banks:logo", kwargs={"code": other.code, "digest": bank.logo_digest})).status_code == 404


def test_a_bank_without_a_logo_has_no_logo_url():
    assert bank_factory().logo_url == ""


def test_the_logo_is_read_only(client):
    bank = bank_logo_set(actor=ACTOR, bank=bank_factory(), data=png_bytes(), content_type=PNG)

    assert client.post(bank.logo_url).status_code == 405


# --- manage.py bank_logo_set ------------------------------------------------------------------


def test_the_command_sets_the_logo_from_a_file(tmp_path):
    bank = bank_factory()
    path = tmp_path / "logo.svg"
    path.write_bytes(HARMLESS_SVG)

    call_command("bank_logo_set", bank.code, str(path))

    assert Bank.objects.get(pk=bank.pk).logo_content_type == SVG
    (event,) = AuditEvent.objects.filter(action="banks.bank.logo_changed")
    assert event.actor_label == "manage.py bank_logo_set"


def test_the_command_refuses_a_bad_image_and_an_unknown_bank(tmp_path):
    bank = bank_factory()
    path = tmp_path / "logo.png"
    path.write_bytes(b"GIF89a")

    with pytest.raises(CommandError, match="not a PNG"):
        call_command("bank_logo_set", bank.code, str(path))
    with pytest.raises(CommandError, match="No bank"):
        call_command("bank_logo_set", "NOPE", str(path))
    assert Bank.objects.get(pk=bank.pk).logo is None
