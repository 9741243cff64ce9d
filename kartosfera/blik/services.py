"""Switching BLIK off and on (docs/phone-payments.md, "BLIK"): the one place that changes it, for every channel."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from kartosfera.blik.models import BlikChange, BlikChannel, BlikService, SyncStatus
from kartosfera.core.audit import Actor, audit_record
from kartosfera.core.errors import DomainError
from kartosfera.customers.models import Customer
from kartosfera.customers.selectors import customer_payments_stopped

DETAIL_MAX_LENGTH = 200


class BlikOnOnlyInApp(DomainError):
    default_message = gettext_lazy("BLIK is switched on again only in the BS Pay app.")
    code = "blik_on_only_in_app"


class BlikPaymentsStopped(DomainError):
    default_message = gettext_lazy("All your payments are stopped: lift the stop first.")
    code = "payments_stopped"


def _locked_service(customer: Customer) -> BlikService:
    # get_or_create under the row lock: a concurrent first switch finds the row the other created (the unique
    # customer) and waits for its lock.
    service, _created = BlikService.objects.select_for_update().get_or_create(customer=customer)
    return service


def _switch(*, actor: Actor, customer: Customer, enabled: bool, channel: str, detail: str) -> BlikService:
    from kartosfera.blik.sync import blik_sync_enqueue

    with transaction.atomic():
        service = _locked_service(customer)
        # "Stop everything" holds BLIK off until it is lifted (kartosfera/stops; lifting in the app brings it back).
        # Read under BLIK's row lock, which the stop takes too: a stop committed while this waited is seen here.
        if enabled and customer_payments_stopped(customer.pk):
            raise BlikPaymentsStopped()
        if service.enabled == enabled:
            return service  # already so: nothing changes, nothing is sent, nothing is recorded
        service.enabled = enabled
        service.version += 1
        service.changed_at = timezone.now()
        service.sync_status = SyncStatus.PENDING
        service.sync_attempts = 0
        service.sync_error = ""
        service.save()
        BlikChange.objects.create(
            service=service,
            version=service.version,
            enabled=enabled,
            channel=channel,
            detail=detail[:DETAIL_MAX_LENGTH],
        )
        audit_record(
            actor=actor,
            action="blik.service.switched_on" if enabled else "blik.service.switched_off",
            obj=service,
            customer_id=customer.pk,
            before={"enabled": not enabled},
            after={"enabled": enabled, "channel": channel, "version": service.version, "detail": detail},
        )
        transaction.on_commit(lambda: blik_sync_enqueue(service_id=service.pk))
    return service


def blik_switch_off(*, actor: Actor, customer: Customer, channel: str, detail: str = "") -> BlikService:
    """Switch the customer's BLIK off at once, from any channel (the holder in the portal or the app, the bank).

    No code is asked: a kill switch must work with a lost phone. Switching off what is off changes nothing.
    """
    if channel not in BlikChannel.values:
        raise ValueError(f"unknown channel {channel!r}")
    return _switch(actor=actor, customer=customer, enabled=False, channel=channel, detail=detail)


def blik_switch_on(*, actor: Actor, customer: Customer, channel: str, detail: str = "") -> BlikService:
    """Switch the customer's BLIK on again: only from the BS Pay app (a request signed by an activated device).

    ``detail``: the device's name, for the history. The portal and the bank cannot: whoever holds a stolen
    phone's portal session must not be able to undo the holder's kill switch [ours].
    """
    if channel != BlikChannel.APP:
        raise BlikOnOnlyInApp()
    return _switch(actor=actor, customer=customer, enabled=True, channel=channel, detail=detail)
