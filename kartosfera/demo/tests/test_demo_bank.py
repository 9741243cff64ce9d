from __future__ import annotations

import datetime as dt
import hashlib
import io
import re

import pytest
from django.apps import apps
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from stdnum import iban, luhn
from stdnum.pl import nip, regon

from kartosfera.accounts.models import Account, AccountKind
from kartosfera.backoffice.models import StaffMember
from kartosfera.backoffice.roles import StaffRole
from kartosfera.banks.models import Bank
from kartosfera.banks.validators import WCAG_AA_CONTRAST, contrast_with_white, settlement_number_valid
from kartosfera.cards.credit_terms import interest_rate_legal_max
from kartosfera.cards.models import Brand, Card, CardProduct, Funding, Segment
from kartosfera.cards.operations import Operation, operation_allowed
from kartosfera.cards.pan import decrypt_pan, validate_pan
from kartosfera.cards.pin import pin_check, pin_matches, pin_verification_value
from kartosfera.cards.states import CardStatus, StatusReason
from kartosfera.core.models import ActorType, AuditEvent
from kartosfera.customers.identity import normalize_phone, validate_pesel
from kartosfera.customers.models import BankMembership, Customer, Residency
from kartosfera.demo.bank import (
    CUSTOMERS,
    DEMO_CARD_PIN,
    DEMO_HISTORY_DAYS,
    DEMO_PASSWORD,
    customer_reference,
    embossed_name,
)
from kartosfera.demo.banks import BANK_SPECS
from kartosfera.demo.identifiers import make_pesel
from kartosfera.testing.factories import customer_factory
from kartosfera.users.models import User, UserKind

pytestmark = pytest.mark.django_db


def load() -> str:
    out = io.StringIO()
    call_command("load_demo_bank", stdout=out)
    return out.getvalue()


@pytest.fixture
def output() -> str:
    return load()


def row_counts() -> dict[str, int]:
    """Rows per model, for every model with a table (including the audit log and users)."""
    tables = set(connection.introspection.table_names())
    counts = {m._meta.label: m._default_manager.count() for m in apps.get_models() if m._meta.db_table in tables}
    assert "core.AuditEvent" in counts
    return counts


def test_the_demo_bank_has_twenty_customers_with_valid_pesels_matching_their_sex(output):
    residents = Customer.objects.filter(residency=Residency.RESIDENT)
    assert Customer.objects.count() >= 20
    female = {customer_reference(spec.number): spec.female for spec in CUSTOMERS}
    for customer in residents:
        assert validate_pesel(customer.pesel) == customer.pesel
        # The tenth PESEL digit is even for women and odd for men.
        assert int(customer.pesel[9]) % 2 == (0 if female[customer.reference] else 1), customer.full_name
    assert {c.pesel[:2] for c in residents} >= {"56", "60", "87", "01", "04"}  # 1950s to 2000s
    assert any(ch in "ĄĆĘŁŃÓŚŹŻąćęłńóśźż" for c in residents for ch in c.full_name)


def test_the_demo_bank_has_a_non_resident_with_a_bank_id_and_a_customer_without_a_phone(output):
    non_resident = Customer.objects.filter(residency=Residency.NON_RESIDENT).first()
    assert non_resident is not None
    assert non_resident.pesel is None
    assert non_resident.nonresident_id
    phoneless = Customer.objects.filter(phone_on_file__isnull=True)
    assert phoneless.count() == 1
    assert not User.objects.filter(customer__in=phoneless).exists()
    for phone in Customer.objects.exclude(phone_on_file=None).values_list("phone_on_file", flat=True):
        assert normalize_phone(phone) == phone


def test_most_customers_are_registered_with_the_demo_password_and_a_few_are_not(output):
    users = User.objects.select_related("customer").filter(kind=UserKind.CUSTOMER)
    unregistered = Customer.objects.filter(portal_user__isnull=True)
    assert 3 <= unregistered.count() <= 4
    assert unregistered.filter(residency=Residency.RESIDENT, phone_on_file__isnull=False).exists()
    assert users.count() == Customer.objects.count() - unregistered.count()
    for user in users:
        assert user.check_password(DEMO_PASSWORD)
        validate_password(DEMO_PASSWORD, user)


