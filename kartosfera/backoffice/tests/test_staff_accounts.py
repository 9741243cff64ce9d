"""Staff accounts and sessions: the own password, enrolment links, resets, disabling, ending sessions.

ASVS 5.0: 6.2.2 (staff change their own password), 6.4.6 (an administrator starts an enrolment or reset
but never chooses or sees the password, nor the link, which goes by SMS to the member's own work phone),
6.4.4 (a lost authenticator is replaced only through a reset
that removes the old one), 6.5.6 (any factor can be revoked: an account disabled, its devices removed),
7.4.5 (an administrator ends the sessions of one user or of all users).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import time
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.access_log import redact_one_time_tokens
from kartosfera.backoffice import urls as backoffice_urls
from kartosfera.backoffice.auth import StaffLoginRefused, staff_login_code, staff_login_password
from kartosfera.backoffice.checks import backoffice_base_url_check, backoffice_base_url_deploy_check
from kartosfera.backoffice.forms import StaffAccountForm
from kartosfera.backoffice.models import StaffEnrolment, StaffMember
from kartosfera.backoffice.tests.helpers import action_post_data, customer_action_url, phone_verify
from kartosfera.core.audit_actions import audit_action_require
from kartosfera.core.models import AuditEvent
from kartosfera.customers.identity import mask_phone
from kartosfera.notifications.backends import locmem
from kartosfera.notifications.models import OutboundSms
from kartosfera.testing import factories
from kartosfera.testing.pwned import FakePwnedPasswords, sha1_hex
from kartosfera.testing.staff import STAFF_PASSWORD, staff_client, staff_person_create
from kartosfera.users.models import User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Nowe-haslo-zaplecza-7"
HOME = reverse("backoffice:home")
PASSWORD_URL = reverse("backoffice:password")
STAFF_URL = reverse("backoffice:staff_accounts")


def _signed_in(client: Client) -> bool:
    """Whether ``client``'s back-office session still works (a page, not the sign-in redirect)."""
    return client.get(HOME).status_code == 200


