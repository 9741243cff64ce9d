"""No password, activation password, SMS code or identifier in the audit log or the logs."""

from __future__ import annotations

import json
import logging

from kartosfera.core.models import AuditEvent
from kartosfera.notifications.backends import locmem
from kartosfera.notifications.models import OutboundSms
from kartosfera.users.tests.helpers import (
    LOGIN_CODE_URL,
    NEW_PASSWORD,
    REGISTER_ACTIVATE_URL,
    REGISTER_PASSWORD_URL,
    REGISTER_SEND_URL,
    REGISTER_URL,
    last_activation_password,
    last_login_code,
)


def test_a_full_registration_and_login_leave_no_secret_anywhere(portal, stranger, caplog):
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [NEW_PASSWORD, "Złe hasło numer jeden"]

    portal.post(REGISTER_URL, {"identifier": stranger.identifier})
    portal.post(REGISTER_SEND_URL)
    portal.post(REGISTER_ACTIVATE_URL, {"activation_password": "ZZZZZZZZZZ"})
    secrets.append(last_activation_password())
    portal.post(REGISTER_ACTIVATE_URL, {"action": "resend"})
    secrets.append(last_activation_password())
    portal.post(REGISTER_ACTIVATE_URL, {"activation_password": secrets[-1]})
    portal.post(REGISTER_PASSWORD_URL, {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    portal.client.post("/logout/")
    portal.password_step(stranger.identifier, "Złe hasło numer jeden")
    portal.password_step(stranger.identifier, NEW_PASSWORD)
    first_code = last_login_code()
    secrets.append(first_code)
    portal.code_step(f"{(int(first_code) + 1) % 10**6:06d}")
    portal.post(LOGIN_CODE_URL, {"action": "resend"})
    secrets.append(last_login_code())
    portal.code_step(secrets[-1])
    assert portal.signed_in_user_id is not None
    assert len(locmem.outbox) == 4

    events = list(AuditEvent.objects.all())
    assert {"users.registration.started", "users.registration.completed", "users.login.succeeded"} <= {
        e.action for e in events
    }
    audit_text = json.dumps(
        [[e.actor_label, e.object_id, e.before, e.after, e.request_id] for e in events], ensure_ascii=False
    )
    stored_sms = json.dumps([[m.to, m.text_ciphertext, m.purpose] for m in OutboundSms.objects.all()])
    for secret in secrets:
        assert secret not in audit_text, secret
        assert secret.upper() not in audit_text.upper(), secret
        assert secret not in caplog.text, secret
        assert secret not in stored_sms, secret  # delivered messages are wiped
    # The identifier typed is not a secret, but the trail never needs it (it may be somebody else's).
    assert stranger.identifier not in audit_text
    assert stranger.identifier not in caplog.text