def test_the_products_have_realistic_limit_maxima_and_defaults(output):
    products = CardProduct.objects.all()
    assert {p.brand for p in products} == {Brand.VISA, Brand.MASTERCARD}
    assert {p.funding for p in products} == {Funding.DEBIT, Funding.CREDIT}
    assert {p.segment for p in products} == {Segment.INDIVIDUAL, Segment.BUSINESS}
    assert products.filter(contactless_capable=False).exists()
    assert products.filter(currency="EUR").exists()
    classic = products.get(name="Visa Classic Debit")
    assert (classic.cash_limit_max_minor, classic.noncash_limit_max_minor) == (1_000_000, 3_000_000)
    for product in products:
        assert product.internet_limit_max_minor <= product.noncash_limit_max_minor
        if product.segment == Segment.INDIVIDUAL:
            assert product.internet_limit_default_minor == 0


def test_anna_opened_internet_payments_on_her_cards_as_a_holder_would(output):
    """The products' internet default is 0; the demo's online payments (the shop) need cards with a limit, set through
    the portal's limits service (audited), within the non-cash limit."""
    cards = Card.objects.filter(customer__first_name="Anna", customer__last_name="Kowalska")
    limits = {card.reference: card.internet_limit_minor for card in cards}
    assert sorted(limits.values()) == [100_000, 200_000, 300_000]
    assert all(card.internet_limit_minor <= card.noncash_limit_minor for card in cards)
    assert (
        AuditEvent.objects.filter(action="cards.card.limits_changed", object_id__in=[str(c.pk) for c in cards]).count()
        == 3
    )
    # Everybody else keeps the product's default (internet payments off) until they open them.
    assert (
        not Card.objects.exclude(customer__first_name="Anna")
        .filter(internet_limit_minor__gt=0, product__segment=Segment.INDIVIDUAL)
        .exists()
    )


def test_anna_blocked_gambling_on_her_gold_card_through_the_controls_service(output):
    """A finer control to see in the demo (docs/controls.md): set as the holder would, audited."""
    cards = Card.objects.filter(customer__first_name="Anna", customer__last_name="Kowalska")
    blocked = [card for card in cards if card.category_blocks]
    assert [card.category_blocks for card in blocked] == [{"gambling": None}]
    assert AuditEvent.objects.filter(action="cards.card.controls_changed", object_id=str(blocked[0].pk)).count() == 1


def test_accounts_have_valid_polish_ibans_and_credit_terms(output):
    for account in Account.objects.all():
        assert account.iban.startswith("PL")
        assert iban.is_valid(account.iban), account.iban
    credit = Account.objects.filter(kind=AccountKind.CREDIT)
    assert credit.exists()
    assert all(a.credit_limit_minor and a.billing_day for a in credit)
    assert credit.filter(balance_minor__lt=0).exists()


def test_the_credit_products_have_terms_and_the_credit_accounts_months_of_history(output):
    credit_products = CardProduct.objects.filter(funding=Funding.CREDIT)
    assert credit_products.count() == 3
    for product in credit_products.select_related("credit_terms"):
        terms = product.credit_terms
        assert 0 < terms.interest_rate_percent <= interest_rate_legal_max(), product
        assert 0 < terms.grace_period_days < 28  # due before the next statement date
        assert terms.cash_withdrawal_fee_percent > 0 and terms.fx_markup_percent > 0
    assert AuditEvent.objects.filter(action="cards.credit_terms.set").count() == 3
    # Opened at midnight in Warsaw DEMO_HISTORY_DAYS ago, so that the close finds months of billing periods.
    opened_on = timezone.localdate() - dt.timedelta(days=DEMO_HISTORY_DAYS)
    for account in Account.objects.filter(kind=AccountKind.CREDIT):
        assert timezone.localtime(account.created_at) == timezone.make_aware(dt.datetime.combine(opened_on, dt.time()))
    assert all(
        timezone.localdate(account.created_at) == timezone.localdate()
        for account in Account.objects.filter(kind=AccountKind.DEBIT)
    )