def _device_code(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    device = TOTPDevice.objects.get(pk=device.pk)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return str(totp.token()).zfill(device.digits)


# --- 6.2.2: the own password ---------------------------------------------------------------------------


def _change(client: Client, person, *, current: str = STAFF_PASSWORD, new: str = NEW_PASSWORD, code: str | None = None):
    return client.post(
        PASSWORD_URL,
        {
            "current_password": current,
            "new_password": new,
            "new_password_repeat": new,
            "code": person.code() if code is None else code,
        },
    )


def test_staff_change_their_own_password_and_their_other_sessions_end(staff):
    person = staff["agent"]
    desk, laptop = staff_client(person), staff_client(person)

    page = desk.get(PASSWORD_URL)
    response = _change(desk, person)

    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert response.status_code == 302 and response["Location"] == HOME
    user = User.objects.get(pk=person.user.pk)
    assert user.check_password(NEW_PASSWORD) and not user.check_password(STAFF_PASSWORD)
    assert user.password_changed_at is not None
    event = AuditEvent.objects.get(action="backoffice.staff.password_changed")
    assert event.actor_id == str(user.pk) and NEW_PASSWORD not in str(event.after)
    # This session goes on; the member's other session has ended.
    assert _signed_in(desk)
    assert not _signed_in(laptop)
    # The new password signs in.
    assert staff_login_password(username=person.username, password=NEW_PASSWORD).pk == user.pk


@pytest.mark.parametrize("wrong", ["password", "code"])
def test_a_wrong_current_password_or_code_changes_nothing_and_is_audited(staff, wrong):
    person = staff["branch"]
    client = staff_client(person)
    right_code = person.code()
    wrong_code = str((int(right_code) + 1) % 1_000_000).zfill(6)

    response = _change(
        client,
        person,
        current="Zle-haslo-123456" if wrong == "password" else STAFF_PASSWORD,
        code=wrong_code if wrong == "code" else right_code,
    )

    assert response.status_code == 400
    assert User.objects.get(pk=person.user.pk).check_password(STAFF_PASSWORD)
    event = AuditEvent.objects.get(action="backoffice.staff.password_change_refused")
    assert event.after == {"step": wrong}
    assert not AuditEvent.objects.filter(action="backoffice.staff.password_changed").exists()
    assert _signed_in(client)


def test_the_new_password_follows_the_staff_policy(staff):
    """At least 12 characters, not the user name or name (backoffice/passwords.py), and typed the same twice."""
    person = staff["auditor"]
    client = staff_client(person)

    short = _change(client, person, new="Krotkie-1")
    personal = _change(client, person, new="Adam-Rewident-2026")
    differ = client.post(
        PASSWORD_URL,
        {
            "current_password": STAFF_PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD + "x",
            "code": person.code(),
        },
    )

    assert short.status_code == personal.status_code == differ.status_code == 400
    assert "12" in short.content.decode()
    assert User.objects.get(pk=person.user.pk).check_password(STAFF_PASSWORD)
    assert not AuditEvent.objects.filter(action__startswith="backoffice.staff.password_change").exists()


def test_a_breached_password_is_refused_on_the_staff_password_page(staff, settings):
    """[ASVS 5.0 6.2.12] The staff policy (backoffice/passwords.py) shares the breached-password check; a real
    range API server on 127.0.0.1 (kartosfera/testing/pwned.py) answers it."""
    person = staff["agent"]
    client = staff_client(person)
    breached = "Wiosenny deszcz nad Wisla 1999"
    with FakePwnedPasswords([breached]) as server:
        settings.PWNED_PASSWORDS_URL = server.url
        refused = _change(client, person, new=breached)
        assert refused.status_code == 400
        assert "To hasło pojawiło się w wycieku danych" in html.unescape(refused.content.decode())
        assert User.objects.get(pk=person.user.pk).check_password(STAFF_PASSWORD)
        assert [r.path for r in server.received] == [f"/range/{sha1_hex(breached)[:5]}"]


def test_the_password_page_has_a_rate_limit(staff):
    """10 tries an hour per member, as the portal's password change: then 429 and nothing is checked."""
    person = staff["agent"]
    client = staff_client(person)
    for _ in range(10):
        assert _change(client, person, new="short").status_code == 400

    response = _change(client, person)

    assert response.status_code == 429
    assert "Zbyt wiele prób" in response.content.decode()
    assert User.objects.get(pk=person.user.pk).check_password(STAFF_PASSWORD)


def test_the_password_page_needs_csrf_and_a_staff_session(staff, cardholder):
    person = staff["agent"]
    strict = staff_client(person, Client(enforce_csrf_checks=True))
    cardholder_client = Client()
    cardholder_client.force_login(cardholder.user)

    assert _change(strict, person).status_code == 403
    assert cardholder_client.get(PASSWORD_URL).status_code == 302
    assert Client().get(PASSWORD_URL)["Location"].startswith(reverse("backoffice:login"))
    assert User.objects.get(pk=person.user.pk).check_password(STAFF_PASSWORD)


# --- 6.4.6 and 6.4.4: enrolment links ---------------------------------------------------------------

PHONE = "+48601234567"


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _sms_link(to: str) -> tuple[str, str]:
    """The enrolment link of the last SMS to ``to`` (sent after the commit): the whole link and its token."""
    messages = [m for m in locmem.outbox if m.to == to]
    assert messages, f"no SMS to {to}: {[m.to for m in locmem.outbox]}"
    match = re.search(r"(https?://\S+)/backoffice/enrol/([A-Za-z0-9_-]+)/", messages[-1].text)
    assert match, messages[-1].text
    return match.group(0), match.group(2)


def _path(link: str) -> str:
    return urlsplit(link).path


def _enrol(client: Client, link: str, *, password: str = NEW_PASSWORD, code_offset: int = 0):
    """Open ``link``, read the new authenticator from the page, and send the password and its code."""
    opened = client.get(_path(link))
    assert opened.status_code == 302 and opened["Location"] == reverse("backoffice:enrol")
    page = client.get(opened["Location"])
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    enrolment = StaffEnrolment.objects.get(used_at__isnull=True)
    assert enrolment.device is not None and html.escape(enrolment.device.config_url) in page.content.decode()
    code = _device_code(enrolment.device, offset_steps=code_offset)
    return client.post(
        reverse("backoffice:enrol"), {"new_password": password, "new_password_repeat": password, "code": code}
    )


def _token_nowhere_but_the_sms(token: str) -> None:
    """The token is in no audit row, and the SMS's stored text was wiped once the gateway took it."""
    assert not [event.pk for event in AuditEvent.objects.all() if token in f"{event.before} {event.after}"]
    assert OutboundSms.objects.filter(purpose="backoffice.staff.enrolment").exists()
    assert not OutboundSms.objects.filter(purpose="backoffice.staff.enrolment").exclude(text_ciphertext="").exists()


def _create(capture, username: str, *args: str) -> str:
    with capture(execute=True):
        return _command("create_staff_user", username, "--name", "Ola Nowa", "--role", "agent", *args)


def test_create_staff_user_sends_the_link_to_the_employees_phone_alone_and_only_they_set_the_password(
    monkeypatch, settings, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("the command asked for a password"))
    settings.BACKOFFICE_BASE_URL = "https://zaplecze.bank.example"
    output = _create(django_capture_on_commit_callbacks, "ola.nowa", "--phone", "601 234 567")

    link, token = _sms_link(PHONE)
    # The link goes to the phone alone: absolute, from BACKOFFICE_BASE_URL, and the command prints only where.
    assert link == f"https://zaplecze.bank.example/backoffice/enrol/{token}/"
    assert token not in output and "/backoffice/enrol/" not in output
    assert "+48 *** *** 567" in output
    member = StaffMember.objects.get(user__username="ola.nowa")
    assert member.work_phone == PHONE
    # Nobody can sign in yet: no usable password, no authenticator.
    assert not member.user.has_usable_password()
    assert not TOTPDevice.objects.filter(user=member.user).exists()
    # Only the token's digest is stored; the command is the issuer (no user).
    enrolment = StaffEnrolment.objects.get(member=member)
    assert token not in enrolment.token_digest and len(enrolment.token_digest) == 64
    assert enrolment.expires_at - enrolment.created_at == dt.timedelta(hours=24)
    assert enrolment.issued_by is None
    assert AuditEvent.objects.get(action="backoffice.staff.created").after["link_sent_to"] == "+48 *** *** 567"
    _token_nowhere_but_the_sms(token)

    client = Client()
    done = _enrol(client, link)

    assert done.status_code == 200 and reverse("backoffice:login") in done.content.decode()
    user = User.objects.get(pk=member.user_id)
    assert user.check_password(NEW_PASSWORD)
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert AuditEvent.objects.get(action="backoffice.staff.enrolled").after == {
        "purpose": "new",
        "issued_by_id": None,
        "issued_by": None,
    }
    # The member signs in with both factors.
    signed = staff_login_password(username="ola.nowa", password=NEW_PASSWORD)
    assert staff_login_code(user=signed, code=_device_code(device, offset_steps=1)).pk == device.pk
    # The link worked once: a spent one leads to the page that says so (a 404 there, where no token is in the path).
    assert Client().get(_path(link), follow=True).status_code == 404
    _token_nowhere_but_the_sms(token)


@pytest.mark.parametrize(
    ("phone", "field"), [("", "phone"), ("12", "phone"), ("+48 22 000", "phone")], ids=["empty", "short", "invalid"]
)
def test_create_staff_user_needs_a_valid_work_phone_and_creates_nothing_without_one(
    monkeypatch, django_capture_on_commit_callbacks, phone, field
):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("the command asked for a password"))

    with pytest.raises(CommandError, match=f"{field}: .*nothing was created"):
        _create(django_capture_on_commit_callbacks, "ola.bez", "--phone", phone)

    assert not User.objects.filter(username="ola.bez").exists()
    assert not StaffEnrolment.objects.exists() and not OutboundSms.objects.exists() and not locmem.outbox
    assert not AuditEvent.objects.filter(action="backoffice.staff.created").exists()


