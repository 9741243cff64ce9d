"""Reads of SMS challenges, always through the principal they belong to."""

from __future__ import annotations

from collections.abc import Container
from uuid import UUID

from django.http import Http404
from django.shortcuts import get_object_or_404

from kartosfera.sca.models import ChallengePurpose, SmsChallenge
from kartosfera.users.models import User


def stepup_challenge_get(*, user: User, public_id: UUID, session_ids: Container[str]) -> SmsChallenge:
    """The user's step-up challenge started in this session; anybody else's (or another session's) is a 404."""
    if str(public_id) not in session_ids:
        raise Http404
    return get_object_or_404(SmsChallenge, public_id=public_id, user=user, purpose=ChallengePurpose.STEP_UP)