def test_a_demo_bank_loaded_before_the_credit_terms_gets_them(output):
    product = CardProduct.objects.get(code="DEMO-VISA-GOLD")
    product.credit_terms.delete()
    again = load()
    assert "1 credit products' terms" in again
    assert CardProduct.objects.get(pk=product.pk).credit_terms.interest_rate_percent > 0


def test_there_are_cards_in_every_status_of_every_kind(output):
    cards = list(Card.objects.select_related("product"))
    assert {c.status for c in cards} == set(CardStatus.values)
    assert any(c.is_expired() for c in cards)
    assert {c.status_reason for c in cards if c.status == CardStatus.BLOCKED} >= {StatusReason.BLOCKED_BY_CUSTOMER}
    assert {c.status_reason for c in cards if c.status == CardStatus.CANCELLED} & {
        StatusReason.LOST,
        StatusReason.STOLEN,
    }
    assert any(c.product.segment == Segment.BUSINESS for c in cards)
    assert any(not c.product.contactless_capable and not c.contactless_enabled for c in cards)
    assert {c.product.brand for c in cards} == {Brand.VISA, Brand.MASTERCARD}
    assert {(c.product.brand, c.product.funding) for c in cards} == {
        (brand, funding) for brand in Brand.values for funding in Funding.values
    }
    # The expired card is the only one; the other inactive cards are new.
    assert any(c.status == CardStatus.INACTIVE and not c.is_expired() for c in cards)


def test_an_employees_business_card_draws_on_the_owners_company_account(output):
    business = Card.objects.filter(product__segment=Segment.BUSINESS)
    assert business.count() >= 2
    assert len({card.account_id for card in business}) == 1
    assert len({card.customer_id for card in business}) >= 2


def test_every_card_number_is_luhn_valid_and_every_embossed_name_is_plain_latin(output):
    for card in Card.objects.select_related("product", "customer"):
        pan = decrypt_pan(card.pan_ciphertext)
        assert luhn.is_valid(pan)
        assert validate_pan(pan, brand=card.product.brand) == pan
        assert pan.endswith(card.pan_last4)
        assert card.embossed_name.isascii()
        assert card.embossed_name == embossed_name(card.customer.first_name, card.customer.last_name)


def test_everything_is_created_through_the_services_with_audit_rows(output):
    issued = AuditEvent.objects.filter(action="cards.card.issued")
    assert issued.count() == Card.objects.count()
    assert AuditEvent.objects.filter(action="customers.customer.created").count() == Customer.objects.count()
    assert set(AuditEvent.objects.values_list("actor_type", "actor_label").distinct()) == {(ActorType.SYSTEM, "demo")}
    pans = [decrypt_pan(c) for c in Card.objects.values_list("pan_ciphertext", flat=True)]
    audit_text = str(list(AuditEvent.objects.values("before", "after")))
    assert not any(pan in audit_text for pan in pans)


def test_every_demo_card_that_was_activated_has_the_demo_pin_set_through_the_pin_service(output):
    cards = list(Card.objects.select_related("customer", "product"))
    with_pin = [card for card in cards if card.pin_verification_value]
    # Activated cards have it, blocked and cancelled ones too (set before the block); never-activated ones cannot.
    assert {card.status for card in with_pin} == {CardStatus.ACTIVE, CardStatus.BLOCKED, CardStatus.CANCELLED}
    assert all(card.status == CardStatus.INACTIVE for card in cards if not card.pin_verification_value)
    for card in with_pin:
        assert pin_matches(DEMO_CARD_PIN, card=card), card.reference
        assert card.pin_changed_at is not None and card.wrong_pin_count == 0
        pin_check(DEMO_CARD_PIN, card=card)  # the demo PIN keeps the trivial-PIN rules for each card
    # One audit row per PIN set, by the demo, saying that the PIN changed and never what to.
    changed = AuditEvent.objects.filter(action="cards.card.pin_changed")
    assert sorted(int(e.object_id) for e in changed) == sorted(card.pk for card in with_pin)
    assert DEMO_CARD_PIN not in str(list(changed.values("before", "after")))


