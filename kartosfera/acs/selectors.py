"""Reads of the 3-D Secure authentications: the holder's own, a customer's for bank staff (docs/3d-secure.md), and
the RReq the development shop reads.

Every authentication is reached through its owner, the customer whose card it was for: somebody else's is a
404, like a missing one. An authentication for a number no card of ours has belongs to nobody and is listed
nowhere here. Staff reads take the staff member's bank scope: a bank's staff see only the authentications
of their bank's cards.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from kartosfera.acs.models import AuthenticationRecord, RReqStatus
from kartosfera.banks.scope import BankScope
from kartosfera.customers.models import Customer

PAGE_SIZE = 20
# The back office's customer page shows the newest few; the whole list is paged.
STAFF_PREVIEW = 5
# What the pages never show: the messages as exchanged (the AReq, ARes, CReq, CRes, RRes). The RReq stays:
# its challengeCancel says whether the holder cancelled (presenters.challenge_cancel_of).
NOT_SHOWN = ("areq", "ares", "creq", "cres", "rres", "request_fingerprint", "challenge_token_digest", "code_digest")


def _shown(records: QuerySet[AuthenticationRecord]) -> QuerySet[AuthenticationRecord]:
    # The payment that used the authentication comes in the same query (a reverse one-to-one: a join).
    return records.select_related("authorization").defer(*NOT_SHOWN).order_by("-created_at", "-id")


def authentication_list_for_customer(*, customer: Customer) -> QuerySet[AuthenticationRecord]:
    """The customer's authentications (for any of their cards), newest first, each with its payment, one query."""
    return _shown(AuthenticationRecord.objects.filter(card__customer_id=customer.pk))


def authentication_get_for_customer(*, customer: Customer, acs_trans_id: uuid.UUID) -> AuthenticationRecord:
    """One of the customer's authentications by its ACS transaction id; anybody else's is a 404."""
    record = authentication_list_for_customer(customer=customer).filter(acs_trans_id=acs_trans_id).first()
    if record is None:
        raise Http404
    return record


def authentication_list_for_staff(*, customer: Customer, scope: BankScope) -> QuerySet[AuthenticationRecord]:
    """A customer's authentications the scope may see (a bank's staff: their bank's cards' only), newest first.

    ``customer`` must already be one the scope reaches (backoffice.selectors.customer_get).
    """
    records = AuthenticationRecord.objects.filter(card__customer_id=customer.pk)
    return _shown(scope.owned(records, field="card__bank_id"))


def authentication_get_for_staff(
    *, customer: Customer, acs_trans_id: uuid.UUID, scope: BankScope
) -> AuthenticationRecord | None:
    """One of a customer's authentications inside the scope, or None (the view's 404)."""
    return authentication_list_for_staff(customer=customer, scope=scope).filter(acs_trans_id=acs_trans_id).first()


def rreq_received(three_ds_server_trans_id: str | uuid.UUID) -> dict[str, Any] | None:
    """The RReq as the in-process directory server received it (the development shop shows it).

    None until it is delivered, for an unknown id, or when the configured client is not the in-process one
    (acs/directory.py: a real directory server's traffic is not ours to show).
    """
    if settings.ACS_DIRECTORY_SERVER_URL:
        return None
    try:
        server_id = uuid.UUID(str(three_ds_server_trans_id))
    except ValueError:
        return None
    rreq = (
        AuthenticationRecord.objects.filter(three_ds_server_trans_id=server_id, rreq_status=RReqStatus.DELIVERED)
        .values_list("rreq", flat=True)
        .first()
    )
    return json.loads(rreq) if rreq else None
