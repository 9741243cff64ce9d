"""The demo's staff: one per role, with a published password and TOTP codes shown only in development.

The group's contact centre (the agent, the supervisor, the auditor) sees every bank of the group; the
branch employee works for one bank (BS Demowo) and sees only its customers (docs/banks.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kartosfera.backoffice.auth import staff_member_create
from kartosfera.backoffice.models import StaffMember
from kartosfera.backoffice.roles import StaffRole
from kartosfera.core.audit import Actor
from kartosfera.demo.banks import DEMOWO, demo_bank

# Published on purpose: the demo prints it. Never loaded in production.
DEMO_STAFF_PASSWORD = "Zaplecze-demo-2026"  # noqa: S105
DEMO_UNIT = "Demo"


@dataclass(frozen=True)
class DemoStaffSpec:
    username: str
    full_name: str
    role: str
    # The work mobile a reset's enrolment link goes to (in development: the SMS outbox, /dev/sms-outbox/).
    work_phone: str
    bank: str | None = None  # the code of the bank the person works for; None: the group's staff


DEMO_STAFF = (
    DemoStaffSpec("agent", "Ewa Lis", StaffRole.AGENT, "+48600700101"),
    DemoStaffSpec("branch", "Tomasz Wrona", StaffRole.BRANCH, "+48600700102", bank=DEMOWO),
    DemoStaffSpec("supervisor", "Barbara Sowa", StaffRole.SUPERVISOR, "+48600700103"),
    DemoStaffSpec("auditor", "Jan Czapla", StaffRole.AUDITOR, "+48600700104"),
)


@transaction.atomic
def demo_staff_load() -> int:
    """Create the demo staff that are missing; returns how many were created."""
    if settings.IS_PRODUCTION:
        raise RuntimeError("demo staff are never created in production")
    created = 0
    for spec in DEMO_STAFF:
        if StaffMember.objects.filter(user__username=spec.username).exists():
            continue
        staff_member_create(
            actor=Actor.system("demo"),
            username=spec.username,
            full_name=spec.full_name,
            role=spec.role,
            password=DEMO_STAFF_PASSWORD,
            unit=DEMO_UNIT,
            bank=demo_bank(spec.bank) if spec.bank else None,
            work_phone=spec.work_phone,
        )
        created += 1
    return created


@dataclass(frozen=True)
class DemoStaffCode:
    username: str
    full_name: str
    role: str
    code: str
    seconds_left: int


def totp_now(device: TOTPDevice) -> tuple[str, int]:
    """The device's current code and how many seconds it has left."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    code = str(totp.token()).zfill(device.digits)
    seconds_left = device.step - int(time.time() - device.t0) % device.step
    return code, seconds_left


def demo_staff_codes() -> list[DemoStaffCode]:
    """The current TOTP codes of the demo staff (only theirs: the unit and user names of the demo)."""
    if not settings.DEBUG or settings.IS_PRODUCTION:
        return []
    names = [spec.username for spec in DEMO_STAFF]
    members = StaffMember.objects.select_related("user").filter(unit=DEMO_UNIT, user__username__in=names)
    devices = {d.user_id: d for d in TOTPDevice.objects.filter(user__in=[m.user for m in members], confirmed=True)}
    rows = []
    for member in sorted(members, key=lambda m: names.index(m.user.username)):
        device = devices.get(member.user_id)
        if device is None:
            continue
        code, left = totp_now(device)
        rows.append(DemoStaffCode(member.user.username, member.full_name, member.get_role_display(), code, left))
    return rows
