"""Properties every page of the portal must have: headers, language, no secrets, no inline code."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

from kartosfera.cards.pan import decrypt_pan
from kartosfera.testing import factories


@pytest.fixture
def cards(cardholder, debit_product, credit_product, business_product, card):
    return [
        card,
        factories.card_factory(customer=cardholder.customer, product=credit_product),
        factories.card_factory(customer=cardholder.customer, product=business_product),
    ]


def _private_urls(cards) -> list[str]:
    return [reverse("portal:card_list"), *(reverse("portal:card_detail", args=[c.pk]) for c in cards)]


def test_private_pages_are_never_stored(anna, cards):
    for url in _private_urls(cards):
        cache_control = anna.get(url)["Cache-Control"]
        assert "no-store" in cache_control, url
        assert "private" in cache_control, url


def test_every_page_has_a_strict_content_security_policy(client, anna, cards):
    responses = [client.get(reverse("users:login"))] + [anna.get(url) for url in _private_urls(cards)]
    for response in responses:
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy


def test_no_page_contains_a_full_card_number(anna, cards):
    pans = [decrypt_pan(card.pan_ciphertext) for card in cards]
    pages = [anna.get(url).content.decode() for url in _private_urls(cards)]
    for html in pages:
        digits_only = re.sub(r"[\s\xa0-]", "", html)
        for pan in pans:
            assert pan not in html
            assert pan not in digits_only
            assert pan[:6] not in digits_only  # not even the BIN next to the last digits


def _html_of_every_page(client, anna, cards) -> dict[str, str]:
    pages = {"login": client.get(reverse("users:login")).content.decode()}
    for url in _private_urls(cards):
        pages[url] = anna.get(url).content.decode()
    pages["404"] = anna.get("/no-such-page/").content.decode()
    pages["500"] = server_error(RequestFactory().get("/")).content.decode()
    return pages


def test_no_page_has_inline_script_or_style(client, anna, cards):
    for name, html in _html_of_every_page(client, anna, cards).items():
        assert "style=" not in html, name
        assert "<style" not in html, name
        assert not re.search(r"\son[a-z]+=", html), name  # no inline event handlers
        for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
            assert "src=" in attributes, (name, attributes)
            assert body.strip() == "", (name, body)


def test_htmx_is_loaded_from_a_file_with_its_indicator_styles_off(anna, card):
    html = anna.get(reverse("portal:card_list")).content.decode()

    assert re.search(r'<script src="/static/django_htmx/htmx-2\.min\.js" defer></script>', html)
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>' in html


def test_pages_are_polish_by_default(anna, card):
    html = anna.get(reverse("portal:card_list")).content.decode()

    assert '<html lang="pl">' in html
    assert "Przejdź do treści strony" in html


def test_language_switch_changes_the_page_language_and_back(anna, card):
    list_url = reverse("portal:card_list")

    response = anna.post(reverse("set_language"), {"language": "en", "next": list_url}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == list_url
    assert '<html lang="en">' in html
    assert "<h1>My cards</h1>" in html
    assert "Polski" in html  # the switch now offers the way back

    response = anna.post(reverse("set_language"), {"language": "pl", "next": list_url}, follow=True)

    assert '<html lang="pl">' in response.content.decode()


def test_english_amounts_use_english_number_format(anna, card):
    anna.post(reverse("set_language"), {"language": "en", "next": "/"})

    html = anna.get(reverse("portal:card_detail", args=[card.pk])).content.decode()

    assert "PLN\xa05,234.10" in html
    assert "Available funds" in html


def test_pages_stay_polish_for_an_english_browser_until_the_user_switches(anna, card):
    html = anna.get(reverse("portal:card_list"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()

    assert '<html lang="pl">' in html


def test_language_switch_works_for_anonymous_visitors_too(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("users:login")}, follow=True)

    assert '<h1 id="login-heading">Sign in</h1>' in response.content.decode()


def test_server_error_page_is_translated_and_in_the_layout(db):
    request = RequestFactory().get("/")
    with translation.override("pl"):
        html = server_error(request).content.decode()

    assert "Coś poszło nie tak" in html
    assert 'class="skip-link"' in html
    assert "csrfmiddlewaretoken" not in html


def test_an_expired_form_gets_a_translated_page_in_the_layout(db):
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    html = response.content.decode()
    assert response.status_code == 403
    assert "Formularz wygasł" in html
    assert 'class="skip-link"' in html


def test_the_header_names_the_signed_in_person_by_the_given_name_only(anna, cardholder, card):
    # The full name of a long-named customer would push the header onto two rows (docs/layout.md);
    # it stays on the settings page.
    cardholder.customer.first_name = "Anna Maria"
    cardholder.customer.save(update_fields=["first_name"])
    html = anna.get(reverse("portal:card_list")).content.decode()
    header = html[html.index('<header class="site-header') : html.index("</header>")]
    assert re.search(r'<span class="header-user">.*?</span>\s*Anna</span>', header, re.S)
    assert "Nowak" not in header and "Maria" not in header
