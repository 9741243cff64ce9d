"""Reads of the ACS's records for other parts of the project (the development shop)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings

from kartosfera.acs.models import AuthenticationRecord, RReqStatus


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
