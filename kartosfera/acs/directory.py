"""The results request (RReq) to the directory server after a challenge, and its delivery with retries.

docs/3d-secure.md, "The RReq". EMV 3DS: when a challenge ends, the ACS tells the directory server the outcome
(RReq) and gets its acknowledgement (RRes) before it posts the final CRes to the 3DS requestor; the 3DS server
learns the result from the directory server. The client is pluggable: ``HttpDirectoryServer`` posts JSON to
``settings.ACS_DIRECTORY_SERVER_URL`` (mutual TLS when a client certificate is configured);
``InProcessDirectoryServer`` stands in for it in the demo and the tests when no URL is set. A delivery that fails
is retried with exponential backoff (a task, and ``manage.py acs_sweep``), then given up.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import ssl
import urllib.error
import urllib.request
import uuid
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kartosfera.acs.models import AuthenticationRecord, RReqStatus
from kartosfera.core.audit import Actor, audit_record

logger = logging.getLogger(__name__)

ACS_ACTOR = Actor.system("acs")
# How long the first, synchronous delivery (right after the challenge ends, while the holder waits) may take:
# a slow directory server must not hold the holder's page; the retries have the full timeout.
SYNCHRONOUS_TIMEOUT = 2.0
_RESULTS_STATUS = re.compile(r"^[0-9]{2}$")


class DirectoryServerError(Exception):
    """The directory server did not take the RReq (unreachable, an error status, or an answer that is no RRes)."""


class DirectoryServerClient(Protocol):
    def send(self, rreq: dict[str, Any]) -> dict[str, Any]:
        """Deliver ``rreq`` and return the directory server's RRes; DirectoryServerError when it was not taken."""
        ...