def test_an_expired_link_and_a_wrong_code_enrol_nothing(django_capture_on_commit_callbacks):
    _create(django_capture_on_commit_callbacks, "jan.late", "--phone", PHONE)
    StaffEnrolment.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        _command("staff_account", "reset", "jan.late", "--reason", "HR checked the ID card")
    link, _token = _sms_link(PHONE)
    client = Client()
    client.get(_path(link))
    enrolment = StaffEnrolment.objects.get(used_at__isnull=True)
    client.get(reverse("backoffice:enrol"))
    enrolment.refresh_from_db()
    right = _device_code(enrolment.device)

    wrong = client.post(
        reverse("backoffice:enrol"),
        {
            "new_password": NEW_PASSWORD,
            "new_password_repeat": NEW_PASSWORD,
            "code": str((int(right) + 1) % 1_000_000).zfill(6),
        },
    )

    assert wrong.status_code == 400
    user = User.objects.get(username="jan.late")
    assert not user.has_usable_password()
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    # The first link (expired, and replaced by the reset's) leads nowhere.
    assert StaffEnrolment.objects.count() == 1
    StaffEnrolment.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.get(reverse("backoffice:enrol")).status_code == 404
    assert Client().get(_path(link), follow=True).status_code == 404


def _reset(boss: Client, person, reason: str = "Lost phone; HR checked the ID card"):
    return boss.post(
        reverse("backoffice:staff_account_action", args=[person.member.pk, "reset"]),
        {f"reset-{person.member.pk}-reason": reason},
    )


