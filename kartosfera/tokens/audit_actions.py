"""The audit actions of wallet tokens (see docs/audit.md and docs/phone-payments.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import pgettext_lazy

from kartosfera.core.audit_actions import (
    Audience,
    AuditAction,
    AuditKind,
    Severity,
    Text,
    audit_actions_register,
    choice_label,
)
from kartosfera.tokens.states import SuspendedBy, TokenCommand, Wallet

CARDS, BANK = AuditKind.CARDS, AuditKind.BANK

_WALLETS: dict[str, Text] = {wallet.value: wallet.label for wallet in Wallet}
_CAUSES: dict[str, Text] = {cause.value: cause.label for cause in SuspendedBy}
_COMMANDS: dict[str, Text] = {command.value: command.label for command in TokenCommand}


def _token(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    # "Google Pay •••• 1234": which token of the card, the way the holder sees it on the card's page.
    wallet = choice_label(_WALLETS, after.get("wallet"))
    last4 = str(after.get("token_last4", ""))
    return f"{wallet} •••• {last4}" if last4 else str(wallet)


def _token_and_cause(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    cause = choice_label(_CAUSES, after.get("suspended_by") or before.get("suspended_by"))
    token = _token(before, after, for_staff)
    reason = str(after.get("reason", "")) if for_staff else ""
    return " · ".join(str(part) for part in (token, cause, reason) if part)


def _command(before: Mapping[str, Any], after: Mapping[str, Any], for_staff: bool) -> Text:
    return " · ".join(
        str(part) for part in (_token(before, after, for_staff), choice_label(_COMMANDS, after.get("command"))) if part
    )


audit_actions_register(
    AuditAction(
        "tokens.token.requested", pgettext_lazy("audit action", "Wallet token requested"), CARDS, detail=_token
    ),
    AuditAction(
        "tokens.token.activated",
        pgettext_lazy("audit action", "Wallet token activated"),
        CARDS,
        severity=Severity.NOTICE,
        detail=_token_and_cause,
    ),
    AuditAction(
        "tokens.token.resumed",
        pgettext_lazy("audit action", "Wallet token resumed"),
        CARDS,
        severity=Severity.NOTICE,
        detail=_token_and_cause,
    ),
    AuditAction(
        "tokens.token.suspended",
        pgettext_lazy("audit action", "Wallet token suspended"),
        CARDS,
        severity=Severity.NOTICE,
        detail=_token_and_cause,
    ),
    AuditAction(
        "tokens.token.suspension_changed",
        pgettext_lazy("audit action", "Reason for the wallet token's suspension changed"),
        CARDS,
        detail=_token_and_cause,
    ),
    AuditAction(
        "tokens.token.deleted",
        pgettext_lazy("audit action", "Wallet token deleted"),
        CARDS,
        severity=Severity.WARNING,
        detail=_token,
    ),
    AuditAction(
        "tokens.provisioning.declined",
        pgettext_lazy("audit action", "Adding the card to a phone wallet declined"),
        CARDS,
        severity=Severity.NOTICE,
        detail=_token,
    ),
    AuditAction(
        "tokens.provisioning.verified",
        pgettext_lazy("audit action", "Adding the card to a phone wallet confirmed with an SMS code"),
        CARDS,
        severity=Severity.NOTICE,
        detail=_token,
    ),
    AuditAction(
        "tokens.provisioning.verification_failed",
        pgettext_lazy("audit action", "Adding the card to a phone wallet not confirmed"),
        CARDS,
        severity=Severity.WARNING,
        detail=_token,
    ),
    AuditAction(
        "tokens.command.confirmed",
        pgettext_lazy("audit action", "Wallet token change confirmed by the token service"),
        BANK,
        audience=Audience.STAFF,
        detail=_command,
    ),
    AuditAction(
        "tokens.command.failed",
        pgettext_lazy("audit action", "Wallet token change not confirmed by the token service"),
        BANK,
        audience=Audience.STAFF,
        severity=Severity.WARNING,
        detail=_command,
    ),
)
