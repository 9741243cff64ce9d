"""The user agent in words, as the list of sessions shows it (kartosfera/users/session_registry.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from kartosfera.jobs.registry import purge_expired_sessions
from kartosfera.users.models import UserSession
from kartosfera.users.session_registry import session_key_digest, user_agent_summary

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (FIREFOX_WINDOWS, ("Firefox", "Windows")),
        (SAFARI_IPHONE, ("Safari", "iOS")),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
            ("Chrome", "Linux"),
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0 Safari/537.36 Edg/131.0",
            ("Edge", "Windows"),
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
            ("Chrome", "Android"),
        ),
        ("curl/8.5.0", ("", "")),
        ("", ("", "")),
    ],
)
def test_the_user_agent_is_kept_only_in_words(user_agent, expected):
    assert user_agent_summary(user_agent) == expected


@pytest.mark.django_db
def test_the_hourly_purge_deletes_the_records_of_sign_ins_older_than_a_day(cardholder):
    fresh, old = Client(), Client()
    fresh.force_login(cardholder.user)
    old.force_login(cardholder.user)
    old_row = UserSession.objects.get(key_digest=session_key_digest(old.session.session_key))
    UserSession.objects.filter(pk=old_row.pk).update(created_at=timezone.now() - dt.timedelta(days=1, seconds=1))

    counts = purge_expired_sessions()

    assert counts["records"] == 1
    assert list(UserSession.objects.values_list("key_digest", flat=True)) == [
        session_key_digest(fresh.session.session_key)
    ]
