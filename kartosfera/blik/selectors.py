"""Reading BLIK's state and history, always through the customer."""

from __future__ import annotations

from dataclasses import dataclass

from kartosfera.blik.models import BlikChange, BlikService, SyncStatus
from kartosfera.customers.models import Customer

HISTORY_SHOWN = 20


@dataclass(frozen=True)
class BlikChangeRow:
    change: BlikChange
    # Whether the BLIK system has it: confirmed, or the service's pending/failed state for the newest changes.
    sync_status: str

    @property
    def sync_label(self) -> str:
        return str(SyncStatus(self.sync_status).label)


@dataclass(frozen=True)
class BlikState:
    enabled: bool
    service: BlikService | None
    history: list[BlikChangeRow]


def blik_state(customer: Customer) -> BlikState:
    """The customer's BLIK: on until first switched off (the bank offers it with the app), with the latest changes."""
    service = BlikService.objects.filter(customer=customer).first()
    if service is None:
        return BlikState(enabled=True, service=None, history=[])
    changes = BlikChange.objects.filter(service=service).order_by("-version")[:HISTORY_SHOWN]
    history = [
        BlikChangeRow(
            change=change,
            sync_status=SyncStatus.SYNCED if change.version <= service.synced_version else service.sync_status,
        )
        for change in changes
    ]
    return BlikState(enabled=service.enabled, service=service, history=history)
