"""Making an activated device for a test, through the services (as the portal and the app do)."""

from __future__ import annotations

from kartosfera.core.audit import Actor
from kartosfera.customers.models import Customer
from kartosfera.devices import services
from kartosfera.devices.models import AppDevice
from kartosfera.devices.tests.app_client import AppClient

SYSTEM = Actor.system("test")


def device_for(customer: Customer, name: str = "Pixel 8", *, app: AppClient | None = None) -> AppDevice:
    """An active device of ``customer``: a code issued, shown and used with a fresh (or ``app``'s) key."""
    activation = services.device_activation_code_issue(actor=SYSTEM, customer=customer)
    code = services.device_activation_code_reveal(actor=SYSTEM, activation=activation)
    assert code is not None
    public_key = (app or AppClient()).public_key
    return services.device_activate(customer=customer, code=code, public_key=public_key, device_name=name)
