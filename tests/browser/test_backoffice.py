"""The back office (bank staff area) in a real browser, with axe-core and the CSP check on every page.

The journey of the issue (an agent unlocks a customer's portal access after a
phone call), every staff page's accessibility in the states that show the most
(all action forms, form errors, filters, the read-only auditor), the keyboard
and a phone-sized screen, and the two session realms side by side in one browser.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from kartosfera.backoffice import selectors
from kartosfera.backoffice.demo import demo_staff_load
from kartosfera.backoffice.services import caller_verify, staff_action_perform
from kartosfera.banks.scope import BankScope
from kartosfera.cards.models import Card
from kartosfera.cards.operations_services import card_block_temporarily
from kartosfera.cards.pan import decrypt_pan
from kartosfera.secure3d.models import ThreeDSProfile
from kartosfera.testing import factories
from kartosfera.users.models import User
from tests.browser.conftest import PageChecks
from tests.browser.helpers import sign_in, staff_sign_in, staff_verify_by_phone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANNA_BIRTH_DATE = "1985-03-14"
VERIFIED = "Klient zweryfikowany. Przez następne 30 minut możesz wykonywać czynności w imieniu klienta."
UNLOCKED = "Dostęp do portalu odblokowany: klient może się teraz zalogować."
REASON = "Przyczyna"


def _lock_portal_access(user: User) -> None:
    """Three wrong passwords' worth: locked for the rest of the day."""
    user.locked_until = timezone.now() + dt.timedelta(hours=1)
    user.failed_login_count = 3
    user.save(update_fields=["locked_until", "failed_login_count"])


def _full_pan(card: Card) -> str:
    pan = decrypt_pan(card.pan_ciphertext)
    assert len(pan) >= 13 and pan.endswith(card.pan_last4)
    return pan


def _assert_no_full_pan(page: Page, pans: list[str]) -> None:
    """Neither the card number nor its usual 4-digit grouping is anywhere in the page's HTML."""
    content = page.content()
    for pan in pans:
        grouped = " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))
        assert pan not in content and grouped not in content, f"the full card number is on {page.url}"


def _open_customer_from_search(
    page: Page, check_page: PageChecks, query: str, name: str, pans: list[str] | None = None
) -> None:
    page.get_by_label("Znajdź klienta").fill(query)
    page.get_by_role("button", name="Szukaj").click()
    expect(page.get_by_role("heading", level=2, name="Wyniki")).to_be_visible()
    _assert_no_full_pan(page, pans or [])
    check_page()
    page.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(r"/backoffice/customers/[0-9]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Anna Nowak")
    _assert_no_full_pan(page, pans or [])
    check_page()


def _staff_sign_out(page: Page, check_page: PageChecks) -> None:
    page.get_by_role("button", name="Wyloguj się").click()
    expect(page).to_have_url(re.compile(r"/backoffice/login/$"))
    check_page()


@pytest.fixture
def lots_to_do(cardholder: Any, annas_card: Card) -> Card:
    """Anna with every customer and card action on offer: locked portal and 3DS, a blocked card with wrong PINs."""
    _lock_portal_access(cardholder.user)
    ThreeDSProfile.objects.update_or_create(
        customer=cardholder.customer, defaults={"locked_until": timezone.now() + dt.timedelta(hours=1)}
    )
    card = card_block_temporarily(actor=factories.SYSTEM, card=annas_card)
    Card.objects.filter(pk=card.pk).update(wrong_pin_count=2)
    return Card.objects.get(pk=card.pk)


# --- 1. The journey of the issue ---------------------------------------------------------------


