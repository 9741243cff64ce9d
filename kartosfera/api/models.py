from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kartosfera.banks.scope import BankScope


class ApiScope(models.TextChoices):
    """What a key may call; each JSON API requires exactly one scope."""

    PROVISIONING = "provisioning", _("Provisioning: customers, accounts, card products and cards")
    PROCESSOR = "processor", _("Card processor: authorization decisions")
    ACS = "acs", _("3-D Secure directory server: authentication requests to the ACS")
    TOKEN_SERVICE = "token_service", _("Token service provider: wallet token provisioning and lifecycle events")


class ApiKey(models.Model):
    """A credential of one of the bank's systems for the server-to-server APIs.

    The token is ``kfk_<prefix>_<secret>``: the prefix finds the row and is safe to
    log and audit; only a SHA-256 hash of the secret is kept. A fast hash is enough
    because the secret is 256 random bits, not a password a person chose, so there
    is nothing to brute-force; a slow hash would only slow down every API call.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("public prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    # Null: a key of the group's systems (the card processor, the group's core); otherwise a key of one
    # bank's core system, which sees and changes only that bank's objects (banks/scope.py).
    bank = models.ForeignKey(
        "banks.Bank",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_keys",
        verbose_name=_("bank"),
        help_text=_("Empty for a key of the group's systems."),
    )
    # SHA-256 fingerprints (64 lower-case hex digits) of the TLS client certificates the key is bound to:
    # when any is set, a request with the key is taken only over a connection whose certificate, verified by
    # the proxy against the bank's CA, has one of them (docs/api.md, "Client certificates"). More than one
    # lets a system's certificate be renewed without a gap.
    client_cert_sha256 = models.JSONField(
        _("client certificates (SHA-256)"),
        default=list,
        blank=True,
        help_text=_("Fingerprints of the client certificates a request with this key must come with."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def bank_scope(self) -> BankScope:
        return BankScope.of(self.bank)

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @property
    def client_certs(self) -> list[str]:
        return [each for each in (self.client_cert_sha256 or []) if isinstance(each, str)]

    def accepts_client_cert(self, fingerprint: str | None, *, required: bool) -> bool:
        """Whether a request carrying ``fingerprint`` (None: no verified certificate) may use this key.

        A key bound to certificates needs one of them; an unbound key is taken without one unless ``required``.
        """
        bound = self.client_certs
        if not bound:
            return not required
        return fingerprint is not None and fingerprint in bound


class IdempotencyRecord(models.Model):
    """The stored answer to a create sent with an ``Idempotency-Key``, for replaying retries.

    Written in the transaction of the create itself, so a record exists exactly
    when the object does, and the unique constraint makes a concurrent duplicate
    wait for the first request and then replay its answer.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    # HMAC of method, path and body: the body of a card issue holds the full card
    # number, and a plain hash of a 16-digit number is brute-forced in minutes.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    # The answer's JSON text as sent: a replay is byte-for-byte the same answer
    # (jsonb would reorder its keys).
    response_body = models.TextField(default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique_per_api_key"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
