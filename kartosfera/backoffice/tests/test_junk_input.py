"""Whatever a staff member types or a tampered form sends, the back office answers 2xx-4xx, never 500."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kartosfera.backoffice.actions import ACTIONS
from kartosfera.backoffice.tests.helpers import phone_verify
from kartosfera.testing.staff import staff_client

pytestmark = pytest.mark.django_db

JUNK = st.text(max_size=60) | st.sampled_from(["", " ", "9" * 30, "0000", "+48", "1985-13-45", "\x00", "ł" * 300])
FIELDS = ["channel", "identifier", "birth_date", "card_last4", "calling_number", "document_type"]


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.fixed_dictionaries(dict.fromkeys(FIELDS, JUNK)), query=JUNK)
def test_junk_verification_and_search_input_is_never_a_server_error(staff, cardholder, data, query):
    client = staff_client(staff["supervisor"])
    assert client.post(reverse("backoffice:home"), {"q": query}).status_code == 200
    response = client.post(reverse("backoffice:verify", args=[cardholder.customer.pk]), data)
    assert response.status_code in {302, 400}
    assert (
        client.get(reverse("backoffice:activity"), {"date_from": query, "staff": query, "page": query}).status_code
        == 200
    )


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(ACTIONS)), values=st.lists(JUNK, min_size=4, max_size=4))
def test_junk_action_input_is_never_a_server_error(staff, cardholder, card, name, values):
    person = staff["supervisor"]
    phone_verify(person, cardholder.customer)
    action = ACTIONS[name]
    prefix = f"{name}-{card.pk}" if action.on_card else name
    fields = ["reason", "phone", "nonresident_id", "cancel_reason"]
    data = {f"{prefix}-{field}": value for field, value in zip(fields, values, strict=True)}
    url = (
        reverse("backoffice:card_action", args=[cardholder.customer.pk, card.pk, name])
        if action.on_card
        else reverse("backoffice:customer_action", args=[cardholder.customer.pk, name])
    )
    response = staff_client(person).post(url, data)
    assert response.status_code in {302, 400}
