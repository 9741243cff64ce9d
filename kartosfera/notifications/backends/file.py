"""Appends each message as one JSON line (time, number, text) to the demo's outbox file.

For the demo only: the file holds the codes in clear so that a demo user can
read them on the outbox page. Production settings refuse this backend.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from kartosfera.notifications.backends import BaseSmsBackend, Sms


def outbox_path() -> Path:
    return Path(getattr(settings, "SMS_OUTBOX_PATH", settings.BASE_DIR / "var" / "sms-outbox.jsonl"))


class SmsBackend(BaseSmsBackend):
    def send(self, message: Sms) -> str:
        path = outbox_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {
                "time": timezone.now().isoformat(),
                "to": message.to,
                "sender": message.sender,
                "text": message.text,
                "id": message.reference,
            },
            ensure_ascii=False,
        )
        # O_APPEND keeps concurrent writers' lines whole.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        return message.reference
