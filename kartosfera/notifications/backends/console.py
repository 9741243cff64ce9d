"""Writes each message to standard output (development without the outbox page)."""

from __future__ import annotations

import sys

from kartosfera.notifications.backends import BaseSmsBackend, Sms


class SmsBackend(BaseSmsBackend):
    def send(self, message: Sms) -> str:
        stream = self.options.get("stream") or sys.stdout
        sender = f" from {message.sender}" if message.sender else ""
        stream.write(f"SMS to {message.to}{sender}: {message.text}\n")
        stream.flush()
        return ""
