"""The help pages: public, in Polish and English, with the helpline; and every footer links to them."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

HELP_PAGES = {
    "help:index": "Pomoc",
    "help:guide": "Przewodnik Użytkownika",
    "help:security": "Zasady bezpieczeństwa",
    "help:browsers": "Wymagania techniczne",
    "help:accessibility": "Deklaracja dostępności",
}
ENGLISH_TITLES = {
    "help:index": "Help",
    "help:guide": "User guide",
    "help:security": "Security advice",
    "help:browsers": "Browser requirements",
    "help:accessibility": "Accessibility statement",
}
SERVICE_LINK = '<a href="tel:+48862155000">+48 86 215 50 00</a>'
BLOCKING_LINK = '<a href="tel:+48862155050">+48 86 215 50 50</a>'


def h1(html: str) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL)
    assert match, html[:300]
    return match.group(1).strip()


def assert_footer_helps(html: str) -> None:
    """The footer names both numbers as tel: links and links every help page."""
    footer = html[html.index('<footer class="site-footer">') :]
    assert SERVICE_LINK in footer
    assert BLOCKING_LINK in footer
    for name in HELP_PAGES:
        assert f'href="{reverse(name)}"' in footer, name


@pytest.mark.parametrize("name", HELP_PAGES)
def test_every_help_page_is_public_and_polish_first(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    html = response.content.decode()
    assert h1(html) == HELP_PAGES[name]
    assert '<html lang="pl">' in html
    assert_footer_helps(html)


@pytest.mark.parametrize("name", HELP_PAGES)
def test_every_help_page_reads_in_english(client, db, name):
    client.cookies["django_language"] = "en"
    response = client.get(reverse(name))

    assert h1(response.content.decode()) == ENGLISH_TITLES[name]


@pytest.mark.parametrize("name", HELP_PAGES)
def test_a_signed_in_cardholder_sees_the_help_pages_too(anna, name):
    assert anna.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", HELP_PAGES)
def test_the_help_pages_only_read(client, db, name):
    assert client.post(reverse(name)).status_code == 405


def test_the_help_start_page_names_both_numbers(client, db):
    html = client.get(reverse("help:index")).content.decode()
    main = html[: html.index("<footer")]
    assert SERVICE_LINK in main
    assert BLOCKING_LINK in main


def test_the_help_pages_follow_the_configured_helpline(client, db, settings):
    settings.HELPLINE_PHONE = "+48 22 123 45 67"
    settings.CARD_BLOCKING_PHONE = "+48 22 765 43 21"

    html = client.get(reverse("help:guide")).content.decode()

    assert '<a href="tel:+48221234567">+48 22 123 45 67</a>' in html
    assert '<a href="tel:+48227654321">+48 22 765 43 21</a>' in html
    assert "215 50" not in html


def test_the_guide_covers_every_topic_the_bank_publishes(client, db):
    html = client.get(reverse("help:guide")).content.decode()
    for heading in (
        "Rejestracja",
        "Logowanie",
        "Blokada dostępu i odblokowanie",
        "Twoje karty i operacje na nich",
        "3-D Secure",
        "Zmiana numeru telefonu",
    ):
        assert f">{heading}</h2>" in html, heading
    for operation in ("Aktywuj kartę", "Zmień PIN", "Zablokuj czasowo", "Zastrzeż kartę", "Limity"):
        assert f"<dt>{operation}</dt>" in html, operation
    assert "do północy" in html
    assert "10 minut" in html


def test_the_guide_states_the_low_value_rule_the_card_core_applies(client, db, settings):
    text = " ".join(client.get(reverse("help:guide")).content.decode().replace("\xa0", " ").split())
    assert "Małe płatności (do 100,00 zł każda, najwyżej 5 z rzędu) przechodzą bez kodu." in text
    settings.PSD2_EXEMPTION_COUNTER = "amount"
    text = " ".join(client.get(reverse("help:guide")).content.decode().replace("\xa0", " ").split())
    assert "Małe płatności (do 100,00 zł każda, dopóki razem nie przekroczą 400,00 zł) przechodzą bez kodu." in text


def test_the_security_advice_covers_the_banks_rules(client, db):
    html = client.get(reverse("help:security")).content.decode()
    assert "https://" in html and "kłódkę" in html
    assert "antywirusowy" in html
    assert "Chroń swoje urządzenia" in html
    assert "Bank nigdy o nie nie prosi" in html
    assert "Od razu zgłoś utratę telefonu lub karty" in html
    assert "Jak zablokować dostęp do portalu" in html
    assert f'href="{reverse("profile:block")}"' in html
    assert BLOCKING_LINK in html


def test_the_accessibility_statement_has_the_parts_the_law_asks_for(client, db):
    html = client.get(reverse("help:accessibility")).content.decode()
    for heading in (
        "Stan dostępności cyfrowej",
        "Treści niedostępne i ograniczenia",
        "Informacje zwrotne i dane kontaktowe",
        "Żądanie zapewnienia dostępności",
        "Skargi i procedura egzekwowania",
    ):
        assert f">{heading}</h2>" in html, heading
    assert "częściowo zgodny" in html
    assert "ustawy z dnia 4 kwietnia 2019 r." in html
    assert "ustawy z dnia 26 kwietnia 2024 r." in html
    assert "Rzecznika Finansowego" in html
    assert '<time datetime="2026-11-29">29 listopada 2026</time>' in html
    assert SERVICE_LINK in html[: html.index("<footer")]
    assert "http://testserver/" in html


def test_the_accessibility_statement_offers_an_address_to_write_to_once_configured(client, db, settings):
    assert "mailto:" not in client.get(reverse("help:accessibility")).content.decode()

    settings.ACCESSIBILITY_CONTACT_EMAIL = "dostepnosc@bank.example"
    html = client.get(reverse("help:accessibility")).content.decode()

    assert '<a href="mailto:dostepnosc@bank.example">dostepnosc@bank.example</a>' in html


# --- Every footer ------------------------------------------------------------------------


def test_the_login_page_footer_gives_the_numbers_and_the_help(client, db):
    assert_footer_helps(client.get(reverse("users:login")).content.decode())


def test_a_portal_page_footer_gives_the_numbers_and_the_help(anna):
    assert_footer_helps(anna.get(reverse("portal:card_list")).content.decode())


def test_the_back_office_footer_gives_the_numbers_and_the_help(client, db):
    assert_footer_helps(client.get(reverse("backoffice:login")).content.decode())


def test_the_not_found_page_footer_gives_the_numbers_and_the_help(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_footer_helps(response.content.decode())


def test_the_server_error_page_names_the_numbers_without_a_request(db):
    # Django renders 500.html with no request, so no context processor runs.
    assert_footer_helps(render_to_string("500.html"))


def test_the_api_reference_footer_gives_the_numbers_and_the_help(client, db):
    response = client.get("/api/provisioning/v1/docs")
    assert response.status_code == 200
    assert_footer_helps(response.content.decode())
