"""Keeps messages in memory (``outbox``) for the tests, like Django's locmem e-mail backend."""

from __future__ import annotations

from kartosfera.notifications.backends import BaseSmsBackend, Sms

outbox: list[Sms] = []


class SmsBackend(BaseSmsBackend):
    def send(self, message: Sms) -> str:
        outbox.append(message)
        return f"locmem-{len(outbox)}"
