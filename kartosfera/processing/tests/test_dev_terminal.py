"""The development payment terminal (/dev/terminal/): DEBUG only, real HTTP to the processor API."""

from __future__ import annotations

import stat
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from kartosfera.acs.models import AuthenticationRecord, RecordStatus
from kartosfera.api.models import ApiKey
from kartosfera.cards.models import Brand, Card
from kartosfera.demo.bank import DEMO_CARD_PIN, card_reference, demo_bank_load
from kartosfera.processing.models import Authorization
from kartosfera.processing.terminal import DEV_KEY_NAME, dev_processor_token
from kartosfera.processing.tests.helpers import PIN, active_card

TERMINAL = reverse("processing_dev:terminal")


@pytest.fixture
def dev(settings, tmp_path):
    settings.DEBUG = True
    settings.DEV_PROCESSOR_KEY_PATH = tmp_path / "var" / "dev-processor-key"
    return settings


def _live_client(live_server) -> Client:
    """A client whose requests name the live server's host, so the terminal calls that server over HTTP."""
    return Client(HTTP_HOST=urlsplit(live_server.url).netloc)


def _pay(client: Client, the_card, **overrides):
    data = {
        "card": the_card.pk,
        "merchant": "biedronka",
        "amount": "42,50",
        "currency": "PLN",
        "channel": "contactless",
    }
    data.update(overrides)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client.post(TERMINAL, data)


@pytest.mark.django_db
def test_the_terminal_is_404_without_debug(client):
    assert client.get(TERMINAL).status_code == 404
    assert client.post(TERMINAL, {"amount": "1"}).status_code == 404


@pytest.mark.django_db
def test_the_terminal_lists_cards_by_holder_and_last_digits_never_the_number(client, dev):
    tc = active_card()
    response = client.get(TERMINAL)
    page = response.content.decode()
    assert response.status_code == 200
    assert f"{tc.card.customer.full_name} — {tc.card.product.name} •••• {tc.pan[-4:]}" in page
    assert tc.pan not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "dużo"}, "Enter an amount"),
        ({"amount": "0"}, "Enter an amount greater than zero."),
        ({"channel": "chip_pin"}, "Enter the PIN: 4 to 12 digits."),
        ({"channel": "contactless_pin"}, "Enter the PIN: 4 to 12 digits."),
        ({"channel": "online_low_value", "pin": "1234"}, "This way of paying takes no PIN; leave the PIN empty."),
        ({"channel": "atm", "pin": "12ab"}, "Enter the PIN: 4 to 12 digits."),
        ({"pin": "1234"}, "This way of paying takes no PIN; leave the PIN empty."),
        ({"merchant": "nowhere"}, "Select a valid choice."),
        ({"card": "999999"}, "Select a valid choice."),
    ],
)
def test_bad_input_gets_a_clear_message_and_sends_nothing(client, dev, overrides, message):
    tc = active_card()
    response = _pay(client, tc.card, **overrides)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Authorization.objects.exists()
    assert not ApiKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_tap_goes_over_http_and_the_page_shows_the_approval(live_server, dev):
    tc = active_card()
    response = _pay(_live_client(live_server), tc.card)
    page = response.content.decode()
    authorization = Authorization.objects.get()
    assert authorization.approved and authorization.channel == "pos_contactless"
    assert authorization.amount_minor == 4_250 and authorization.mcc == "5411"
    assert "Approved" in page and authorization.authorization_code in page
    assert tc.pan not in page
    # The terminal made its own processor key and keeps the token for the owner only.
    key_file = dev.DEV_PROCESSOR_KEY_PATH
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert ApiKey.objects.get().name == DEV_KEY_NAME
    # The next payment reuses the key.
    _pay(_live_client(live_server), tc.card, amount="5")
    assert ApiKey.objects.count() == 1 and Authorization.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_decline_shows_its_code_and_reason_in_plain_words(live_server, dev):
    tc = active_card(brand=Brand.VISA)
    response = _pay(_live_client(live_server), tc.card, channel="chip_pin", pin="9999")
    page = response.content.decode()
    assert Authorization.objects.get().decline_reason == "pin_wrong"
    assert "Declined" in page and "55" in page and "pin_wrong" in page
    assert "9999" not in page and tc.pan not in page


@pytest.mark.django_db(transaction=True)
def test_the_right_pin_and_a_euro_payment_on_a_zloty_account_are_approved(live_server, dev):
    tc = active_card()
    _pay(_live_client(live_server), tc.card, channel="chip_pin", pin=PIN, merchant="lidl_berlin", currency="EUR")
    authorization = Authorization.objects.get()
    assert authorization.approved and authorization.currency == "EUR"
    assert (
        authorization.billing_currency == "PLN" and authorization.billing_amount_minor == 18_211
    )  # 42.50 EUR at 4.285