def test_a_supervisors_reset_removes_the_authenticator_and_password_and_ends_the_sessions(
    staff, django_capture_on_commit_callbacks
):
    """A lost authenticator: HR proves who the person is, a supervisor resets, the person enrols a new one."""
    target, supervisor = staff["agent"], staff["supervisor"]
    target_session = staff_client(target)
    old_device_pk = target.device.pk
    boss = staff_client(supervisor)

    with django_capture_on_commit_callbacks(execute=True):
        response = _reset(boss, target)

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    link, _token = _sms_link(target.member.work_phone)
    assert not TOTPDevice.objects.filter(user=target.user).exists()
    assert not User.objects.get(pk=target.user.pk).has_usable_password()
    assert not _signed_in(target_session)
    with pytest.raises(StaffLoginRefused):
        staff_login_password(username=target.username, password=STAFF_PASSWORD)
    event = AuditEvent.objects.get(action="backoffice.staff.reset")
    assert event.actor_id == str(supervisor.user.pk)
    assert event.after["reason"] == "Lost phone; HR checked the ID card" and event.after["devices_removed"] == 1
    assert StaffEnrolment.objects.get().issued_by == supervisor.user
    # The link is the member's way back; the old device is gone for good.
    assert _enrol(Client(), link).status_code == 200
    assert not TOTPDevice.objects.filter(pk=old_device_pk).exists()
    # The page never shows a password, and the supervisor's own session goes on.
    assert STAFF_PASSWORD not in response.content.decode()
    assert _signed_in(boss)


def test_the_reset_page_shows_where_the_link_went_and_never_the_link(staff, django_capture_on_commit_callbacks):
    """[ASVS 5.0 6.4.6] The supervisor who resets learns the masked work phone and the expiry, never the token."""
    target, supervisor = staff["branch"], staff["supervisor"]
    boss = staff_client(supervisor)

    with django_capture_on_commit_callbacks(execute=True):
        response = _reset(boss, target)

    page = html.unescape(response.content.decode())
    _link, token = _sms_link(target.member.work_phone)
    assert token not in page and "/backoffice/enrol/" not in page
    assert mask_phone(target.member.work_phone) in page
    enrolment = StaffEnrolment.objects.get(member=target.member)
    assert date_format(timezone.localtime(enrolment.expires_at), "SHORT_DATETIME_FORMAT") in page
    # Nor does any later page of the supervisor show it.
    assert token not in boss.get(STAFF_URL).content.decode()
    event = AuditEvent.objects.get(action="backoffice.staff.reset")
    assert event.after["link_sent_to"] == mask_phone(target.member.work_phone)
    _token_nowhere_but_the_sms(token)


def test_the_enrolled_audit_row_names_the_supervisor_who_issued_the_link(staff, django_capture_on_commit_callbacks):
    target, supervisor = staff["auditor"], staff["supervisor"]
    with django_capture_on_commit_callbacks(execute=True):
        _reset(staff_client(supervisor), target)
    link, token = _sms_link(target.member.work_phone)

    assert _enrol(Client(), link).status_code == 200

    event = AuditEvent.objects.get(action="backoffice.staff.enrolled")
    assert event.actor_id == str(target.user.pk)
    assert event.after == {"purpose": "reset", "issued_by_id": supervisor.user.pk, "issued_by": supervisor.username}
    assert token not in str(event.after)
    detail = audit_action_require(event.action).detail
    assert detail is not None and supervisor.username in str(detail(event.before, event.after, True))


