"""Fragments rendered once per process (settings.CACHES["template_fragments"]) and sessions from the cache.

docs/performance.md: the footer, the cardholder's menu and the empty "what if" form are the same for every
visitor in one language, so base.html and the card page render them once per process; the session is read
from the cache, not from its database row, on every signed-in page.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kartosfera.cards.operations_services import card_activate
from kartosfera.core.audit import Actor
from kartosfera.core.fragments import FRAGMENTS_CACHE
from kartosfera.testing import factories

HOLDER = Actor.system("tests")


def _text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture(autouse=True)
def empty_fragments():
    caches[FRAGMENTS_CACHE].clear()


def _in(client, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return _text(client.get(reverse("users:login"))).split('<footer class="site-footer">')[1]


def test_the_footer_is_cached_per_language(client, db):
    polish, english, polish_again = _in(client, "pl"), _in(client, "en"), _in(client, "pl")

    assert "open-source card self-service portal" in english
    assert "open-source card self-service portal" not in polish and "z otwartym kodem" in polish
    assert polish_again == polish


def test_a_changed_setting_is_not_hidden_by_a_cached_footer(client, db, settings):
    before = _text(client.get(reverse("users:login")))
    assert "+48 86 215 50 00" in before

    settings.HELPLINE_PHONE = "+48 22 000 11 22"

    assert "+48 22 000 11 22" in _text(client.get(reverse("users:login")))


def test_the_menu_marks_the_page_that_is_open(anna, card):
    cards = _text(anna.get(reverse("portal:card_list")))
    settings_page = _text(anna.get(reverse("profile:index")))
    cards_again = _text(anna.get(reverse("portal:card_list")))

    def current(page: str) -> str:
        nav = page.split('<nav class="main-nav"')[1].split("</nav>")[0]
        return nav.split('aria-current="page"')[1].split("</a>")[0].strip(" \n>")

    assert current(cards) == current(cards_again) == "Moje karty"
    assert current(settings_page) == "Ustawienia"


def test_the_empty_what_if_form_is_the_same_on_every_card_and_a_filled_one_keeps_its_values(anna, cardholder):
    product = factories.product_factory()
    first, second = (
        card_activate(actor=HOLDER, card=factories.card_factory(customer=cardholder.customer, product=product))
        for _ in range(2)
    )
    pages = [_text(anna.get(reverse("portal:card_detail", kwargs={"card_id": c.pk}))) for c in (first, second)]

    fields = [page.split('id="what-if-form"')[1].split("</form>")[0] for page in pages]
    assert 'value="PL"' in fields[0]
    # The action differs (each card's own), the cached fields do not.
    assert fields[0].split(">", 1)[1] == fields[1].split(">", 1)[1]
    url = reverse("portal:card_what_if", kwargs={"card_id": first.pk})
    query = {"amount": "77,00", "currency": "PLN", "channel": "chip_and_pin", "country": "DE", "category": "groceries"}
    filled = _text(anna.get(url, query)).split('id="what-if-form"')[1].split("</form>")[0]
    assert 'value="DE"' in filled and 'value="77,00"' in filled and 'value="PL"' not in filled


def test_a_signed_in_page_reads_its_session_from_the_cache_not_the_database(anna, card):
    anna.get(reverse("portal:card_list"))

    with CaptureQueriesContext(connection) as captured:
        _text(anna.get(reverse("portal:card_list")))

    assert captured.captured_queries
    assert not [q for q in captured.captured_queries if "django_session" in q["sql"]]


def test_a_session_ended_in_one_place_is_ended_everywhere(anna, card):
    """Signing out deletes the cached copy too: the old cookie is not signed in on the next request."""
    cookie = anna.cookies["kartosfera_session"].value
    anna.post(reverse("users:logout"))

    anna.cookies["kartosfera_session"] = cookie
    response = anna.get(reverse("portal:card_list"))

    assert response.status_code == 302 and reverse("users:login") in response["Location"]


def test_the_footer_and_the_empty_what_if_fields_render_once_per_process(anna, cardholder):
    card = card_activate(actor=HOLDER, card=factories.card_factory(customer=cardholder.customer))
    url = reverse("portal:card_detail", kwargs={"card_id": card.pk})

    first, second = anna.get(url), anna.get(url)

    def rendered(response, name: str) -> int:
        return sum(1 for template in response.templates if template.name == name)

    assert rendered(first, "includes/footer_help.html") == 1 and rendered(second, "includes/footer_help.html") == 0
    # The what-if form's five fields are rendered the first time only.
    assert rendered(first, "includes/field.html") - rendered(second, "includes/field.html") == 5
