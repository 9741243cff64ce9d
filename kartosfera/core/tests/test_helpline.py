from __future__ import annotations

from django.template import engines
from django.test import RequestFactory

from kartosfera.core.helpline import helpline


def test_helpline_defaults_to_the_groups_contact_centre() -> None:
    numbers = helpline()
    assert numbers.service.display == "+48 86 215 50 00"
    assert numbers.blocking.display == "+48 86 215 50 50"
    assert numbers.blocking.tel == "tel:+48862155050"


def test_helpline_follows_the_settings(settings) -> None:
    settings.HELPLINE_PHONE = "+48 22 000 11 22"
    assert helpline().service.tel == "tel:+48220001122"


def test_every_template_can_name_the_helpline() -> None:
    template = engines["django"].from_string('<a href="{{ helpline.service.tel }}">{{ helpline.service }}</a>')
    html = template.render({}, request=RequestFactory().get("/"))
    assert html == '<a href="tel:+48862155000">+48 86 215 50 00</a>'


def test_a_banks_own_numbers_answer_for_it(db) -> None:
    from kartosfera.testing.factories import bank_factory

    bank = bank_factory("BS-LOMZA", helpline_phone="+48 86 216 00 00", card_blocking_phone="+48 86 216 00 99")

    numbers = helpline(bank)

    assert numbers.service.display == "+48 86 216 00 00"
    assert numbers.blocking.tel == "tel:+48862160099"


def test_each_number_a_bank_has_not_set_is_the_groups(db) -> None:
    from kartosfera.testing.factories import bank_factory

    only_service = bank_factory("BS-ZAMBROW", helpline_phone="+48 86 271 00 00")
    neither = bank_factory("BS-KOLNO")

    assert helpline(only_service).service.display == "+48 86 271 00 00"
    assert helpline(only_service).blocking.display == "+48 86 215 50 50"
    assert helpline(neither) == helpline() == helpline(None)