def test_a_demo_bank_loaded_before_pins_gets_them_and_a_pin_the_holder_chose_stays(output):
    active = list(Card.objects.filter(status=CardStatus.ACTIVE).select_related("customer", "product").order_by("pk"))
    chosen, *pinless = [card for card in active if operation_allowed(card, Operation.PIN_CHANGE)]
    Card.objects.filter(pk__in=[card.pk for card in pinless]).update(pin_verification_value="")
    Card.objects.filter(pk=chosen.pk).update(pin_verification_value=pin_verification_value("8520", card=chosen))

    again = load()

    assert f"0 credit products' terms, {len(pinless)} card PINs and 0 3-D Secure PINs set" in again
    for card in Card.objects.filter(pk__in=[card.pk for card in pinless]).select_related("customer"):
        assert pin_matches(DEMO_CARD_PIN, card=card)
    assert pin_matches("8520", card=Card.objects.get(pk=chosen.pk))


def test_loading_twice_writes_no_row_at_all(output):
    before = row_counts()
    with CaptureQueriesContext(connection) as queries:
        second_output = load()
    assert row_counts() == before
    writes = [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.IGNORECASE)]
    assert writes == []
    assert "already loaded" in second_output
    assert DEMO_PASSWORD in second_output


def test_the_output_lists_the_demo_logins(output):
    assert "http://127.0.0.1:8000/" in output
    assert DEMO_PASSWORD in output
    assert (
        f"Payment terminal: http://127.0.0.1:8000/dev/terminal/ — every active demo card's PIN is {DEMO_CARD_PIN}"
        in (output)
    )
    for customer in Customer.objects.all():
        assert (customer.pesel or customer.nonresident_id) in output
        assert customer.full_name in output
    assert "branch" in output
    for card in Card.objects.select_related("product"):
        assert f"{card.product.name} *{card.pan_last4}" in output


def test_the_output_never_contains_a_full_card_number(output):
    for ciphertext in Card.objects.values_list("pan_ciphertext", flat=True):
        assert decrypt_pan(ciphertext) not in output
    assert not re.search(r"\d{12,}", output)


def test_the_demo_bank_is_never_loaded_in_production(settings):
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        load()
    assert not Customer.objects.exists()


def test_a_failed_load_writes_nothing():
    # A customer of the bank who already holds a demo PESEL makes the load fail part-way.
    spec = CUSTOMERS[-3]
    taken = customer_factory(pesel=make_pesel(spec.birth_date, 271 * spec.number, female=spec.female))
    before = row_counts()
    with pytest.raises(CommandError, match="nothing was written"):
        load()
    assert row_counts() == before
    assert list(Customer.objects.all()) == [taken]


def test_the_demo_dates_are_relative_to_today(output):
    expired = [card for card in Card.objects.all() if card.is_expired()]
    assert len(expired) == 1
    today = timezone.localdate()
    assert today - dt.timedelta(days=800) < expired[0].expiry < today


def test_every_address_the_banner_prints_uses_the_demo_port():
    # scripts/demo.sh serves on DEMO_PORT and passes it on: an address with another port leads nowhere.
    out = io.StringIO()
    call_command("load_demo_bank", port=8101, stdout=out)
    addresses = re.findall(r"https?://[^\s]+", out.getvalue())

    assert len(addresses) >= 4  # the portal (twice), the back office, the staff codes
    assert all(address.startswith("http://127.0.0.1:8101/") for address in addresses), addresses
    assert "http://127.0.0.1:8101/backoffice/" in addresses
    assert "http://127.0.0.1:8101/dev/staff-codes/" in addresses
    assert "http://127.0.0.1:8101/dev/terminal/" in addresses