def test_a_member_without_a_work_phone_is_refused_a_reset_and_keeps_their_password_and_authenticator(
    staff, django_capture_on_commit_callbacks
):
    target = staff_person_create("agent", username="bez.telefonu", full_name="Jan Bez", work_phone=None)
    target_session = staff_client(target)
    boss = staff_client(staff["supervisor"])
    refusal = gettext(
        "%(name)s has no work phone on file, so the enrolment link cannot be sent. An administrator must set "
        "the work phone first (manage.py staff_user_phone)."
    ) % {"name": "Jan Bez"}

    with django_capture_on_commit_callbacks(execute=True):
        page = _reset(boss, target)
        with pytest.raises(CommandError, match=re.escape(refusal)):
            _command("staff_account", "reset", "bez.telefonu", "--reason", "HR checked")

    assert page.status_code == 400 and refusal in html.unescape(page.content.decode())
    assert not StaffEnrolment.objects.exists() and not OutboundSms.objects.exists() and not locmem.outbox
    assert User.objects.get(pk=target.user.pk).check_password(STAFF_PASSWORD)
    assert TOTPDevice.objects.get(user=target.user).pk == target.device.pk
    assert _signed_in(target_session)
    assert not AuditEvent.objects.filter(action="backoffice.staff.reset").exists()
    assert AuditEvent.objects.get(action="backoffice.action_refused").after == {
        "action": "staff_reset",
        "refusal": "no_work_phone",
    }


def test_supervisors_have_no_way_to_set_a_work_phone(staff, django_capture_on_commit_callbacks):
    """Whoever could change the number could send a member's link to themselves: no field, no page, no route."""
    target, boss = staff["agent"], staff_client(staff["supervisor"])
    before = target.member.work_phone

    page = boss.get(STAFF_URL).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        # A reset with a number slipped in: the number is ignored, the link goes to the member's own phone.
        boss.post(
            reverse("backoffice:staff_account_action", args=[target.member.pk, "reset"]),
            {
                f"reset-{target.member.pk}-reason": "HR checked",
                f"reset-{target.member.pk}-work_phone": "+48699999999",
                "work_phone": "+48699999999",
                "phone": "+48699999999",
            },
        )

    assert not re.search(r'name="[^"]*phone', page)
    assert "phone" not in StaffAccountForm().fields
    assert not [p.name for p in backoffice_urls.urlpatterns if "phone" in str(p.pattern) or "phone" in (p.name or "")]
    assert StaffMember.objects.get(pk=target.member.pk).work_phone == before
    assert {m.to for m in locmem.outbox} == {before}


def test_the_staff_user_phone_command_sets_the_number_audits_it_and_ends_an_open_link(
    django_capture_on_commit_callbacks,
):
    _create(django_capture_on_commit_callbacks, "ola.zmiana", "--phone", PHONE)
    old_link, _token = _sms_link(PHONE)

    output = _command("staff_user_phone", "ola.zmiana", "+48 602 000 111", "--reason", "Work phone replaced; HR")

    member = StaffMember.objects.get(user__username="ola.zmiana")
    assert member.work_phone == "+48602000111"
    assert "+48 *** *** 111" in output
    event = AuditEvent.objects.get(action="backoffice.staff.work_phone_set")
    assert event.actor_type == "system"
    assert event.before == {"work_phone": "+48 *** *** 567"}
    assert event.after == {"reason": "Work phone replaced; HR", "work_phone": "+48 *** *** 111", "links_revoked": 1}
    # The link sent to the old phone is dead; a reset sends a new one to the new number.
    assert Client().get(_path(old_link), follow=True).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        _command("staff_account", "reset", "ola.zmiana", "--reason", "HR checked")
    assert _enrol(Client(), _sms_link("+48602000111")[0]).status_code == 200
    with pytest.raises(CommandError, match="phone"):
        _command("staff_user_phone", "ola.zmiana", "12", "--reason", "Typo")
    with pytest.raises(CommandError, match="reason"):
        _command("staff_user_phone", "ola.zmiana", PHONE, "--reason", " ")
    with pytest.raises(CommandError, match="No staff member"):
        _command("staff_user_phone", "nobody", PHONE, "--reason", "x")
    assert StaffMember.objects.get(pk=member.pk).work_phone == "+48602000111"


