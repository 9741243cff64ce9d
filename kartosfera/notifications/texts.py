"""Every text message the portal sends is a registered template (docs/sms.md, "The texts").

An app declares its messages in ``<app>/sms_texts.py`` (imported at start-up,
like ``stepup_operations.py``)::

    SMS_LOCKED = sms_template(
        "users.locked",
        gettext_lazy("Kartosfera: ... locked until %(until)s ..."),
        examples=lambda: [{"until": LONGEST_DATETIME}],
    )
    sms_send(to=phone, message=SMS_LOCKED.render(until=locked_until), purpose="users.locked")

``sms_send`` takes only what ``render`` makes, so a text cannot be sent
without being registered, and a test renders every registered template with
its longest realistic values in every language: each must be GSM-7 and fit
one 160-character segment.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import formats, timezone

from kartosfera.core.money import Money
from kartosfera.notifications import gsm7

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from kartosfera.banks.models import Bank

logger = logging.getLogger(__name__)

SmsValue = Union[str, int, Money, dt.datetime]  # noqa: UP007 (a runtime alias, read by mypy)
Examples = Callable[[], Iterable[Mapping[str, SmsValue]]]

# The longest values a message realistically carries, shared by the templates' examples.
LONGEST_ONE_TIME_CODE = "999999"
# The latest minute of a year: in English "12/31/2026 11:59 p.m.", the longest way a time is written.
LONGEST_DATETIME = dt.datetime(2026, 12, 31, 23, 59, tzinfo=ZoneInfo("Europe/Warsaw"))
# A Polish number as people write it: +48 and 9 digits in groups.
LONGEST_PHONE_DISPLAY = "+48 86 215 50 00"
# E.164 allows 15 digits; masked ("+48 *** *** ***9 789") it is longest.
LONGEST_E164 = "+481234567890123"


# How a message names the group's portal where no one bank is concerned (and a bank with no short name
# that fits): the same word the texts began with before the group had several banks.
GROUP_SMS_NAME = "Kartosfera"
# A sender name has at most 11 characters (banks/validators.py): the longest name a message carries.
LONGEST_SMS_NAME = "W" * 11


def sms_bank_name(bank: Bank | None) -> str:
    """How a text names the bank it is about: its sender name, else its short name if that fits, else the group's."""
    if bank is None:
        return GROUP_SMS_NAME
    if bank.sms_sender:
        return bank.sms_sender
    short_name = bank.short_name.strip()
    return short_name if 0 < len(short_name) <= len(LONGEST_SMS_NAME) else GROUP_SMS_NAME


@dataclass(frozen=True)
class SmsText:
    """A message ready to send. Only ``SmsTemplate.render`` makes one; ``sms_send`` takes nothing else."""

    template: str
    text: str


@dataclass(frozen=True)
class SmsTemplate:
    """One kind of text message: its words (GSM-7 in every language) and its longest realistic values."""

    name: str
    text: StrOrPromise
    examples: Examples = field(repr=False)

    def render(self, **values: SmsValue) -> SmsText:
        """The message in the active language, each value written as an SMS writes it (``sms_value``)."""
        return SmsText(template=self.name, text=str(self.text) % {key: sms_value(v) for key, v in values.items()})


_registry: dict[str, SmsTemplate] = {}


def _no_values() -> Iterable[Mapping[str, SmsValue]]:
    return [{}]


def sms_template(name: str, text: StrOrPromise, *, examples: Examples = _no_values) -> SmsTemplate:
    """Register a text message under ``name``; ``examples`` gives the longest values it is rendered with."""
    if name in _registry:
        raise ImproperlyConfigured(f"SMS template {name!r} is registered twice")
    template = SmsTemplate(name=name, text=text, examples=examples)
    _registry[name] = template
    return template


def sms_template_list() -> list[SmsTemplate]:
    """Every registered text message, by name (for the tests and the docs)."""
    return [_registry[name] for name in sorted(_registry)]


def sms_value(value: SmsValue) -> str:
    """A value as an SMS writes it: amounts by ``Money.format(sms=True)``, times in Warsaw, text in GSM-7.

    Text from outside (a merchant's name, an operation's description written for
    the page too) may carry Polish letters: it is transliterated here, so the
    template's own words are the only thing a translator can get wrong.
    """
    if isinstance(value, Money):
        return value.format(sms=True)
    if isinstance(value, dt.datetime):
        local = timezone.localtime(value, ZoneInfo(settings.TIME_ZONE))
        return gsm7.transliterate(formats.date_format(local, "SHORT_DATETIME_FORMAT"))
    return gsm7.transliterate(str(value))


def sms_text_for_sending(message: SmsText) -> str:
    """The text to hand to the gateway: always GSM-7; anything else is a defect, logged and repaired.

    A stray diacritic in a translation is transliterated rather than refused:
    refusing would keep a sign-in code from its owner, while the plain letters
    read nearly as well. A text longer than one segment is still sent (the
    gateway splits it) and logged. The tests keep both from happening.
    """
    if not isinstance(message, SmsText) or _registry.get(message.template) is None:
        raise TypeError("sms_send takes a registered SmsTemplate's render(), not free text")
    text = message.text
    if not gsm7.is_gsm7(text):
        logger.error("sms text not in GSM-7, transliterated", extra={"sms_template": message.template})
        text = gsm7.transliterate(text)
    count = gsm7.septets(text) or 0
    if count > gsm7.SEGMENT_SEPTETS:
        logger.error("sms text longer than one segment", extra={"sms_template": message.template, "septets": count})
    return text