def test_an_agent_unlocks_portal_access_after_a_phone_call_and_the_customer_signs_in(
    page: Page, live_server, check_page, staff, cardholder, card
):
    _lock_portal_access(cardholder.user)
    pan = _full_pan(card)

    staff_sign_in(page, check_page, staff["agent"])
    _assert_no_full_pan(page, [pan])

    # Found by the card's last 4 digits; the results show a masked PESEL, never the card number.
    _open_customer_from_search(page, check_page, card.pan_last4, "Nowak Anna", [pan])
    expect(page.get_by_role("group", name="Odblokuj dostęp do portalu")).to_have_count(0)
    expect(page.get_by_text("Czynności pojawią się po zweryfikowaniu klienta.")).to_be_visible()
    _assert_no_full_pan(page, [pan])

    staff_verify_by_phone(
        page, check_page, identifier=cardholder.identifier, birth_date=ANNA_BIRTH_DATE, card_last4=card.pan_last4
    )
    _assert_no_full_pan(page, [pan])

    unlock = page.get_by_role("group", name="Odblokuj dostęp do portalu")
    expect(unlock).to_be_visible()
    unlock.get_by_label(REASON).fill("Klientka zadzwoniła: zapomniała hasła, przypomniała sobie")
    unlock.get_by_role("button", name="Odblokuj dostęp").click()
    expect(page.locator("#flash")).to_have_text(UNLOCKED)
    expect(page.get_by_role("group", name="Odblokuj dostęp do portalu")).to_have_count(0)
    check_page()
    _assert_no_full_pan(page, [pan])

    user = User.objects.get(pk=cardholder.user.pk)
    assert not user.is_locked() and user.failed_login_count == 0

    _staff_sign_out(page, check_page)

    # The customer, in the same browser, signs in to the portal again.
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Moje karty")
    check_page()


# --- 2. axe-core on every staff page ---------------------------------------------------------------


def test_the_sign_in_pages_and_the_search_pass_axe(page: Page, live_server, check_page, staff, cardholder, card):
    # A wrong password: the error is accessible too.
    page.goto("/backoffice/login/")
    check_page()
    page.get_by_label("Nazwa użytkownika").fill(staff["agent"].username)
    page.get_by_label("Hasło", exact=True).fill("to-nie-jest-haslo")
    page.get_by_role("button", name="Dalej").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check_page()

    staff_sign_in(page, check_page, staff["agent"])  # login, code step and the empty search
    expect(page.get_by_role("link", name="Czynności pracowników")).to_have_count(0)

    page.get_by_label("Znajdź klienta").fill("Nikt Taki")
    page.get_by_role("button", name="Szukaj").click()
    expect(page.get_by_role("heading", level=2, name="Wyniki")).to_be_visible()
    expect(page.get_by_role("table")).to_have_count(0)
    check_page()

    _open_customer_from_search(page, check_page, "Nowak", "Nowak Anna")


def test_the_customer_page_with_every_action_form_and_with_errors_passes_axe(
    page: Page, live_server, check_page, staff, cardholder, lots_to_do
):
    card = lots_to_do
    pan = _full_pan(card)
    staff_sign_in(page, check_page, staff["supervisor"])
    page.goto(f"/backoffice/customers/{cardholder.customer.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anna Nowak")
    check_page()

    staff_verify_by_phone(
        page, check_page, identifier=cardholder.identifier, birth_date=ANNA_BIRTH_DATE, card_last4=card.pan_last4
    )
    # Every action a supervisor may take for Anna and her blocked card is on the page.
    for button in (
        "Odblokuj dostęp",
        "Zablokuj dostęp",
        "Odblokuj płatności internetowe",
        "Zmień telefon w banku",
        "Zmień telefon do portalu",
        f"Odblokuj kartę *{card.pan_last4}",
        f"Zastrzeż kartę na zawsze *{card.pan_last4}",
        f"Wyzeruj licznik *{card.pan_last4}",
    ):
        expect(page.get_by_role("button", name=button, exact=True)).to_be_visible()
    _assert_no_full_pan(page, [pan])

    # An action without a reason: the page comes back (400) with the error, and still passes axe.
    unlock = page.get_by_role("group", name="Odblokuj dostęp do portalu")
    with page.expect_response(re.compile(r"/actions/portal_unlock/$")) as response:
        unlock.get_by_role("button", name="Odblokuj dostęp").click()
    assert response.value.status == 400
    unlock = page.get_by_role("group", name="Odblokuj dostęp do portalu")
    expect(unlock.locator(".field__error")).to_be_visible()
    expect(unlock.get_by_label(REASON)).to_have_attribute("aria-invalid", "true")
    check_page()
    assert User.objects.get(pk=cardholder.user.pk).is_locked()


