"""Test helpers for the pages that run a passkey ceremony: the options a page wrote, a passkey added directly."""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpResponse

from kartosfera.core.audit import Actor
from kartosfera.testing.webauthn import SoftAuthenticator
from kartosfera.users.models import Passkey, User
from kartosfera.users.passkeys import passkey_register, passkey_registration_options, relying_party

# The test client's site: http://testserver, the SoftAuthenticator's default relying party and origin.
TEST_RP = relying_party(host="testserver", secure=False)
_OPTIONS = re.compile(r'<script id="passkey-options" type="application/json">(.*?)</script>', re.DOTALL)


def page_options(response: HttpResponse) -> dict[str, Any]:
    """The WebAuthn options a page wrote for its script (the json_script block "passkey-options")."""
    match = _OPTIONS.search(response.content.decode())
    assert match, "no passkey options on the page"
    options: dict[str, Any] = json.loads(match.group(1))
    return options


def passkey_add_directly(
    user: User, authenticator: SoftAuthenticator | None = None, *, name: str = "Telefon"
) -> tuple[Passkey, SoftAuthenticator]:
    """A passkey on file for ``user`` without the settings pages (they are tested on their own)."""
    authenticator = authenticator or SoftAuthenticator()
    options, challenge = passkey_registration_options(user=user, rp=TEST_RP, account_name="test")
    passkey = passkey_register(
        actor=Actor.for_user(user),
        user=user,
        rp=TEST_RP,
        challenge=challenge,
        response=authenticator.create(options),
        name=name,
    )
    return passkey, authenticator
