"""The holder's page, the banner on every page, the BS Pay app's endpoint and the back office's view of the stop."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.translation import gettext as _

from kartosfera.backoffice.roles import StaffRole
from kartosfera.blik.selectors import blik_state
from kartosfera.cards.operations_services import card_activate
from kartosfera.core.audit import Actor
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.models import BankMembership, Customer, StopChannel
from kartosfera.demo.identifiers import make_pan
from kartosfera.devices.tests.app_client import AppClient
from kartosfera.devices.tests.helpers import device_for
from kartosfera.notifications.backends import locmem
from kartosfera.processing.models import Channel
from kartosfera.processing.tests.helpers import CardFixture, decide
from kartosfera.profile.tests.conftest import ANNAS_PHONE, anna, bob, staff_client
from kartosfera.sca.models import SmsChallenge
from kartosfera.sca.tests.helpers import challenge_from, code_sent_to, wrong
from kartosfera.stops.services import customer_stop
from kartosfera.testing import factories
from kartosfera.testing import staff as staff_testing

__all__ = ["anna", "bob", "staff_client"]

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = reverse("stops:index")
BANK = Actor.system("tests")
STAFF = Actor(type=ActorType.STAFF, id="0", label="tests")


def _stopped(person) -> bool:
    return Customer.objects.get(pk=person.customer.pk).payments_stopped


def test_the_page_explains_the_stop_and_offers_it(anna):
    page = anna.get(PAGE).content.decode()

    assert 'id="stop-state" data-stopped="false"' in page and 'id="stop-now"' in page
    assert 'id="stop-banner"' not in page


def test_stopping_runs_at_once_with_no_code_and_the_banner_shows_on_every_page(anna, cardholder, card):
    response = anna.post(PAGE, {"action": "stop"})

    assert response.status_code == 302 and response["Location"] == PAGE
    assert _stopped(cardholder)
    assert not locmem.outbox and not SmsChallenge.objects.exists()
    assert AuditEvent.objects.get(action="stops.payments.stopped").after["channel"] == StopChannel.PORTAL
    for url in (reverse("portal:card_list"), reverse("profile:index"), reverse("blik:index")):
        page = anna.get(url).content.decode()
        assert 'id="stop-banner"' in page, url
        assert PAGE in page
    # The stop's own page says it in its own words, not with the banner.
    page = anna.get(PAGE).content.decode()
    assert 'data-stopped="true"' in page and 'id="stop-banner"' not in page and 'id="stop-lift"' in page


def test_lifting_needs_the_sms_code(anna, cardholder):
    customer_stop(actor=BANK, customer=cardholder.customer, channel=StopChannel.PORTAL)

    response = anna.post(PAGE, {"action": "lift"})

    challenge = challenge_from(response)
    assert challenge.operation == "stops.payments.set"
    assert _stopped(cardholder)
    code = code_sent_to(ANNAS_PHONE)
    anna.post(response["Location"], {"code": wrong(code)})
    assert _stopped(cardholder)

    done = anna.post(response["Location"], {"code": code})

    assert done.status_code == 302 and done["Location"] == PAGE
    assert not _stopped(cardholder)
    lifted = AuditEvent.objects.get(action="stops.payments.stop_lifted")
    assert lifted.customer_id == cardholder.customer.pk and lifted.after["lifted_channel"] == StopChannel.PORTAL
    # A portal lift leaves BLIK off, and says how to switch it on.
    assert not blik_state(cardholder.customer).enabled
    page = anna.get(PAGE).content.decode()
    assert _("BLIK stays off: you can switch it on in the BS Pay app.") in page


def test_no_code_is_sent_to_lift_a_stop_that_is_not_there(anna, cardholder):
    response = anna.post(PAGE, {"action": "lift"}, follow=True)

    assert response.status_code == 200
    assert _("Payments are not stopped.") in response.content.decode()
    assert not locmem.outbox and not SmsChallenge.objects.exists()


def test_stopping_again_is_a_message_not_a_500(anna, cardholder):
    customer_stop(actor=BANK, customer=cardholder.customer, channel=StopChannel.PORTAL)

    response = anna.post(PAGE, {"action": "stop"}, follow=True)

    assert response.status_code == 200
    assert _("All payments are already stopped.") in response.content.decode()
    assert AuditEvent.objects.filter(action="stops.payments.stopped").count() == 1


def test_bad_input_is_a_message_and_changes_nothing(anna, cardholder):
    response = anna.post(PAGE, {"action": "everything"}, follow=True)

    assert response.status_code == 200
    assert _("Choose whether to stop all payments or lift the stop.") in response.content.decode()
    assert not _stopped(cardholder)


def test_one_customer_stops_only_their_own_payments(bob, cardholder, second_cardholder):
    bob.post(PAGE, {"action": "stop"})

    assert _stopped(second_cardholder) and not _stopped(cardholder)


def test_a_customer_cannot_lift_another_customers_stop(bob, cardholder, second_cardholder):
    second_cardholder.user.portal_phone = "+48601000222"
    second_cardholder.user.save(update_fields=["portal_phone"])
    bob.force_login(second_cardholder.user)  # a new portal phone ends the sessions signed in before it (ASVS 7.4.3)
    customer_stop(actor=BANK, customer=cardholder.customer, channel=StopChannel.PORTAL)

    response = bob.post(PAGE, {"action": "lift"}, follow=True)

    assert _("Payments are not stopped.") in response.content.decode()
    assert _stopped(cardholder) and not SmsChallenge.objects.exists()


def test_anonymous_visitors_and_staff_get_no_page(client, staff_client):
    response = client.get(PAGE)
    assert response.status_code == 302 and reverse("users:login") in response["Location"]
    assert staff_client.get(PAGE).status_code == 403
    assert staff_client.post(PAGE, {"action": "stop"}).status_code == 403


def test_wrong_method_is_refused(anna):
    assert anna.put(PAGE).status_code == 405


def test_the_banner_costs_no_query(anna, cardholder, card):
    card_list = reverse("portal:card_list")
    anna.get(card_list)
    with CaptureQueriesContext(connection) as before:
        anna.get(card_list)
    customer_stop(actor=BANK, customer=cardholder.customer, channel=StopChannel.PORTAL)
    with CaptureQueriesContext(connection) as stopped:
        page = anna.get(card_list).content.decode()

    assert 'id="stop-banner"' in page
    assert len(stopped) == len(before)


# --- The BS Pay app --------------------------------------------------------------------------


@pytest.fixture
def app(cardholder) -> AppClient:
    cardholder.user.portal_phone = ANNAS_PHONE
    cardholder.user.save(update_fields=["portal_phone"])
    app = AppClient()
    device_for(cardholder.customer, app=app)
    app.device_id = str(cardholder.customer.app_devices.get().public_id)
    return app


def test_the_app_stops_at_once_and_lifts_with_the_code_bringing_blik_back(app, cardholder):
    card_activate(actor=BANK, card=factories.card_factory(customer=cardholder.customer))

    stopped = app.post("/stop", {"stopped": True})

    assert stopped.status_code == 200 and stopped.json()["status"] == "completed"
    assert _stopped(cardholder) and not locmem.outbox
    assert app.get("/stop").json()["stopped"] is True
    assert not blik_state(cardholder.customer).enabled

    lift = app.post("/stop", {"stopped": False})

    assert lift.status_code == 202
    assert _stopped(cardholder)
    confirmation = lift.json()["confirmation"]["id"]
    done = app.post(f"/confirmations/{confirmation}", {"code": code_sent_to(ANNAS_PHONE)})
    assert done.status_code == 200
    assert not _stopped(cardholder)
    assert blik_state(cardholder.customer).enabled
    assert app.get("/stop").json() == {"stopped": False, "since": None}


def test_the_app_cannot_lift_what_is_not_stopped_and_bad_input_is_400(app, cardholder):
    refused = app.post("/stop", {"stopped": False})
    assert refused.status_code == 422 and refused.json()["code"] == "not_stopped"
    assert not locmem.outbox
    assert app.post("/stop", {"stopped": "perhaps"}).status_code in {400, 422}
    assert not _stopped(cardholder)


def test_an_unsigned_app_request_is_refused(cardholder):
    assert Client().post("/api/app/v1/stop", {"stopped": True}, content_type="application/json").status_code == 401
    assert not _stopped(cardholder)


# --- The back office -------------------------------------------------------------------------


def test_staff_see_the_stop_on_the_customer_page_with_when_how_who_and_why(staff, cardholder):
    customer_stop(
        actor=Actor.for_user(staff["agent"].user),
        customer=cardholder.customer,
        channel=StopChannel.BACK_OFFICE,
        reason="Phone stolen",
    )

    page = staff_testing.staff_client(staff["auditor"]).get(
        reverse("backoffice:customer", args=[cardholder.customer.pk])
    )

    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="payments-stop"' in text
    assert "Ewa Konsultant" in text and "Phone stolen" in text


def test_the_stop_is_the_persons_and_shows_to_the_staff_of_each_of_their_banks(cardholder):
    bank_a = factories.bank_factory()
    bank_b = factories.bank_factory("BANKB")
    for bank in (bank_a, bank_b):
        BankMembership.objects.get_or_create(
            customer=cardholder.customer, bank=bank, defaults={"customer_number": f"{bank.code}-1"}
        )
    stopper = staff_testing.staff_person_create(StaffRole.BRANCH, full_name="Jan Okienko", bank=bank_a)
    viewer = staff_testing.staff_person_create(StaffRole.SUPERVISOR, bank=bank_b)
    customer_stop(
        actor=Actor.for_user(stopper.user),
        customer=cardholder.customer,
        channel=StopChannel.BACK_OFFICE,
        reason="Card details phished",
    )

    text = (
        staff_testing.staff_client(viewer)
        .get(reverse("backoffice:customer", args=[cardholder.customer.pk]))
        .content.decode()
    )

    assert 'id="payments-stop"' in text and "Card details phished" in text


def test_staff_of_a_bank_the_customer_is_not_with_cannot_see_the_customer(cardholder):
    customer_stop(actor=BANK, customer=cardholder.customer, channel=StopChannel.PORTAL)
    outsider = staff_testing.staff_person_create(StaffRole.SUPERVISOR, bank=factories.bank_factory("OTHERB"))

    response = staff_testing.staff_client(outsider).get(reverse("backoffice:customer", args=[cardholder.customer.pk]))

    assert response.status_code == 404


def test_a_payment_declined_for_the_stop_links_to_the_stop_in_the_cards_history(anna, cardholder):
    pan = make_pan("400000", 777_001)
    card = card_activate(actor=BANK, card=factories.card_factory(customer=cardholder.customer, pan=pan))
    customer_stop(actor=BANK, customer=cardholder.customer, channel=StopChannel.PORTAL)
    decline = decide(CardFixture(card=card, pan=pan), channel=Channel.POS_CHIP).authorization
    assert decline.decline_reason == "customer_stopped"

    page = anna.get(reverse("portal:card_history", args=[card.pk])).content.decode()

    assert f'href="{PAGE}"' in page