def test_a_failed_verification_and_the_verification_errors_pass_axe(
    page: Page, live_server, check_page, staff, cardholder, card
):
    staff_sign_in(page, check_page, staff["agent"])
    page.goto(f"/backoffice/customers/{cardholder.customer.pk}/")
    check_page()

    # Too few answers: the form's errors.
    page.get_by_label("PESEL lub numer identyfikacyjny podany przez klienta").fill(cardholder.identifier)
    page.get_by_label("4 ostatnie cyfry karty podane przez klienta").fill("12")
    page.get_by_role("button", name="Zapisz weryfikację").click()
    expect(page.locator("#form-errors")).to_be_visible()
    check_page()

    # A wrong answer: the verification fails and no action is offered.
    page.get_by_label("PESEL lub numer identyfikacyjny podany przez klienta").fill(cardholder.identifier)
    page.get_by_label("Data urodzenia podana przez klienta").fill("1985-03-15")
    page.get_by_label("4 ostatnie cyfry karty podane przez klienta").fill(card.pan_last4)
    page.get_by_role("button", name="Zapisz weryfikację").click()
    expect(page.locator("#flash")).to_be_visible()
    expect(page.locator("form.action-form")).to_have_count(0)
    check_page()


def test_the_staff_activity_page_passes_axe_with_rows_and_filters(
    page: Page, live_server, check_page, staff, cardholder, card
):
    agent = staff["agent"].user
    _lock_portal_access(cardholder.user)
    verification = caller_verify(
        staff=agent,
        customer=cardholder.customer,
        channel="phone",
        identifier=cardholder.identifier,
        birth_date=dt.date(1985, 3, 14),
        card_last4=card.pan_last4,
    )
    staff_action_perform(
        staff=agent,
        action_name="portal_unlock",
        customer=cardholder.customer,
        verification=verification,
        reason="Klientka zadzwoniła",
    )
    assert selectors.staff_activity(filters=selectors.ActivityFilter(), scope=BankScope.group()).exists()

    staff_sign_in(page, check_page, staff["supervisor"])
    page.get_by_role("link", name="Czynności pracowników").click()
    expect(page).to_have_url(re.compile(r"/backoffice/activity/$"))
    expect(page.get_by_role("cell", name=re.compile("Klientka zadzwoniła"))).to_be_visible()
    check_page()

    # Filters: the agent's actions, from today.
    page.get_by_label("Pracownik").select_option(label="Ewa Konsultant (agent)")
    today = timezone.localdate().isoformat()
    page.get_by_label("Od", exact=True).fill(today)
    page.get_by_role("button", name="Pokaż").click()
    expect(page).to_have_url(re.compile(r"/backoffice/activity/\?.*staff="))
    expect(page.get_by_role("cell", name=re.compile("Klientka zadzwoniła"))).to_be_visible()
    check_page()

    # A filter with an error (the end before the start).
    page.get_by_label("Do", exact=True).fill((timezone.localdate() - dt.timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Pokaż").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check_page()


def test_the_auditor_sees_the_customer_read_only(page: Page, live_server, check_page, staff, cardholder, lots_to_do):
    staff_sign_in(page, check_page, staff["auditor"])
    page.goto(f"/backoffice/customers/{cardholder.customer.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anna Nowak")
    expect(page.get_by_role("button", name="Zapisz weryfikację")).to_have_count(0)
    expect(page.locator("form.action-form")).to_have_count(0)
    expect(page.get_by_role("link", name="Czynności pracowników")).to_be_visible()
    _assert_no_full_pan(page, [_full_pan(lots_to_do)])
    check_page()

    page.get_by_role("link", name="Czynności pracowników").click()
    expect(page).to_have_url(re.compile(r"/backoffice/activity/$"))
    check_page()


def test_the_demo_staff_codes_page_passes_axe(page: Page, live_server, check_page, settings):
    settings.DEBUG = True
    demo_staff_load()
    page.goto("/dev/staff-codes/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Kody demonstracyjnych pracowników")
    expect(page.locator('[data-code-for="agent"]')).to_have_text(re.compile(r"^[0-9]{6}$"))
    check_page()


# --- 3. The keyboard and a phone-sized screen -----------------------------------------------------


def _focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


def _assert_focus_visible(page: Page) -> None:
    style = page.evaluate(
        """() => {
          const el = document.activeElement;
          const s = getComputedStyle(el);
          return {visible: el.matches(':focus-visible'), outline: s.outlineStyle, width: parseFloat(s.outlineWidth)};
        }"""
    )
    assert style["visible"] and style["outline"] != "none" and style["width"] >= 2, style


def _date_keystrokes(page: Page, day: str, month: str, year: str) -> str:
    """What to type into a date input: its segments follow the browser's own locale (dd.mm.rrrr, mm/dd/yyyy…).

    Learnt by typing a probe into a throw-away date input, removed before anything is checked.
    """
    page.evaluate(
        """() => { const i = document.createElement('input'); i.type = 'date'; i.id = 'kf-date-probe';
                   document.body.append(i); }"""
    )
    probe = page.locator("#kf-date-probe")
    probe.focus()
    page.keyboard.type("01022003")  # day 01, month 02 in the day-month order; else month 01, day 02
    value = probe.input_value()
    page.evaluate("document.getElementById('kf-date-probe').remove()")
    if value == "2003-02-01":
        return day + month + year
    assert value == "2003-01-02", f"unexpected date segment order: {value!r}"
    return month + day + year


def _tab_to(page: Page, element_id: str, limit: int = 60) -> None:
    for _ in range(limit):
        if _focused_id(page) == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


def test_the_verification_form_works_with_the_keyboard_alone(
    page: Page, live_server, check_page, staff, cardholder, card
):
    staff_sign_in(page, check_page, staff["agent"])
    keystrokes = _date_keystrokes(page, "14", "03", "1985")
    page.goto(f"/backoffice/customers/{cardholder.customer.pk}/")
    check_page()

    # Tab from the top of the page to the channel (phone is chosen already), then on field by field.
    _tab_to(page, "id_channel_0")
    _assert_focus_visible(page)
    page.keyboard.press("Tab")
    assert _focused_id(page) == "id_identifier"
    _assert_focus_visible(page)
    page.keyboard.type(cardholder.identifier)
    page.keyboard.press("Tab")
    assert _focused_id(page) == "id_birth_date"
    _assert_focus_visible(page)
    page.keyboard.type(keystrokes)
    assert page.locator("#id_birth_date").input_value() == ANNA_BIRTH_DATE
    _tab_to(page, "id_card_last4", limit=4)
    _assert_focus_visible(page)
    page.keyboard.type(card.pan_last4)
    page.keyboard.press("Enter")

    expect(page.locator("#flash")).to_have_text(VERIFIED)
    check_page()


def _assert_no_sideways_scrolling(page: Page) -> None:
    widths = page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= widths["inner"], widths


def test_the_customer_page_fits_a_phone_screen(page: Page, live_server, check_page, staff, cardholder, lots_to_do):
    page.set_viewport_size({"width": 375, "height": 740})
    staff_sign_in(page, check_page, staff["supervisor"])  # the role offered the most action forms
    page.goto(f"/backoffice/customers/{cardholder.customer.pk}/")
    check_page()
    staff_verify_by_phone(
        page, check_page, identifier=cardholder.identifier, birth_date=ANNA_BIRTH_DATE, card_last4=lots_to_do.pan_last4
    )
    expect(page.locator("form.action-form").first).to_be_visible()
    _assert_no_sideways_scrolling(page)

    # The search results' table too.
    page.goto("/backoffice/")
    check_page()
    page.locator('main form[role="search"] input[name="q"]').fill(lots_to_do.pan_last4)
    page.get_by_role("search").get_by_role("button", name="Szukaj").click()
    expect(page.get_by_role("link", name="Nowak Anna")).to_be_visible()
    _assert_no_sideways_scrolling(page)
    check_page()

    # And the staff activity, whose table and filters are the widest.
    page.goto("/backoffice/activity/")
    expect(page.get_by_role("cell", name="Zweryfikowano osobę dzwoniącą").first).to_be_visible()
    _assert_no_sideways_scrolling(page)
    check_page()


# --- 4. Two realms in one browser ---------------------------------------------------------------


def test_the_customer_and_the_staff_sessions_live_side_by_side(
    page: Page, live_server, check_page, staff, cardholder, card
):
    sign_in(page, check_page, cardholder.identifier, cardholder.password)
    check_page()

    staff_page = page.context.new_page()
    staff_checks = PageChecks(staff_page)
    staff_sign_in(staff_page, staff_checks, staff["agent"])

    # Both stay signed in: neither sign-in pushed the other out.
    page.reload()
    expect(page).to_have_url(re.compile(r"/cards/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Moje karty")
    check_page()
    staff_page.reload()
    expect(staff_page).to_have_url(re.compile(r"/backoffice/$"))
    expect(staff_page.get_by_role("heading", level=1)).to_have_text("Znajdź klienta")
    staff_checks()

    # Signing out of the back office leaves the customer's portal session alone.
    _staff_sign_out(staff_page, staff_checks)
    staff_page.goto("/backoffice/")
    expect(staff_page).to_have_url(re.compile(r"/backoffice/login/"))
    staff_checks()

    page.reload()
    expect(page).to_have_url(re.compile(r"/cards/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Moje karty")
    check_page()
    page.goto("/settings/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ustawienia")
    check_page()

    assert not staff_checks.unchecked and staff_checks.pending is None, staff_checks.unchecked
    staff_page.close()


def test_the_whole_audit_trail_passes_axe_with_pages_the_kind_filter_and_a_phone_screen(
    page: Page, live_server, check_page, staff, cardholder, card
):
    from django.db import transaction

    from kartosfera.core.audit import Actor, audit_record

    with transaction.atomic():
        for _ in range(30):
            audit_record(
                actor=Actor.anonymous(),
                action="users.login.failed",
                obj=cardholder.user,
                customer_id=cardholder.customer.pk,
                after={"reason": "bad_credentials"},
            )

    staff_sign_in(page, check_page, staff["agent"])
    page.goto(f"/backoffice/customers/{cardholder.customer.pk}/")
    check_page()
    page.get_by_role("link", name="Wszystkie zdarzenia, według rodzaju").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Historia zdarzeń")
    expect(page.get_by_role("cell", name="Logowanie nie powiodło się: błędne hasło").first).to_be_visible()
    check_page()

    page.get_by_role("link", name="Starsze").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    check_page()

    page.get_by_label("Rodzaj zdarzenia").select_option(label="Karty")
    page.get_by_role("button", name="Pokaż").click()
    expect(page.get_by_role("cell", name=re.compile("Wydano kartę"))).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile("Logowanie"))).to_have_count(0)
    check_page()

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    overflow = page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    assert not overflow
    check_page()


# --- 5. The card payments flagged for review -------------------------------------------------------


def test_a_supervisor_reviews_a_stand_in_payment_on_a_phone_in_polish_and_english(
    page: Page, live_server, check_page, staff, cardholder, annas_card
):
    from kartosfera.processing.advices import advice_record
    from kartosfera.processing.models import AuthorizationReview
    from kartosfera.processing.tests.helpers import PROCESSOR, CardFixture, request_for

    pan = _full_pan(annas_card)
    advice = advice_record(
        actor=PROCESSOR,
        request=request_for(
            CardFixture(card=annas_card, pan=pan),
            amount_minor=300_000,
            channel="atm",
            mcc="6011",
            merchant_name="Sparkasse Geldautomat",
            merchant_city="Berlin",
            merchant_country="DE",
        ),
        approved=True,
        response_code="00",
    ).authorization
    page.set_viewport_size({"width": 375, "height": 740})
    staff_sign_in(page, check_page, staff["supervisor"])

    page.get_by_role("link", name="Do weryfikacji").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Płatności kartą do weryfikacji")
    row = page.locator(f"#review-{advice.pk}")
    expect(row).to_contain_text("Berlin, Niemcy (DE)")
    expect(row).to_contain_text("Zatwierdzona przez organizację płatniczą w trybie stand-in")
    _assert_no_full_pan(page, [pan])
    _assert_no_sideways_scrolling(page)
    check_page()

    # A card number in the note is refused, and not shown back.
    row.get_by_label("Notatka (opcjonalnie)").fill(f"Klientka podała {pan}")
    row.get_by_role("button", name=re.compile("Oznacz jako sprawdzoną")).click()
    expect(page.get_by_role("alert")).to_contain_text("Nie wpisuj numeru karty")
    _assert_no_full_pan(page, [pan])
    check_page()
    assert not AuthorizationReview.objects.exists()

    # Keyboard only: type the note, Tab to the button, Enter.
    note = page.locator(f"#review-{advice.pk}").get_by_label("Notatka (opcjonalnie)")
    note.fill("Bankomat potwierdził wypłatę.")
    note.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text("jest oznaczona jako sprawdzona")
    expect(page.get_by_text("Brak płatności do pokazania.")).to_be_visible()
    check_page()
    assert AuthorizationReview.objects.get().note == "Bankomat potwierdził wypłatę."

    page.get_by_label("Pokaż", exact=True).select_option("reviewed")
    page.get_by_role("button", name="Pokaż").click()
    expect(page.locator(f"#review-{advice.pk}")).to_contain_text("Bankomat potwierdził wypłatę.")
    expect(page.locator(f"#review-{advice.pk}")).to_contain_text("Maria Kierownik")
    _assert_no_sideways_scrolling(page)
    check_page()

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Card payments to review")
    expect(page.locator(f"#review-{advice.pk}")).to_contain_text("Berlin, Germany (DE)")
    check_page()

    # The card's history, where the link leads, says who reviewed the advice.
    page.locator(f"#review-{advice.pk}").get_by_role("link", name="Anna Nowak").click()
    expect(page.locator(f"#authorization-{advice.pk}")).to_contain_text("reviewed by Maria Kierownik")
    check_page()


def test_a_supervisor_reads_the_scheduled_jobs_last_runs_on_a_phone_in_polish_and_english(
    page: Page, live_server, check_page, staff
):
    """Runs made by the task (one with counts), a failed one with its error: the page, axe, a phone, English."""
    from kartosfera.jobs.models import JobRun, JobRunState
    from kartosfera.jobs.services import job_slot_enqueue

    slot = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=30)
    done = job_slot_enqueue(job="purge_idempotency_records", slot=slot)
    failed = JobRun.objects.create(
        job="close_statements",
        slot=slot,
        source="schedule",
        state=JobRunState.FAILED,
        enqueued_at=slot,
        started_at=slot,
        finished_at=slot,
        attempts=1,
        counts={"statements": 3, "failed": 1},
        error="JobFailed: 1 account(s) could not be closed; the next run tries again.",
    )
    assert done is not None
    page.set_viewport_size({"width": 375, "height": 740})
    staff_sign_in(page, check_page, staff["supervisor"])

    page.locator('nav a[href="/backoffice/activity/"]').click()
    check_page()
    page.locator('main a[href="/backoffice/jobs/"]').click()
    expect(page).to_have_url(re.compile(r"/backoffice/jobs/$"))
    expect(page.locator('header nav a[href="/backoffice/activity/"]')).to_have_attribute("aria-current", "true")
    expect(page.locator(f"#run-{done.pk} .badge--job-succeeded")).to_be_visible()
    expect(page.locator(f"#run-{failed.pk} .badge--job-failed")).to_be_visible()
    expect(page.locator(f"#run-{failed.pk}")).to_contain_text("could not be closed")
    _assert_no_sideways_scrolling(page)
    check_page()

    # The summary's link leads to the job's section.
    page.locator('main a[href="#job-close_statements"]').click()
    expect(page.locator("#job-close_statements")).to_be_in_viewport()

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Scheduled jobs")
    expect(page.locator(f"#run-{done.pk}")).to_contain_text("stored answers deleted: 0")
    expect(page.locator(f"#run-{failed.pk}")).to_contain_text("statements closed: 3")
    page.set_viewport_size({"width": 1280, "height": 800})
    check_page()
