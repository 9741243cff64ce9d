from __future__ import annotations

from kartosfera.api.models import ApiKey, IdempotencyRecord


def api_key_get_by_prefix(*, prefix: str) -> ApiKey | None:
    """The key with this public prefix, or None."""
    return ApiKey.objects.filter(prefix=prefix.strip().lower()).first()


def idempotency_record_get(*, api_key: ApiKey, key: str) -> IdempotencyRecord | None:
    """The stored answer for this client's Idempotency-Key, or None."""
    return IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
