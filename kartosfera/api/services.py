"""API keys: creation (the token is shown once), revocation, authentication; idempotency upkeep."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kartosfera.api.models import ApiKey, ApiScope, IdempotencyRecord
from kartosfera.banks.models import Bank
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import InvalidTransition, ValidationFailed
from kartosfera.core.middleware import sha256_fingerprint_normalize
from kartosfera.core.statements import select_by

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "kfk"  # noqa: S105 - the public marker of our tokens, not a secret
_TOKEN_RE = re.compile(r"^kfk_(?P<prefix>[0-9a-f]{12})_(?P<secret>[0-9a-f]{64})$")
# Compared against when the prefix is unknown, so that a miss costs the same as a hit.
_DUMMY_HASH = hashlib.sha256(b"kartosfera-no-such-key").hexdigest()
# last_used_at is for spotting dead keys, not an access log: one write a minute is plenty.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
# A system has one certificate, two while it renews it: a handful is plenty, and bounds the row.
MAX_CLIENT_CERTS = 5


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _audit_view(api_key: ApiKey) -> dict[str, object]:
    return {
        "name": api_key.name,
        "prefix": api_key.prefix,
        "scopes": list(api_key.scopes),
        "bank": api_key.bank.code if api_key.bank else None,
        # Fingerprints of public certificates: nothing secret, and what an investigation needs to match.
        "client_certs": api_key.client_certs,
    }


def _too_many_certs() -> str:
    return _("A key can be bound to at most %(count)d client certificates.") % {"count": MAX_CLIENT_CERTS}


def _client_certs_clean(values: Iterable[str]) -> list[str]:
    """The fingerprints as 64 lower-case hex digits, sorted and without repeats; ValidationFailed for any other."""
    cleaned = set()
    for value in values:
        fingerprint = sha256_fingerprint_normalize(value)
        if fingerprint is None:
            raise ValidationFailed(
                {
                    "client_cert_sha256": _(
                        "Give each client certificate's SHA-256 fingerprint as 64 hexadecimal digits (colons allowed)."
                    )
                }
            )
        cleaned.add(fingerprint)
    return sorted(cleaned)


@transaction.atomic
def api_key_create(
    *,
    actor: Actor,
    name: str,
    scopes: Iterable[str],
    bank: Bank | None = None,
    client_cert_sha256: Iterable[str] = (),
) -> tuple[ApiKey, str]:
    """Create a key and return it with its token, which exists nowhere else afterwards.

    ``bank`` None: a key of the group's systems; otherwise of one bank's core, which sees only that bank.
    ``client_cert_sha256``: fingerprints of the client certificates the key is bound to (docs/api.md).
    """
    name = (name or "").strip()
    scope_list = sorted(set(scopes))
    errors: dict[str, str] = {}
    client_certs: list[str] = []
    try:
        client_certs = _client_certs_clean(client_cert_sha256)
    except ValidationFailed as exc:
        errors.update(exc.field_errors)
    if len(client_certs) > MAX_CLIENT_CERTS:
        errors["client_cert_sha256"] = _too_many_certs()
    if not name or len(name) > 100:
        errors["name"] = _("The name must have 1 to 100 characters.")
    if not scope_list:
        errors["scopes"] = _("Give the key at least one scope.")
    elif any(scope not in ApiScope.values for scope in scope_list):
        errors["scopes"] = _("Unknown scope; choose from: %(scopes)s.") % {"scopes": ", ".join(ApiScope.values)}
    elif bank is not None and ApiScope.PROCESSOR in scope_list:
        # The card processor serves every bank of the group: its key is the group's, never one bank's.
        errors["scopes"] = _("The processor scope is for a key of the group's systems only, not a bank's key.")
    elif bank is not None and ApiScope.ACS in scope_list:
        # The directory server authenticates payments with every bank's cards: a group key only.
        errors["scopes"] = _("The acs scope is for a key of the group's systems only, not a bank's key.")
    elif bank is not None and ApiScope.TOKEN_SERVICE in scope_list:
        # The token service provider tokenizes every bank's cards: a group key only.
        errors["scopes"] = _("The token_service scope is for a key of the group's systems only, not a bank's key.")
    if errors:
        raise ValidationFailed(errors)
    for _attempt in range(5):
        prefix, secret = secrets.token_hex(6), secrets.token_hex(32)
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    name=name,
                    prefix=prefix,
                    secret_hash=_hash_secret(secret),
                    scopes=scope_list,
                    bank=bank,
                    client_cert_sha256=client_certs,
                )
            break
        except IntegrityError:
            # 48 random bits: a prefix collision is rare but possible; draw again.
            continue
    else:  # pragma: no cover - five collisions in a row mean a broken random source
        raise RuntimeError("could not draw a unique API key prefix")
    audit_record(actor=actor, action="api.api_key.created", obj=api_key, after=_audit_view(api_key))
    return api_key, f"{TOKEN_PREFIX}_{prefix}_{secret}"


@transaction.atomic
def api_key_revoke(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    """Revoke a key at once: every later request with its token is refused."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        raise InvalidTransition(_("This API key is already revoked."))
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="api.api_key.revoked",
        obj=api_key,
        before={"revoked": False},
        after={**_audit_view(api_key), "revoked": True},
    )
    return api_key


