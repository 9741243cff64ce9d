"""The ACS's authentication records: one per 3-D Secure authentication request (AReq), by transaction id.

docs/3d-secure.md, "The ACS". No full card number is stored anywhere here: the card is a foreign key
(found by the number's keyed fingerprint), the AReq is kept without ``acctNumber``, and the ARes never holds one.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TransStatus(models.TextChoices):
    """EMV 3DS 2.2 ``transStatus`` values the ACS answers (research §6)."""

    AUTHENTICATED = "Y", _("authenticated")
    NOT_AUTHENTICATED = "N", _("not authenticated")
    CHALLENGE = "C", _("challenge required")
    REJECTED = "R", _("rejected")


class RecordStatus(models.TextChoices):
    """Where an authentication stands (RECORD_TRANSITIONS: the moves allowed)."""

    AUTHENTICATED = "authenticated", _("authenticated")
    NOT_AUTHENTICATED = "not_authenticated", _("not authenticated")
    CHALLENGE_PENDING = "challenge_pending", _("challenge pending")
    FAILED = "failed", _("challenge failed")
    TIMED_OUT = "timed_out", _("challenge timed out")
    USED = "used", _("authentication value used")


# The state machine: a frictionless or refused answer is final at once; a challenge ends authenticated, failed
# or timed out (the challenge step); an authentication value is used once (authentication_value_verify).
RECORD_TRANSITIONS: dict[str, frozenset[str]] = {
    RecordStatus.CHALLENGE_PENDING: frozenset(
        {RecordStatus.AUTHENTICATED, RecordStatus.FAILED, RecordStatus.TIMED_OUT}
    ),
    RecordStatus.AUTHENTICATED: frozenset({RecordStatus.USED}),
    RecordStatus.NOT_AUTHENTICATED: frozenset(),
    RecordStatus.FAILED: frozenset(),
    RecordStatus.TIMED_OUT: frozenset(),
    RecordStatus.USED: frozenset(),
}


class Exemption(models.TextChoices):
    """The PSD2 exemption a frictionless Y rests on ("" when the cardholder was, or is to be, challenged)."""

    NONE = "", _("none")
    LOW_VALUE = "low_value", _("low value (RTS art. 16)")
    TRUSTED_MERCHANT = "trusted_merchant", _("trusted merchant (RTS art. 13)")


class RReqStatus(models.TextChoices):
    """The results request (RReq) to the directory server after a challenge: due, delivered, or given up."""

    NOT_DUE = "", _("not due (no challenge)")
    PENDING = "pending", _("to be sent")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("not delivered (retries exhausted)")


class AuthenticationRecord(models.Model):
    three_ds_server_trans_id = models.UUIDField(_("3DS server transaction ID"), unique=True)
    acs_trans_id = models.UUIDField(_("ACS transaction ID"), unique=True, default=uuid.uuid4, editable=False)
    # A keyed fingerprint of the AReq as sent (it holds the card number): a retry with the same id and body
    # gets the same ARes, another body under the same id is refused.
    request_fingerprint = models.CharField(max_length=64, editable=False)
    # Null: no card of ours has the number (the answer is N, reason 08).
    card = models.ForeignKey(
        "cards.Card",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="authentications",
        verbose_name=_("card"),
    )
    bank = models.ForeignKey(
        "banks.Bank",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="authentications",
        verbose_name=_("bank"),
    )
    card_last4 = models.CharField(_("last 4 digits"), max_length=4)
    merchant_name = models.CharField(_("merchant"), max_length=40)
    mcc = models.CharField(_("MCC"), max_length=4)
    # ISO 3166-1 numeric, as the AReq gives it.
    merchant_country = models.CharField(_("merchant country"), max_length=3)
    acquirer_bin = models.CharField(_("acquirer BIN"), max_length=11)
    acquirer_merchant_id = models.CharField(_("acquirer merchant ID"), max_length=35)
    purchase_amount_minor = models.BigIntegerField(_("amount (minor units)"))
    # ISO 4217 numeric, and the exponent the AReq gave.
    purchase_currency = models.CharField(_("currency"), max_length=3)
    purchase_exponent = models.PositiveSmallIntegerField(_("currency exponent"))
    message_category = models.CharField(_("message category"), max_length=2)
    device_channel = models.CharField(_("device channel"), max_length=2)
    trans_status = models.CharField(_("transStatus"), max_length=1, choices=TransStatus.choices)
    trans_status_reason = models.CharField(_("transStatusReason"), max_length=2, blank=True)
    # Our own word for the decision (acs/decision.py: the rule that answered), for staff and the next steps.
    decision_rule = models.CharField(_("decision rule"), max_length=40)
    exemption = models.CharField(_("exemption"), max_length=20, choices=Exemption.choices, blank=True)
    eci = models.CharField(_("ECI"), max_length=2, blank=True)
    # The authentication value itself (base64 of 20 bytes): not a cardholder's secret, it proves to the card
    # core that we authenticated this payment; kept to find the record when it comes back and to mark it used.
    authentication_value = models.CharField(max_length=28, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=20, choices=RecordStatus.choices)
    created_at = models.DateTimeField(_("created at"))
    # A challenge's deadline (5 minutes) or the authentication value's (AUTHENTICATION_VALUE_VALIDITY).
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    # When the holder was authenticated: the answer's moment for a frictionless Y, the challenge's end for a Y
    # after a challenge. The authentication value's MAC covers it.
    authenticated_at = models.DateTimeField(_("authenticated at"), null=True, blank=True)
    # When a challenge ended (authenticated, failed or timed out).
    challenge_ended_at = models.DateTimeField(_("challenge ended at"), null=True, blank=True)
    # The challenge: a keyed digest of the token that binds the browser's form to this record (the page is
    # framed by the merchant, where our cookies do not reach), the keyed digest of the SMS code sent and how
    # many codes were sent, the holder's submissions (EMV 3DS interactionCounter). Never the PIN or the code.
    challenge_token_digest = models.CharField(max_length=64, blank=True, editable=False)
    code_digest = models.CharField(max_length=64, blank=True, editable=False)
    code_sends = models.PositiveSmallIntegerField(default=0)
    interactions = models.PositiveSmallIntegerField(default=0)
    # The CReq as received, the CRes as posted back to notificationURL.
    creq = models.JSONField(default=dict, blank=True)
    cres = models.TextField(default="", blank=True)
    # The results request to the directory server (RReq) and its delivery (acs/directory.py), with retries.
    rreq = models.TextField(default="", blank=True)
    rreq_status = models.CharField(_("RReq"), max_length=10, choices=RReqStatus.choices, blank=True, default="")
    rreq_attempts = models.PositiveSmallIntegerField(default=0)
    rreq_next_at = models.DateTimeField(null=True, blank=True)
    rreq_error = models.CharField(max_length=200, blank=True, default="")
    rres = models.TextField(default="", blank=True)
    # The AReq without acctNumber, and the ARes as answered (byte-for-byte what a retry gets).
    areq = models.JSONField(default=dict)
    ares = models.TextField(default="")

    class Meta:
        verbose_name = _("3-D Secure authentication")
        verbose_name_plural = _("3-D Secure authentications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["authentication_value"],
                condition=~Q(authentication_value=""),
                name="acs_authentication_value_unique",
            ),
            models.CheckConstraint(condition=Q(status__in=RecordStatus.values), name="acs_record_status_valid"),
            models.CheckConstraint(condition=Q(trans_status__in=TransStatus.values), name="acs_trans_status_valid"),
            models.CheckConstraint(condition=Q(purchase_amount_minor__gte=0), name="acs_amount_non_negative"),
            models.CheckConstraint(condition=Q(rreq_status__in=RReqStatus.values), name="acs_rreq_status_valid"),
        ]
        indexes = [
            # The timeout sweep and the RReq retries look for these.
            models.Index(fields=["status", "expires_at"], name="acs_record_status_expiry_idx"),
            models.Index(fields=["rreq_status", "rreq_next_at"], name="acs_record_rreq_due_idx"),
        ]

    def __str__(self) -> str:
        return f"3DS {self.acs_trans_id} ({self.trans_status})"
