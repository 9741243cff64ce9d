"""Rate limits of the sign-in and registration pages (django-ratelimit, counted in the default cache).

They sit in front of the per-account rules (3 wrong passwords lock access, 3
wrong codes end a challenge, 3 codes per challenge) and slow down what those
cannot see: guessing across many identifiers from one address, and sending
SMS messages to somebody else's phone. Only POSTs count. A refusal is the 429
page (RATELIMIT_VIEW).
"""

from __future__ import annotations

from django.http import HttpRequest

from kartosfera.users.selectors import normalize_identifier
from kartosfera.users.session_keys import REGISTRATION

# [ours] Generous for a person (who mistypes a few times), tight for a script.
LOGIN_PER_IDENTIFIER = "10/15m"
LOGIN_PER_IP = "60/h"
LOGIN_CODE_PER_IP = "30/15m"
REGISTER_PER_IDENTIFIER = "5/15m"
REGISTER_PER_IP = "20/h"
# Each of these sends an SMS: a few per identifier, so nobody floods a phone. They count per identifier
# (its digest), not per customer: an identifier that names nobody is limited alike, or the limit would tell
# customers from the rest [ASVS 5.0 6.3.8].
REGISTER_SEND_PER_IDENTIFIER = "3/15m"
REGISTER_SEND_PER_IP = "10/h"
# Daily caps per identifier, whatever the addresses: nobody can flood somebody's
# phone with activation passwords (at most 6 starts x 3 sends a day).
REGISTER_SEND_PER_IDENTIFIER_DAILY = "6/d"
REGISTER_ACTIVATE_PER_IDENTIFIER_DAILY = "30/d"
REGISTER_ACTIVATE_PER_IP = "30/h"
# Pages of a signed-in user that check the current password again (a new password, phone, login or BS Pay
# device): one budget per user for all of them, or each would be a password-guessing oracle for a session.
REAUTHENTICATION_GROUP = "users.reauthentication"
REAUTHENTICATION_RATE = "10/h"


def identifier_key(group: str, request: HttpRequest) -> str:
    """The identifier typed (normalized as the look-up normalizes it); django-ratelimit hashes the key.

    A blank identifier counts per address, or every blank form would share one bucket.
    """
    identifier = normalize_identifier(request.POST.get("identifier", "")).casefold()
    return f"id:{identifier}" if identifier else f"ip:{request.META.get('REMOTE_ADDR', '')}"


def registering_identifier_key(group: str, request: HttpRequest) -> str:
    """The identifier a registering session is about, as the digest step 1 kept (the address, when there is none).

    The same for a customer and for an identifier that names nobody (docs/access.md, "Registration").
    """
    state = request.session.get(REGISTRATION)
    digest = state.get("identifier") if isinstance(state, dict) else None
    return f"registration:{digest}" if digest else f"ip:{request.META.get('REMOTE_ADDR', '')}"