@pytest.mark.django_db(transaction=True)
def test_a_tap_soft_declined_for_its_pin_is_paid_again_with_it_and_online_can_claim_low_value(live_server, dev):
    tc = active_card(brand=Brand.VISA, internet_limit_default_minor=100_000)
    Card.objects.filter(pk=tc.card.pk).update(psd2_contactless_count=5)  # five taps without a PIN already
    page = _pay(_live_client(live_server), tc.card).content.decode()
    assert Authorization.objects.get().decline_reason == "contactless_pin_required"
    assert "Declined" in page and "70" in page and "needs the card&#x27;s PIN" in page
    # As a terminal does after that answer: the same tap with the PIN.
    _pay(_live_client(live_server), tc.card, channel="contactless_pin", pin=PIN)
    again = Authorization.objects.latest("pk")
    assert again.approved and again.channel == "pos_contactless"
    assert tc.refresh().psd2_contactless_count == 0
    _pay(_live_client(live_server), tc.card, channel="online_low_value", merchant="allegro", amount="19,99")
    online = Authorization.objects.latest("pk")
    assert online.approved and (online.channel, online.sca_exemption) == ("ecommerce", "low_value")
    assert tc.refresh().psd2_remote_count == 1


@pytest.mark.django_db
def test_an_unreachable_api_is_a_clear_message_not_a_500(client, dev):
    tc = active_card()
    # The test client's host "testserver" does not resolve: the HTTP call fails.
    response = _pay(client, tc.card)
    assert response.status_code == 200
    assert "The processor API could not be reached." in response.content.decode()
    assert not Authorization.objects.exists()


@pytest.mark.django_db
def test_a_stale_key_file_gets_a_new_key(dev):
    dev.DEV_PROCESSOR_KEY_PATH.parent.mkdir(parents=True)
    stale = "kfk_000000000000_" + "0" * 64
    dev.DEV_PROCESSOR_KEY_PATH.write_text(stale)
    token = dev_processor_token()
    assert token != stale and ApiKey.objects.count() == 1
    assert dev.DEV_PROCESSOR_KEY_PATH.read_text() == token
    assert dev_processor_token() == token and ApiKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_demo_card_withdraws_cash_at_the_atm_with_the_printed_demo_pin(live_server, dev):
    demo_bank_load()
    # Anna Kowalska's Visa Classic Debit, as the printed logins list it.
    card = Card.objects.get(reference=card_reference(1))
    client = _live_client(live_server)

    right = _pay(client, card, channel="atm", merchant="atm_warszawa", amount="100", pin=DEMO_CARD_PIN)
    wrong = _pay(client, card, channel="atm", merchant="atm_warszawa", amount="100", pin="8642")

    first, second = Authorization.objects.order_by("pk")
    assert (first.approved, first.response_code, first.channel) == (True, "00", "atm")
    assert (second.approved, second.decline_reason) == (False, "pin_wrong")
    assert "Approved" in right.content.decode() and "pin_wrong" in wrong.content.decode()


@pytest.mark.django_db
def test_the_pin_field_tells_the_demo_pin(client, dev):
    active_card()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert f"The demo bank&#x27;s cards have the PIN {DEMO_CARD_PIN}" in client.get(TERMINAL).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pl"
    assert f"mają PIN {DEMO_CARD_PIN}" in client.get(TERMINAL).content.decode()


@pytest.mark.django_db(transaction=True)
def test_online_with_3d_secure_asks_our_acs_and_sends_a_frictionless_ys_value(live_server, dev):
    tc = active_card(brand=Brand.MASTERCARD, internet_limit_default_minor=100_000)
    page = _pay(_live_client(live_server), tc.card, channel="online", merchant="allegro", amount="19,99")
    authorization = Authorization.objects.get()
    assert authorization.approved and authorization.sca_exemption == "low_value"
    record = AuthenticationRecord.objects.get()
    assert (record.trans_status, record.exemption, record.status) == ("Y", "low_value", RecordStatus.USED)
    assert authorization.authentication_id == record.pk and record.acquirer_merchant_id == authorization.merchant_id
    assert "Approved" in page.content.decode()


@pytest.mark.django_db
def test_online_with_3d_secure_that_needs_a_challenge_sends_nothing_and_points_to_the_shop(client, dev):
    tc = active_card(internet_limit_default_minor=100_000)
    # Above the low-value exemption: the ACS asks the holder. No authorization is sent (the API is not even
    # reachable from this client: a sent one would be an error message).
    page = _pay(client, tc.card, channel="online", merchant="allegro", amount="250").content.decode()
    assert "The holder must confirm this payment" in page and 'href="/dev/shop/"' in page
    assert "could not be reached" not in page
    assert not Authorization.objects.exists()
    assert AuthenticationRecord.objects.get().status == RecordStatus.CHALLENGE_PENDING