def test_the_back_office_address_of_the_links_is_checked(settings):
    settings.BACKOFFICE_BASE_URL = "https://zaplecze.bank.example"
    assert backoffice_base_url_check() == [] and backoffice_base_url_deploy_check() == []

    settings.BACKOFFICE_BASE_URL = "http://zaplecze.bank.example"
    assert [m.id for m in backoffice_base_url_deploy_check()] == ["backoffice.E002"]
    settings.BACKOFFICE_BASE_URL = ""
    assert [m.id for m in backoffice_base_url_deploy_check()] == ["backoffice.E002"]
    for wrong in ("zaplecze.bank.example", "https://zaplecze.bank.example/staff", "https://" + "w" * 40 + ".pl"):
        settings.BACKOFFICE_BASE_URL = wrong
        assert [m.id for m in backoffice_base_url_check()] == ["backoffice.E001"], wrong


# --- 6.5.6: disabling an account -----------------------------------------------------------------------


def test_a_disabled_account_has_no_session_and_no_sign_in_and_enabling_revives_no_session(staff):
    target, supervisor = staff["branch"], staff["supervisor"]
    target_session = staff_client(target)
    boss = staff_client(supervisor)
    url = reverse("backoffice:staff_account_action", args=[target.member.pk, "disable"])

    disabled = boss.post(url, {f"disable-{target.member.pk}-reason": "Left the bank"})

    assert disabled.status_code == 302
    assert not _signed_in(target_session)
    with pytest.raises(StaffLoginRefused):
        staff_login_password(username=target.username, password=STAFF_PASSWORD)
    assert AuditEvent.objects.get(action="backoffice.staff.disabled").bank_id == target.member.bank_id
    # Nor can a reset hand it a link while disabled.
    again = boss.post(
        reverse("backoffice:staff_account_action", args=[target.member.pk, "reset"]),
        {f"reset-{target.member.pk}-reason": "Try"},
    )
    assert again.status_code == 400 and not StaffEnrolment.objects.exists()
    assert AuditEvent.objects.get(action="backoffice.action_refused").after == {
        "action": "staff_reset",
        "refusal": "account_disabled",
    }

    enabled = boss.post(
        reverse("backoffice:staff_account_action", args=[target.member.pk, "enable"]),
        {f"enable-{target.member.pk}-reason": "Back from leave"},
    )

    assert enabled.status_code == 302
    assert AuditEvent.objects.filter(action="backoffice.staff.enabled").count() == 1
    # The session that was ended stays ended; a new sign-in works.
    assert not _signed_in(target_session)
    assert staff_login_password(username=target.username, password=STAFF_PASSWORD).pk == target.user.pk
    target.member.user.refresh_from_db()
    assert _signed_in(staff_client(target))


def test_the_staff_account_command_disables_and_enables():
    person = staff_person_create("supervisor", username="kier.jedyny")
    session = staff_client(person)

    _command("staff_account", "disable", "kier.jedyny", "--reason", "Suspected compromise")

    assert not User.objects.get(pk=person.user.pk).is_active
    assert not _signed_in(session)
    event = AuditEvent.objects.get(action="backoffice.staff.disabled")
    assert event.actor_type == "system"
    with pytest.raises(CommandError, match="Konto jest już wyłączone"):
        _command("staff_account", "disable", "kier.jedyny", "--reason", "Again")

    _command("staff_account", "enable", "kier.jedyny", "--reason", "Cleared")

    assert User.objects.get(pk=person.user.pk).is_active
    assert not _signed_in(session)
    with pytest.raises(CommandError, match="No staff member"):
        _command("staff_account", "reset", "nobody", "--reason", "x")


# --- Least privilege and the bank boundary on the staff page ------------------------------------------


@pytest.mark.parametrize("role", ["agent", "branch", "auditor"])
def test_only_supervisors_manage_staff_accounts(staff, role):
    person, target = staff[role], staff["supervisor"]
    client = staff_client(person)

    page = client.get(STAFF_URL)
    post = client.post(
        reverse("backoffice:staff_account_action", args=[target.member.pk, "disable"]),
        {f"disable-{target.member.pk}-reason": "Not mine to do"},
    )

    assert page.status_code == post.status_code == 403
    assert User.objects.get(pk=target.user.pk).is_active
    assert not AuditEvent.objects.filter(action__startswith="backoffice.staff.disabled").exists()