def rres_check(rreq: dict[str, Any], rres: Any) -> dict[str, Any]:
    """``rres`` if it acknowledges ``rreq`` (an RRes for the same transaction with a resultsStatus), else raise."""
    if not isinstance(rres, dict) or rres.get("messageType") != "RRes":
        raise DirectoryServerError("the answer is not an RRes")
    for field in ("threeDSServerTransID", "acsTransID"):
        if str(rres.get(field, "")).lower() != str(rreq.get(field, "")).lower():
            raise DirectoryServerError(f"the RRes is for another transaction ({field})")
    if not _RESULTS_STATUS.match(str(rres.get("resultsStatus", ""))):
        raise DirectoryServerError("the RRes has no resultsStatus")
    return rres


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class InProcessDirectoryServer:
    """The directory server of the demo and the tests: acknowledges any well-formed RReq for a record of ours.

    What it "received" is the record's RReq once delivered (``rreq_received``): the database, not this object,
    keeps it, so the web process and the task worker see the same thing.
    """

    def send(self, rreq: dict[str, Any]) -> dict[str, Any]:
        server_id, acs_id = _uuid(rreq.get("threeDSServerTransID")), _uuid(rreq.get("acsTransID"))
        if rreq.get("messageType") != "RReq" or server_id is None or acs_id is None:
            raise DirectoryServerError("not a well-formed RReq")
        if rreq.get("transStatus") not in {"Y", "N", "U", "A", "R"}:
            raise DirectoryServerError("the RReq has no valid transStatus")
        if not AuthenticationRecord.objects.filter(three_ds_server_trans_id=server_id, acs_trans_id=acs_id).exists():
            raise DirectoryServerError("unknown transaction")
        rres: dict[str, Any] = {
            "messageType": "RRes",
            "messageVersion": rreq.get("messageVersion", ""),
            "threeDSServerTransID": str(server_id),
            "acsTransID": str(acs_id),
            "resultsStatus": "01",  # 01: RReq received for further processing
        }
        if rreq.get("dsTransID"):
            rres["dsTransID"] = rreq["dsTransID"]
        return rres


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the RReq (with the authentication value) to an address nobody configured.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpDirectoryServer:
    """POSTs the RReq as JSON to the directory server; raises on a non-2xx answer or one that is no RRes.

    ``client_cert``/``client_key``: PEM files for mutual TLS (the schemes' directory servers require it);
    ``ca_file``: the CA of the server's certificate when it is not in the system's store.
    """

    def __init__(
        self, url: str, *, timeout: float, client_cert: str = "", client_key: str = "", ca_file: str = ""
    ) -> None:
        if urlsplit(url).scheme not in {"https", "http"}:
            raise ValueError("the directory server's URL must be http(s)")
        self.url = url
        self.timeout = timeout
        handlers: list[urllib.request.BaseHandler] = [_RefuseRedirects()]
        if urlsplit(url).scheme == "https":
            context = ssl.create_default_context(cafile=ca_file or None)
            if client_cert:
                context.load_cert_chain(client_cert, client_key or None)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def send(self, rreq: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(rreq, separators=(",", ":")).encode()
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self.url, data=body, headers={"Content-Type": "application/json; charset=utf-8"}, method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, text = response.status, response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            raise DirectoryServerError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DirectoryServerError(f"unreachable: {type(reason).__name__}") from None
        if not 200 <= status < 300:
            raise DirectoryServerError(f"HTTP {status}")
        try:
            rres = json.loads(text)
        except ValueError:
            raise DirectoryServerError("the answer is not JSON") from None
        return rres_check(rreq, rres)


def directory_server_client(*, timeout: float | None = None) -> DirectoryServerClient:
    """The configured client: HTTP when ``ACS_DIRECTORY_SERVER_URL`` is set, else the in-process one."""
    if not settings.ACS_DIRECTORY_SERVER_URL:
        return InProcessDirectoryServer()
    return HttpDirectoryServer(
        settings.ACS_DIRECTORY_SERVER_URL,
        timeout=timeout if timeout is not None else settings.ACS_DIRECTORY_SERVER_TIMEOUT,
        client_cert=settings.ACS_DIRECTORY_SERVER_CLIENT_CERT,
        client_key=settings.ACS_DIRECTORY_SERVER_CLIENT_KEY,
        ca_file=settings.ACS_DIRECTORY_SERVER_CA_FILE,
    )


def rreq_retry_delay(*, attempts: int) -> dt.timedelta:
    """How long to wait after ``attempts`` failed deliveries before the next (exponential backoff)."""
    return dt.timedelta(seconds=settings.ACS_RREQ_RETRY_DELAY * 2 ** max(0, attempts - 1))


def rreq_delivery_enqueue(*, record_id: int, delay: dt.timedelta | None = None) -> None:
    """Put one delivery of the record's RReq on the task queue, not before ``delay`` when the queue can wait."""
    from kartosfera.acs.tasks import rreq_deliver_task

    task = rreq_deliver_task
    # The immediate backend (tests) cannot defer: it runs the retry at once.
    if delay is not None and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(record_id)


def _rreq_audit(record: AuthenticationRecord) -> dict[str, Any]:
    return {
        "acs_trans_id": str(record.acs_trans_id),
        "trans_status": record.trans_status,
        "attempts": record.rreq_attempts,
        "error": record.rreq_error,
    }


def rreq_deliver(
    *, record_id: int, now: dt.datetime | None = None, client: DirectoryServerClient | None = None
) -> AuthenticationRecord | None:
    """Send the record's pending RReq once: delivered (the RRes kept), or the attempt counted and retried later.

    The row is locked while the directory server is called (skip_locked): two workers never send one RReq at
    once, and the second finds it delivered. After ``ACS_RREQ_MAX_ATTEMPTS`` failed tries the RReq is given up
    (``failed``), audited and logged for the operators. Nothing to do (not pending, or locked by another
    worker): the record as it is, or None.
    """
    now = now or timezone.now()
    client = client or directory_server_client()
    with transaction.atomic():
        record = AuthenticationRecord.objects.select_for_update(skip_locked=True).filter(pk=record_id).first()
        if record is None or record.rreq_status != RReqStatus.PENDING:
            return record
        record.rreq_attempts += 1
        customer_id = record.card.customer_id if record.card_id and record.card else None
        try:
            rres = client.send(json.loads(record.rreq))
        except DirectoryServerError as exc:
            record.rreq_error = str(exc)[:200]
        except Exception as exc:
            # A bug or a broken client must not leave the RReq pending for ever; the class name only.
            logger.exception("rreq client raised unexpectedly", extra={"acs_trans_id": str(record.acs_trans_id)})
            record.rreq_error = f"client error: {type(exc).__name__}"
        else:
            record.rreq_status = RReqStatus.DELIVERED
            record.rres = json.dumps(rres, separators=(",", ":"))
            record.rreq_error = ""
            record.rreq_next_at = None
            record.save(update_fields=["rreq_status", "rres", "rreq_error", "rreq_next_at", "rreq_attempts"])
            audit_record(
                actor=ACS_ACTOR,
                action="acs.rreq.delivered",
                obj=record,
                customer_id=customer_id,
                bank_id=record.bank_id,
                after=_rreq_audit(record),
            )
            logger.info("rreq delivered", extra={"acs_trans_id": str(record.acs_trans_id)})
            return record
        final = record.rreq_attempts >= settings.ACS_RREQ_MAX_ATTEMPTS
        delay = rreq_retry_delay(attempts=record.rreq_attempts)
        record.rreq_status = RReqStatus.FAILED if final else RReqStatus.PENDING
        record.rreq_next_at = None if final else now + delay
        record.save(update_fields=["rreq_status", "rreq_error", "rreq_next_at", "rreq_attempts"])
        audit_record(
            actor=ACS_ACTOR,
            action="acs.rreq.failed" if final else "acs.rreq.retry_scheduled",
            obj=record,
            customer_id=customer_id,
            bank_id=record.bank_id,
            after=_rreq_audit(record),
        )
        logger.error(
            "rreq delivery failed",
            extra={
                "acs_trans_id": str(record.acs_trans_id),
                "attempt": record.rreq_attempts,
                "will_retry": not final,
                "error": record.rreq_error,
            },
        )
        if not final:
            pk = record.pk
            transaction.on_commit(lambda: rreq_delivery_enqueue(record_id=pk, delay=delay))
        return record


def rreq_deliver_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Deliver every pending RReq whose retry time has come (the sweep); returns how many were delivered."""
    now = now or timezone.now()
    due = list(
        AuthenticationRecord.objects.filter(rreq_status=RReqStatus.PENDING, rreq_next_at__lte=now)
        .order_by("rreq_next_at")
        .values_list("pk", flat=True)[:limit]
    )
    client = directory_server_client()
    delivered = 0
    for pk in due:
        record = rreq_deliver(record_id=pk, now=now, client=client)
        delivered += record is not None and record.rreq_status == RReqStatus.DELIVERED
    return delivered
