"""Bank staff for tests: accounts per role, their current TOTP code, a signed-in staff test client."""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kartosfera.backoffice.auth import staff_member_create
from kartosfera.backoffice.models import StaffMember
from kartosfera.backoffice.roles import StaffRole
from kartosfera.backoffice.session import REALM_KEY, STAFF
from kartosfera.banks.models import Bank
from kartosfera.core.audit import Actor
from kartosfera.testing.factories import bank_factory
from kartosfera.users.models import User
from kartosfera.users.session_timeout import LAST_ACTIVITY_KEY, STARTED_KEY

STAFF_PASSWORD = "Biuro-obslugi-2026!"  # noqa: S105


@dataclass
class StaffPerson:
    member: StaffMember
    device: TOTPDevice
    password: str = STAFF_PASSWORD

    @property
    def user(self) -> User:
        return self.member.user

    @property
    def username(self) -> str:
        return self.member.user.username

    def code(self, *, offset_steps: int = 0) -> str:
        """The authenticator's code now (or ``offset_steps`` time steps away)."""
        device = TOTPDevice.objects.get(pk=self.device.pk)
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time() + offset_steps * device.step
        return str(totp.token()).zfill(device.digits)


def staff_person_create(
    role: str,
    *,
    username: str | None = None,
    full_name: str = "Test Staff",
    bank: Bank | None = None,
    work_phone: str | None = "",
) -> StaffPerson:
    """A staff member with ``role``: the group's, or ``bank``'s (a branch employee is the tests' default bank's).

    ``work_phone``: where their enrolment links go; "" gives each member a number of their own, None none.
    """
    if role == StaffRole.BRANCH and bank is None:
        bank = bank_factory()
    number = StaffMember.objects.count() + 1
    member, device = staff_member_create(
        bank=bank,
        actor=Actor.system("tests"),
        username=username or f"{role}-{number}",
        full_name=full_name,
        role=role,
        password=STAFF_PASSWORD,
        work_phone=f"+4860070{number:04d}" if work_phone == "" else work_phone,
    )
    return StaffPerson(member=member, device=device)


def staff_client(person: StaffPerson, client: Client | None = None) -> Client:
    """A test client signed in to the back office as ``person`` (both factors done), in the staff cookie."""
    client = client or Client()
    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore()
    user = person.member.user
    now = time.time()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "kartosfera.backoffice.backends.StaffBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = person.device.persistent_id
    session[REALM_KEY] = STAFF
    session[STARTED_KEY] = now
    session[LAST_ACTIVITY_KEY] = now
    session.save()
    client.cookies[settings.STAFF_SESSION_COOKIE_NAME] = session.session_key
    return client