def test_a_banks_supervisor_manages_only_the_banks_staff_and_nobody_their_own_account():
    bank_a, bank_b = factories.bank_factory(), factories.bank_factory("BANKB")
    supervisor = staff_person_create("supervisor", username="kier.a", bank=bank_a)
    own_branch = staff_person_create("branch", username="okienko.a", bank=bank_a)
    other_branch = staff_person_create("branch", username="okienko.b", bank=bank_b)
    group_agent = staff_person_create("agent", username="agent.grupa")
    group_supervisor = staff_person_create("supervisor", username="kier.grupa")
    client = staff_client(supervisor)

    def disable(person, by: Client = client):
        url = reverse("backoffice:staff_account_action", args=[person.member.pk, "disable"])
        return by.post(url, {f"disable-{person.member.pk}-reason": "Check"})

    page = client.get(STAFF_URL).content.decode()

    assert "okienko.a" in page and "okienko.b" not in page and "agent.grupa" not in page
    assert disable(other_branch).status_code == 404
    assert disable(group_agent).status_code == 404
    assert disable(supervisor).status_code == 403
    assert User.objects.filter(is_active=False).count() == 0
    assert not AuditEvent.objects.filter(action="backoffice.staff.disabled").exists()
    assert disable(own_branch).status_code == 302
    # The group's supervisor reaches a bank's staff too.
    assert disable(other_branch, by=staff_client(group_supervisor)).status_code == 302
    assert set(User.objects.filter(is_active=False).values_list("username", flat=True)) == {"okienko.a", "okienko.b"}


# --- 7.4.5: ending sessions ------------------------------------------------------------------------------


def _portal_signed_in(client: Client) -> bool:
    return client.get(reverse("profile:index")).status_code == 200


def test_staff_end_every_portal_session_of_a_customer_who_can_sign_in_again(staff, cardholder):
    phone, laptop = Client(), Client()
    phone.force_login(cardholder.user)
    laptop.force_login(cardholder.user)
    agent = staff["agent"]
    phone_verify(agent, cardholder.customer)

    response = staff_client(agent).post(
        customer_action_url(cardholder.customer, "portal_sessions_end"),
        action_post_data("portal_sessions_end", reason="Laptop stolen"),
    )

    assert response.status_code == 302
    assert not _portal_signed_in(phone) and not _portal_signed_in(laptop)
    user = User.objects.get(pk=cardholder.user.pk)
    assert not user.is_access_blocked and not user.is_locked() and user.is_active
    fresh = Client()
    fresh.force_login(user)
    assert _portal_signed_in(fresh)
    event = AuditEvent.objects.get(action="users.sessions.ended")
    assert event.customer_id == cardholder.customer.pk and event.after == {"reason": "Laptop stolen"}
    assert AuditEvent.objects.filter(action="backoffice.portal_sessions_end").count() == 1


def test_end_sessions_for_one_user_by_id_or_user_name(staff, cardholder, second_cardholder):
    anna, bartosz = Client(), Client()
    anna.force_login(cardholder.user)
    bartosz.force_login(second_cardholder.user)
    agent_session = staff_client(staff["agent"])

    _command("end_sessions", "--user", str(cardholder.user.pk), "--reason", "Fraud team")
    _command("end_sessions", "--user", "AGENT", "--reason", "Shared screen")

    assert not _portal_signed_in(anna) and _portal_signed_in(bartosz)
    assert not _signed_in(agent_session)
    assert AuditEvent.objects.filter(action="users.sessions.ended").count() == 2
    with pytest.raises(CommandError, match="No user"):
        _command("end_sessions", "--user", "nobody", "--reason", "x")


@pytest.mark.parametrize("whose", ["--all-cardholders", "--all-staff"])
def test_end_sessions_for_all_cardholders_or_all_staff(staff, cardholder, second_cardholder, whose):
    anna, bartosz = Client(), Client()
    anna.force_login(cardholder.user)
    bartosz.force_login(second_cardholder.user)
    staff_sessions = [staff_client(person) for person in staff.values()]

    output = _command("end_sessions", whose, "--reason", "Key rotation")

    cardholders_end = whose == "--all-cardholders"
    assert _portal_signed_in(anna) is not cardholders_end and _portal_signed_in(bartosz) is not cardholders_end
    assert all(_signed_in(session) is cardholders_end for session in staff_sessions)
    event = AuditEvent.objects.get(action="users.sessions.ended_all")
    assert event.after["kind"] == ("customer" if cardholders_end else "staff")
    assert event.after["users"] == (2 if cardholders_end else 4)
    assert f"{event.after['users']} users" in output