@transaction.atomic
def api_key_client_certs_change(
    *, actor: Actor, api_key: ApiKey, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> ApiKey:
    """Bind the key to the certificates ``add`` and unbind it from ``remove`` (SHA-256 fingerprints); audited.

    Effective at the next request. Unbinding the last certificate leaves a key a token alone opens, which
    production refuses while API_KEYS_REQUIRE_CLIENT_CERT is on.
    """
    to_add, to_remove = _client_certs_clean(add), _client_certs_clean(remove)
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is not None:
        raise InvalidTransition(_("This API key is revoked: it cannot be changed."))
    before = api_key.client_certs
    not_bound = [each for each in to_remove if each not in before]
    if not_bound:
        raise ValidationFailed(
            {
                "client_cert_sha256": _("The key is not bound to the certificate %(fingerprint)s.")
                % {"fingerprint": not_bound[0]}
            }
        )
    after = sorted((set(before) | set(to_add)) - set(to_remove))
    if len(after) > MAX_CLIENT_CERTS:
        raise ValidationFailed({"client_cert_sha256": _too_many_certs()})
    if after == before:
        return api_key
    api_key.client_cert_sha256 = after
    api_key.save(update_fields=["client_cert_sha256"])
    audit_record(
        actor=actor,
        action="api.api_key.client_certs_changed",
        obj=api_key,
        before={"client_certs": before},
        after=_audit_view(api_key),
    )
    return api_key


def api_key_authenticate(*, token: str, client_cert_sha256: str | None = None) -> ApiKey | None:
    """The active key the token belongs to, or None; records when the key was last used.

    ``client_cert_sha256``: the fingerprint of the client certificate the proxy verified (None: none). A key
    bound to certificates is refused without one of them; with API_KEYS_REQUIRE_CLIENT_CERT, so is every
    unbound key. A refusal is logged with the key's prefix (the token never).
    """
    match = _TOKEN_RE.match(token or "")
    if match is None:
        return None
    # Every API request looks its key up: SQL built once (core/statements.py), not per request.
    api_key = select_by(ApiKey, "prefix", match["prefix"])
    expected = api_key.secret_hash if api_key is not None else _DUMMY_HASH
    if not hmac.compare_digest(_hash_secret(match["secret"]), expected):
        return None
    if api_key is None or api_key.revoked_at is not None:
        return None
    if not api_key.accepts_client_cert(client_cert_sha256, required=settings.API_KEYS_REQUIRE_CLIENT_CERT):
        logger.warning(
            "api key refused: client certificate",
            extra={
                "api_key": api_key.prefix,
                "reason": (
                    "key bound to no certificate"
                    if not api_key.client_certs
                    else ("another certificate" if client_cert_sha256 else "no certificate")
                ),
                "client_cert_sha256": client_cert_sha256,
            },
        )
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        # A conditional UPDATE: concurrent requests never queue up on the key's row.
        ApiKey.objects.filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def idempotency_record_purge(*, older_than: dt.timedelta) -> int:
    """Delete stored answers older than ``older_than`` (they hold personal data); return how many."""
    deleted, _per_model = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