@pytest.mark.parametrize("port", ["0", "65536", "eighty"])
def test_a_port_that_is_no_port_is_refused(port):
    with pytest.raises(CommandError, match="port"):
        call_command("load_demo_bank", "--port", port, stdout=io.StringIO())


def test_the_demo_bank_provisions_its_eur_pln_rate_for_the_psd2_ceilings(output):
    from kartosfera.processing.conversion import eur_pln_reference_rate
    from kartosfera.processing.merchants import DEMO_EUR_PLN

    # Valid for the simulator's back-filled days too, not only from now.
    rate = eur_pln_reference_rate(at=timezone.now() - dt.timedelta(days=90))
    assert rate.provisioned and rate.pln_per_eur == DEMO_EUR_PLN


# --- The banks of the group -----------------------------------------------------------


def test_the_demo_has_three_banks_with_valid_identifiers_and_two_or_three_branches_each(output):
    banks = list(Bank.objects.prefetch_related("branches"))
    assert len(banks) == 3
    assert len({bank.settlement_number for bank in banks}) == 3
    for bank in banks:
        bank.full_clean()  # the settlement number, NIP, REGON, KRS, SMS sender and colour validators
        assert settlement_number_valid(bank.settlement_number)
        assert nip.is_valid(bank.nip) and regon.is_valid(bank.regon) and len(bank.krs) == 10
        assert bank.name and bank.short_name and bank.registered_address and bank.website
        assert contrast_with_white(bank.brand_colour) >= WCAG_AA_CONTRAST
        assert 2 <= len(bank.branches.all()) <= 3
        for branch in bank.branches.all():
            branch.full_clean()
            assert branch.phone and branch.opening_hours
            assert branch.postal_code in branch_postal_codes(bank.code)
    # One bank has no helplines of its own: its customers call the group's.
    assert sorted(bool(bank.helpline_phone) for bank in banks) == [False, True, True]
    # Each account number carries its own bank's settlement number.
    for account in Account.objects.select_related("bank"):
        assert account.iban[4:12] == account.bank.settlement_number


def branch_postal_codes(code: str) -> set[str]:
    return {branch.postal_code for branch in BANK_SPECS[code].branches}


def test_each_bank_has_its_hand_written_svg_logo_stored_with_its_digest(output):
    for bank in Bank.objects.all():
        logo = bytes(bank.logo)
        assert logo == BANK_SPECS[bank.code].logo_path.read_bytes()
        assert bank.logo_content_type == "image/svg+xml"
        assert bank.logo_digest == hashlib.sha256(logo).hexdigest()
        text = logo.decode()
        # Nothing that runs or fetches: no script, no event handler, no link or URL but the SVG namespace.
        assert "<script" not in text.lower() and not re.search(r"\son\w+=", text)
        assert "href" not in text and "url(" not in text
        assert re.findall(r"https?://[^\"\s]+", text) == ["http://www.w3.org/2000/svg"]
        assert bank.short_name in text
    changed = AuditEvent.objects.filter(action="banks.bank.logo_changed")
    assert sorted(changed.values_list("bank_id", flat=True)) == sorted(Bank.objects.values_list("pk", flat=True))


def test_most_customers_are_one_banks_and_every_card_is_its_products_banks(output):
    per_bank = dict(Bank.objects.annotate(n=Count("memberships")).values_list("code", "n"))
    busiest = max(per_bank, key=lambda code: per_bank[code])
    assert per_bank[busiest] > sum(per_bank.values()) / 2
    assert all(per_bank.values())  # every bank has customers
    for card in Card.objects.select_related("product", "account", "customer"):
        assert card.bank_id == card.product.bank_id == card.account.bank_id
        assert BankMembership.objects.filter(bank_id=card.bank_id, customer=card.customer).exists()