def test_a_user_never_signed_out_keeps_the_hash_django_gave_them(cardholder):
    """Epoch 0 adds nothing: deploying the epoch ends nobody's session; raising it changes the hash."""
    user = User.objects.get(pk=cardholder.user.pk)
    before = user.get_session_auth_hash()
    assert before == User(password=user.password, portal_phone=user.portal_phone).get_session_auth_hash()

    user.session_epoch = 1

    assert user.get_session_auth_hash() != before


def test_a_reset_by_the_command_sends_the_link_to_the_members_phone_and_prints_none(
    staff, django_capture_on_commit_callbacks
):
    person = staff["auditor"]
    session = staff_client(person)

    with django_capture_on_commit_callbacks(execute=True):
        output = _command("staff_account", "reset", "auditor", "--reason", "New phone; HR checked")

    _link, token = _sms_link(person.member.work_phone)
    assert token not in output and "/backoffice/enrol/" not in output
    assert mask_phone(person.member.work_phone) in output
    assert not _signed_in(session)
    assert not TOTPDevice.objects.filter(user=person.user).exists()
    assert not User.objects.get(pk=person.user.pk).has_usable_password()
    assert AuditEvent.objects.get(action="backoffice.staff.reset").actor_type == "system"
    assert StaffEnrolment.objects.get().issued_by is None
    _token_nowhere_but_the_sms(token)


def test_a_links_token_reaches_neither_the_applications_log_nor_the_access_log(caplog):
    """A spent or made-up link is redirected, not answered 404 (Django logs a 4xx answer's path), and gunicorn's
    access log writes the path without the token (config/gunicorn_config.py)."""
    token = "Zk3-secret-token-of-a-spent-link_0123456789abcdefghij"
    with caplog.at_level("DEBUG"):
        response = Client().get(f"/backoffice/enrol/{token}/")
    assert response.status_code == 302 and response["Location"] == reverse("backoffice:enrol")
    assert token not in caplog.text
    line = redact_one_time_tokens(f"GET /backoffice/enrol/{token}/ HTTP/1.1")
    assert token not in line and line == "GET /backoffice/enrol/[redacted]/ HTTP/1.1"


def test_any_other_method_on_a_live_link_is_redirected_and_logs_no_token(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """HEAD from a link scanner, a POST without a CSRF cookie, OPTIONS: a redirect, never a 4xx whose log line
    would hold the path (the token), and the link is not opened by them."""
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("the command asked for a password"))
    _create(django_capture_on_commit_callbacks, "ola.scan", "--phone", PHONE)
    full_link, token = _sms_link(PHONE)
    link = _path(full_link)
    client = Client(enforce_csrf_checks=True)

    with caplog.at_level("DEBUG"):
        answers = [client.head(link), client.post(link), client.options(link), client.put(link)]

    assert [a.status_code for a in answers] == [302] * 4
    assert token not in caplog.text
    assert StaffEnrolment.objects.get(member__user__username="ola.scan").device is None


def test_a_key_seen_by_an_earlier_opener_of_the_link_is_dead(monkeypatch, django_capture_on_commit_callbacks):
    """Whoever opened the link first (a link scanner of the phone's messages) cannot know the key the member
    confirms."""
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail("the command asked for a password"))
    _create(django_capture_on_commit_callbacks, "ola.first", "--phone", PHONE)
    link, _token = _sms_link(PHONE)
    earlier = Client()
    earlier.get(_path(link))
    earlier.get(reverse("backoffice:enrol"))
    seen = StaffEnrolment.objects.get(member__user__username="ola.first").device
    assert seen is not None

    done = _enrol(Client(), link)

    assert done.status_code == 200
    confirmed = TOTPDevice.objects.get(user__username="ola.first")
    assert confirmed.pk != seen.pk and confirmed.bin_key != seen.bin_key
    assert not TOTPDevice.objects.filter(pk=seen.pk).exists()
