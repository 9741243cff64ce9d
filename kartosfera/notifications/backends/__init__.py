"""SMS backends, chosen by settings.SMS_BACKEND the way Django chooses e-mail backends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Sms:
    to: str
    text: str
    reference: str  # our message id, for the gateway's delivery reports
    sender: str = ""  # the bank's sender name; "" = the backend's default (the group's)


class SmsDeliveryError(Exception):
    """The gateway did not take the message; ``retryable`` says whether trying again may help.

    The message of the error must never contain the text sent (it carries codes)
    or credentials: it is stored in OutboundSms.last_error, logged and audited.
    """

    def __init__(self, message: str, *, retryable: bool = True, status_code: int | None = None) -> None:
        self.retryable = retryable
        self.status_code = status_code
        super().__init__(message)


class BaseSmsBackend:
    def __init__(self, **options: Any) -> None:
        self.options = options

    def send(self, message: Sms) -> str:
        """Hand one message to the gateway; return the gateway's message id (or "")."""
        raise NotImplementedError


def get_sms_backend() -> BaseSmsBackend:
    backend_class = import_string(settings.SMS_BACKEND)
    return backend_class(**getattr(settings, "SMS_BACKEND_OPTIONS", {}))
