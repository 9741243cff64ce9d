"""The development shop (/dev/shop/): DEBUG only; the AReq over real HTTP to the ACS API, then the card core."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import stat
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pydantic import ValidationError

from kartosfera.acs.dev_shop import (
    DEV_ACS_KEY_NAME,
    SHOP_MERCHANTS_BY_KEY,
    Order,
    areq_body,
    b64url_encode,
    creq_for,
    dev_acs_token,
    new_order,
)
from kartosfera.acs.directory import rreq_deliver
from kartosfera.acs.models import AuthenticationRecord
from kartosfera.acs.schemas import AReqIn, notification_url_allowed
from kartosfera.acs.services import challenge_end
from kartosfera.acs.tests.helpers import areq_fields, with_threeds_pin
from kartosfera.api.models import ApiKey, ApiScope
from kartosfera.cards.models import Brand, CardStatus
from kartosfera.cards.services import card_transition
from kartosfera.cards.states import StatusReason
from kartosfera.core.tests.test_settings import PRODUCTION, ROOT
from kartosfera.processing.models import Authorization
from kartosfera.processing.tests.helpers import active_card
from kartosfera.secure3d.models import TrustedMerchant
from kartosfera.testing import factories

SHOP = reverse("acs_dev:shop")
NOTIFICATION = reverse("acs_dev:shop_notification")
RESULT = reverse("acs_dev:shop_result")


@pytest.fixture
def dev(settings, tmp_path):
    settings.DEBUG = True
    settings.DEV_PROCESSOR_KEY_PATH = tmp_path / "var" / "dev-processor-key"
    settings.DEV_ACS_KEY_PATH = tmp_path / "var" / "dev-acs-key"
    return settings


def _live_client(live_server) -> Client:
    """A client whose requests name the live server's host: the shop calls that server's APIs over HTTP."""
    client = Client(HTTP_HOST=urlsplit(live_server.url).netloc)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _pay(client: Client, the_card, **overrides):
    data = {"card": the_card.pk, "merchant": "allegro", "amount": "42,50", "currency": "PLN"}
    data.update(overrides)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.post(SHOP, data)


def _b64url(data: object, *, padded: bool = False) -> str:
    text = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    return text if padded else text.rstrip("=")


# --- Only in development ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [SHOP, NOTIFICATION, RESULT])
def test_every_shop_url_is_404_without_debug(client, url):
    assert client.get(url).status_code == 404
    assert client.post(url, {"cres": "x", "threeDSSessionData": "x", "amount": "1"}).status_code == 404


@pytest.mark.django_db
def test_the_shop_is_404_in_production_even_with_debug(client, settings):
    settings.DEBUG, settings.IS_PRODUCTION = True, True
    assert client.get(SHOP).status_code == 404


# --- The notificationURL rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://merchant.example/3ds/notify", True),
        ("http://127.0.0.1:8000/dev/shop/notification/", True),
        ("http://localhost:41234/dev/shop/notification/", True),
        ("http://[::1]:8000/notify", True),
        ("http://merchant.example/notify", False),
        ("http://localhost.merchant.example/notify", False),
        ("http://127.0.0.1@merchant.example/notify", False),
        ("http://127.0.0.1:99999/notify", False),
        ("ftp://127.0.0.1/notify", False),
        ("https://", False),
        ("notify", False),
    ],
)
def test_http_is_allowed_only_to_this_machine_when_the_setting_allows_it(settings, url, allowed):
    settings.ACS_NOTIFICATION_HTTP_LOOPBACK = True
    assert notification_url_allowed(url) is allowed


@pytest.mark.django_db
def test_without_the_setting_as_in_production_a_loopback_http_notification_url_is_refused(settings):
    tc = active_card()
    loopback = "http://127.0.0.1:8000/dev/shop/notification/"
    settings.ACS_NOTIFICATION_HTTP_LOOPBACK = False
    with pytest.raises(ValidationError, match="notificationURL"):
        AReqIn.model_validate(areq_fields(tc, notificationURL=loopback))
    assert AReqIn.model_validate(areq_fields(tc, notificationURL="https://shop.example/n")).notificationURL
    settings.ACS_NOTIFICATION_HTTP_LOOPBACK = True
    assert AReqIn.model_validate(areq_fields(tc, notificationURL=loopback)).notificationURL == loopback


@pytest.mark.parametrize(("mode", "allowed"), [("production", "False"), ("development", "True"), ("test", "True")])
def test_http_to_this_machine_is_allowed_in_development_and_tests_never_in_production(mode, allowed):
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "DEBUG"}
    env.update(PRODUCTION if mode == "production" else {"KARTOSFERA_ENV": mode})
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.ACS_NOTIFICATION_HTTP_LOOPBACK)"
    )
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed script)
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == allowed


# --- The AReq the shop builds ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("challenge", "indicator"), [(False, "01"), (True, "04")])
def test_the_areq_is_schema_valid_and_names_the_merchant_as_the_authorization_will(dev, challenge, indicator):
    tc = active_card(brand=Brand.MASTERCARD)
    merchant = SHOP_MERCHANTS_BY_KEY["booking"]
    order = new_order(card=tc.card, merchant=merchant, amount_minor=12_345, currency="EUR")
    body = areq_body(
        order=order,
        card=tc.card,
        challenge=challenge,
        notification_url="http://127.0.0.1:8000/dev/shop/notification/",
        language="pl",
        now=dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.UTC),
    )
    areq = AReqIn.model_validate(body)
    assert areq.acctNumber == tc.pan
    assert (areq.purchaseAmount, areq.purchaseCurrency, areq.purchaseExponent) == ("12345", "978", "2")
    assert (areq.merchantCountryCode, areq.mcc, areq.acquirerMerchantID) == ("528", "4722", "MBOOKING")
    assert areq.threeDSRequestorChallengeInd == indicator
    assert areq.purchaseDate == "20261130091500"
    assert (areq.threeDSServerTransID, areq.dsTransID) == (order.three_ds_server_trans_id, order.ds_trans_id)
    assert areq.cardExpiryDate == f"{tc.card.expiry:%y%m}"


@pytest.mark.django_db
def test_the_order_travels_signed_and_without_the_card_number(dev):
    tc = active_card()
    order = new_order(card=tc.card, merchant=SHOP_MERCHANTS_BY_KEY["pkp"], amount_minor=5_000, currency="PLN")
    signed = order.sign()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", signed) and len(signed) <= 1024
    assert tc.pan not in base64.urlsafe_b64decode(signed + "=" * (-len(signed) % 4)).decode()
    assert Order.unsign(signed) == order
    assert Order.unsign(signed[:-2] + ("AA" if signed[-2:] != "AA" else "BB")) is None
    assert Order.unsign("") is None and Order.unsign("!!!") is None


@pytest.mark.django_db
def test_the_acs_key_is_a_group_acs_key_kept_for_the_owner_only(dev):
    token = dev_acs_token()
    key = ApiKey.objects.get()
    assert key.name == DEV_ACS_KEY_NAME and key.scopes == [ApiScope.ACS] and key.bank_id is None
    assert stat.S_IMODE(dev.DEV_ACS_KEY_PATH.stat().st_mode) == 0o600
    assert dev_acs_token() == token and ApiKey.objects.count() == 1


# --- The checkout ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_checkout_offers_online_shops_and_cards_by_last_digits_only(client, dev):
    tc = active_card()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(SHOP).content.decode()
    assert f"•••• {tc.pan[-4:]}" in page and tc.pan not in page
    assert 'value="allegro"' in page and 'value="biedronka"' not in page
    assert reverse("notifications:outbox") in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "dużo"}, "Enter an amount"),
        ({"amount": "0"}, "Enter an amount greater than zero."),
        ({"merchant": "biedronka"}, "Select a valid choice."),
        ({"currency": "USD"}, "Select a valid choice."),
        ({"card": "999999"}, "Select a valid choice."),
    ],
)
def test_bad_input_gets_a_clear_message_and_sends_nothing(client, dev, overrides, message):
    tc = active_card()
    response = _pay(client, tc.card, **overrides)
    assert response.status_code == 200 and message in response.content.decode()
    assert not AuthenticationRecord.objects.exists() and not ApiKey.objects.exists()


@pytest.mark.django_db
def test_an_unreachable_acs_is_a_clear_message_not_a_500(client, dev):
    tc = active_card()
    # The test client's host "testserver" does not resolve: the HTTP call fails.
    response = _pay(client, tc.card)
    assert response.status_code == 200
    assert "The 3-D Secure server (ACS) could not be reached." in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_trusted_shop_is_frictionless_and_the_payment_approved(live_server, dev):
    tc = active_card(brand=Brand.VISA, internet_limit_default_minor=100_000)
    TrustedMerchant.objects.create(customer=tc.card.customer, merchant_id="MALLEGRO", name="Allegro.pl", country="PL")
    response = _pay(_live_client(live_server), tc.card, amount="420,00")
    page = response.content.decode()
    record = AuthenticationRecord.objects.get()
    assert (record.trans_status, record.decision_rule) == ("Y", "trusted_merchant")
    authorization = Authorization.objects.get()
    assert authorization.approved and authorization.channel == "ecommerce" and authorization.amount_minor == 42_000
    assert authorization.processor_id == f"shop-{record.three_ds_server_trans_id}"
    assert "Approved" in page and "Authenticated without a challenge (frictionless)" in page
    assert authorization.authorization_code in page and "PLN\xa0420.00" in page
    assert tc.pan not in page


@pytest.mark.django_db(transaction=True)
def test_a_low_value_payment_is_frictionless_in_polish_amounts(live_server, dev):
    tc = active_card(brand=Brand.MASTERCARD, internet_limit_default_minor=100_000)
    client = _live_client(live_server)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"
    response = client.post(SHOP, {"card": tc.card.pk, "merchant": "spotify", "amount": "19,99", "currency": "PLN"})
    page = response.content.decode()
    assert AuthenticationRecord.objects.get().decision_rule == "low_value"
    assert Authorization.objects.get().approved, Authorization.objects.get().decline_reason
    assert "19,99\xa0zł" in page and tc.pan not in page


@pytest.mark.django_db(transaction=True)
def test_a_challenge_opens_the_acs_page_in_a_named_titled_frame_with_the_creq(live_server, dev):
    tc = active_card(internet_limit_default_minor=100_000)
    with_threeds_pin(tc)
    response = _pay(_live_client(live_server), tc.card, challenge="on")
    page = response.content.decode()
    record = AuthenticationRecord.objects.get()
    assert record.trans_status == "C" and not Authorization.objects.exists()
    assert re.search(r'<iframe name="challenge-frame" id="challenge-frame" title="[^"]+"', page)
    form = re.search(r'<form method="post" action="([^"]+)" target="challenge-frame" data-autosubmit', page)
    assert form and form.group(1) == f"{live_server.url}/acs/challenge"
    creq = re.search(r'name="creq" value="([^"]+)"', page)
    assert creq
    order = Order(
        card_id=tc.card.pk,
        merchant_key="allegro",
        amount_minor=4_250,
        currency="PLN",
        three_ds_server_trans_id=str(record.three_ds_server_trans_id),
        ds_trans_id=record.areq["dsTransID"],
        acs_trans_id=str(record.acs_trans_id),
    )
    assert creq.group(1) == creq_for(order)
    session_data = re.search(r'name="threeDSSessionData" value="([^"]+)"', page)
    assert session_data and Order.unsign(session_data.group(1)) == order
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-src 'self'" in response["Content-Security-Policy"]
    assert "<script src=" in page and "<script>" not in page and tc.pan not in page


@pytest.mark.django_db(transaction=True)
def test_locked_internet_payments_are_not_authenticated_and_the_card_core_declines(live_server, dev):
    tc = active_card()
    with_threeds_pin(tc, locked_until=timezone.now() + dt.timedelta(hours=1))
    page = _pay(_live_client(live_server), tc.card).content.decode()
    record = AuthenticationRecord.objects.get()
    assert (record.trans_status, record.trans_status_reason) == ("N", "19")
    # Sent without 3-D Secure, as a merchant may: the card core's own lock declines it.
    authorization = Authorization.objects.get()
    assert not authorization.approved and authorization.decline_reason == "internet_payments_locked"
    assert "Not authenticated" in page and "Internet payments are locked after wrong 3DS PINs" in page
    assert "Declined" in page and "internet_payments_locked" in page and tc.pan not in page


@pytest.mark.django_db(transaction=True)
def test_a_lost_card_is_rejected_and_no_authorization_is_sent(live_server, dev):
    tc = active_card()
    card_transition(actor=factories.SYSTEM, card=tc.card, to_status=CardStatus.CANCELLED, reason=StatusReason.LOST)
    page = _pay(_live_client(live_server), tc.card).content.decode()
    assert AuthenticationRecord.objects.get().trans_status == "R"
    assert not Authorization.objects.exists()
    assert "Rejected by the bank" in page and "the shop must not send the payment" in page


# --- The notificationURL ---------------------------------------------------------------------------------


def _challenge_order(tc) -> Order:
    order = new_order(card=tc.card, merchant=SHOP_MERCHANTS_BY_KEY["allegro"], amount_minor=4_250, currency="PLN")
    return Order(**{**order.__dict__, "acs_trans_id": "5e0f1b8e-3c1a-4a8e-9d55-1f2a3b4c5d6e"})


def _cres(order: Order, **overrides: object) -> dict[str, object]:
    cres: dict[str, object] = {
        "messageType": "CRes",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": order.three_ds_server_trans_id,
        "acsTransID": order.acs_trans_id,
        "challengeCompletionInd": "Y",
        "transStatus": "Y",
    }
    cres.update(overrides)
    return cres


@pytest.mark.django_db
@pytest.mark.parametrize("padded", [False, True])
def test_the_notification_reads_the_cres_and_leads_back_to_the_shop_from_the_frame(client, dev, padded):
    tc = active_card()
    order = _challenge_order(tc)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        NOTIFICATION, {"cres": _b64url(_cres(order), padded=padded), "threeDSSessionData": order.sign()}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Authentication finished" in page and "The bank has confirmed it is you." in page
    assert re.search(rf'<form method="post" action="{RESULT}" target="_top" data-autosubmit', page)
    assert Order.unsign(re.search(r'name="threeDSSessionData" value="([^"]+)"', page).group(1)) == order
    # Framed by the shop's own page only.
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in page and tc.pan not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cres", "session", "message"),
    [
        ("", "order", "not base64url-encoded JSON"),
        ("%%%not-base64%%%", "order", "not base64url-encoded JSON"),
        (base64.urlsafe_b64encode(b"not json").decode(), "order", "not base64url-encoded JSON"),
        (b64url_encode({"messageType": "CReq"}), "order", "is not a CRes message"),
        ("other_transaction", "order", "is for another payment"),
        ("other_acs_transaction", "order", "is for another payment"),
        ("no_status", "order", "has no valid transStatus"),
        ("valid", "", "The order (threeDSSessionData) is missing, changed or too old."),
        ("valid", "tampered", "The order (threeDSSessionData) is missing, changed or too old."),
    ],
)
def test_the_notification_refuses_junk_with_a_clear_400(client, dev, cres, session, message):
    tc = active_card()
    order = _challenge_order(tc)
    cres_text = {
        "valid": b64url_encode(_cres(order)),
        "other_transaction": b64url_encode(_cres(order, threeDSServerTransID="00000000-0000-4000-8000-000000000000")),
        "other_acs_transaction": b64url_encode(_cres(order, acsTransID="00000000-0000-4000-8000-000000000000")),
        "no_status": b64url_encode(_cres(order, transStatus="C")),
    }.get(cres, cres)
    session_text = {"order": order.sign(), "tampered": order.sign()[:-3] + "xyz"}.get(session, session)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(NOTIFICATION, {"cres": cres_text, "threeDSSessionData": session_text})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'action="/dev/shop/result/"' not in response.content.decode()


@pytest.mark.django_db
def test_the_notification_takes_only_post(client, dev):
    assert client.get(NOTIFICATION).status_code == 405


@pytest.mark.django_db
def test_the_result_refuses_a_missing_or_changed_order_with_a_clear_400(client, dev):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(RESULT, {"threeDSSessionData": "junk"})
    assert response.status_code == 400
    assert "The order is missing, changed or too old" in response.content.decode()
    assert not Authorization.objects.exists()


# --- The result after a challenge ------------------------------------------------------------------------


def _challenge_started(client: Client, tc) -> tuple[AuthenticationRecord, str]:
    page = _pay(client, tc.card, challenge="on").content.decode()
    session_data = re.search(r'name="threeDSSessionData" value="([^"]+)"', page)
    assert session_data
    return AuthenticationRecord.objects.get(), session_data.group(1)


def _challenge_ended(record: AuthenticationRecord, **how: Any) -> None:
    """The ACS ends the challenge and delivers the RReq to the in-process directory server."""
    challenge_end(actor=factories.SYSTEM, record=record, **how)
    rreq_deliver(record_id=record.pk)
    record.refresh_from_db()
    assert record.rreq_status == "delivered"


@pytest.mark.django_db(transaction=True)
def test_the_result_waits_for_the_rreq_then_authorizes_once_with_its_value(live_server, dev):
    tc = active_card(internet_limit_default_minor=100_000)
    with_threeds_pin(tc)
    client = _live_client(live_server)
    record, session_data = _challenge_started(client, tc)

    # The challenge has not ended: no RReq has reached the directory server, nothing is authorized.
    waiting = client.post(RESULT, {"threeDSSessionData": session_data})
    assert waiting.status_code == 200
    assert "no RReq yet" in waiting.content.decode() and 'name="threeDSSessionData"' in waiting.content.decode()
    assert not Authorization.objects.exists()

    _challenge_ended(record, authenticated=True)
    page = client.post(RESULT, {"threeDSSessionData": session_data}).content.decode()
    authorization = Authorization.objects.get()
    assert authorization.approved and authorization.authentication_id == record.pk
    assert "Approved" in page and "Authenticated by the cardholder (3DS PIN and SMS code)" in page
    assert authorization.authorization_code in page and tc.pan not in page
    # Sent again (a reload): the processor API's retry of the same authorization, not a second payment.
    again = client.post(RESULT, {"threeDSSessionData": session_data}).content.decode()
    assert Authorization.objects.count() == 1 and authorization.authorization_code in again


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_challenge_is_not_authenticated_and_the_card_core_wants_sca(live_server, dev):
    tc = active_card(internet_limit_default_minor=100_000)
    with_threeds_pin(tc)
    client = _live_client(live_server)
    record, session_data = _challenge_started(client, tc)
    _challenge_ended(record, authenticated=False, reason="01")
    page = client.post(RESULT, {"threeDSSessionData": session_data}).content.decode()
    authorization = Authorization.objects.get()
    assert not authorization.approved and authorization.decline_reason == "sca_required"
    assert (
        "Not authenticated" in page and "The cardholder cancelled the confirmation." in page and "sca_required" in page
    )
