"""Reads of SMS challenges, always through the principal they belong to."""

from __future__ import annotations

from collections.abc import Container
from typing import TYPE_CHECKING
from uuid import UUID

from django.http import Http404
from django.shortcuts import get_object_or_404

from kartosfera.sca.models import ChallengeChannel, ChallengePurpose, SmsChallenge

if TYPE_CHECKING:
    # Only the type: sca is below users (docs/architecture.md).
    from kartosfera.users.models import User


def stepup_challenge_get(*, user: User, public_id: UUID, session_ids: Container[str]) -> SmsChallenge:
    """The user's step-up challenge started in this session; anybody else's (or another session's) is a 404."""
    if str(public_id) not in session_ids:
        raise Http404
    return get_object_or_404(
        SmsChallenge, public_id=public_id, user=user, purpose=ChallengePurpose.STEP_UP, channel=ChallengeChannel.WEB
    )


def app_challenge_get(*, customer_id: int, device_public_id: UUID, public_id: UUID) -> SmsChallenge:
    """A step-up the BS Pay app asked for on this device; one from the portal or another device is a 404."""
    return get_object_or_404(
        SmsChallenge,
        public_id=public_id,
        customer_id=customer_id,
        purpose=ChallengePurpose.STEP_UP,
        channel=ChallengeChannel.APP,
        app_device_id=device_public_id,
    )