def test_one_person_holds_cards_of_two_banks_with_one_login(output):
    two_banks = Customer.objects.annotate(n=Count("memberships")).filter(n=2)
    assert two_banks.count() == 1
    person = two_banks.get()
    memberships = list(person.memberships.select_related("bank"))
    # A number at each bank, an account, a product and a card of each bank.
    assert len({m.customer_number for m in memberships}) == 2
    for membership in memberships:
        assert Account.objects.filter(customer=person, bank=membership.bank).exists()
        assert Card.objects.filter(customer=person, bank=membership.bank, product__bank=membership.bank).exists()
    assert User.objects.filter(customer=person).count() == 1
    assert AuditEvent.objects.filter(action="customers.membership.created", customer_id=person.pk).count() == 2


def test_the_demo_staff_are_the_groups_but_the_branch_employee_who_is_a_banks(output):
    members = {m.role: m for m in StaffMember.objects.select_related("bank")}
    assert members[StaffRole.BRANCH].bank is not None
    assert {role for role, m in members.items() if m.bank is None} == {
        StaffRole.AGENT,
        StaffRole.SUPERVISOR,
        StaffRole.AUDITOR,
    }
    branch_bank = members[StaffRole.BRANCH].bank.short_name
    assert re.search(rf"branch\s+Tomasz Wrona \(branch, {branch_bank}\)", output)
    assert re.search(r"agent\s+Ewa Lis \(agent, Grupa\)", output)


def test_the_banner_lists_the_banks_and_the_helpline_of_the_bank_without_its_own(output, settings):
    for bank in Bank.objects.all():
        assert bank.short_name in output and bank.name in output and bank.settlement_number in output
    assert f"helpline the group's, {settings.HELPLINE_PHONE}" in output
    for card in Card.objects.select_related("bank", "product"):
        assert f"{card.bank.short_name}: {card.product.name} *{card.pan_last4}" in output


def test_every_demo_customer_gets_the_demo_3d_secure_pin_and_a_reload_keeps_a_chosen_one(output):
    from kartosfera.cards.pin import threeds_pin_verification_value, values_match
    from kartosfera.demo.bank import DEMO_THREEDS_PIN
    from kartosfera.secure3d.models import ThreeDSProfile

    assert f"every demo customer's 3-D Secure PIN is {DEMO_THREEDS_PIN}" in output
    customers = list(Customer.objects.order_by("pk"))
    profiles = {p.customer_id: p for p in ThreeDSProfile.objects.all()}
    for customer in customers:
        expected = threeds_pin_verification_value(DEMO_THREEDS_PIN, customer=customer)
        assert values_match(profiles[customer.pk].pin_verification_value, expected), customer.pk
    # Through the portal's service: its audit row, never the PIN.
    set_rows = AuditEvent.objects.filter(action="secure3d.pin.set")
    assert set_rows.count() == len(customers)
    assert DEMO_THREEDS_PIN not in str(list(set_rows.values("before", "after")))
    # A PIN the holder chose stays on the next load.
    chosen = customers[0]
    chosen_value = threeds_pin_verification_value("8520", customer=chosen)
    ThreeDSProfile.objects.filter(customer=chosen).update(pin_verification_value=chosen_value)
    load()
    assert ThreeDSProfile.objects.get(customer=chosen).pin_verification_value == chosen_value


def test_anna_has_one_activated_bs_pay_device_with_the_published_key(output):
    from kartosfera.devices import signatures
    from kartosfera.devices.demo import DEMO_DEVICE_NAME, demo_device_private_key
    from kartosfera.devices.models import AppDevice, DeviceState

    device = AppDevice.objects.get()
    assert device.customer.pesel == Customer.objects.order_by("pk").first().pesel
    assert device.name == DEMO_DEVICE_NAME and device.state == DeviceState.ACTIVE
    assert device.public_key == signatures.public_key_text(demo_device_private_key())
    assert AuditEvent.objects.filter(action="devices.device.activated", object_id=str(device.pk)).exists()
    load()
    assert AppDevice.objects.count() == 1
