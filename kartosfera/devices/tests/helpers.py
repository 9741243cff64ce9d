"""Making an activated device for a test, through the services (as the portal and the app do)."""

from __future__ import annotations

from kartosfera.core.audit import Actor
from kartosfera.customers.models import Customer
from kartosfera.devices import services, sessions
from kartosfera.devices.models import AppDevice
from kartosfera.devices.tests.app_client import DEFAULT_PIN, AppClient

SYSTEM = Actor.system("test")


def device_for(customer: Customer, name: str = "Pixel 8", *, app: AppClient | None = None) -> AppDevice:
    """An active device of ``customer``: a code issued, shown and used with a fresh (or ``app``'s) key and PIN.

    ``app`` is told its device id and its app session is opened (with its PIN, through the service), so that it
    can sign requests at once.
    """
    activation = services.device_activation_code_issue(actor=SYSTEM, customer=customer)
    code = services.device_activation_code_reveal(actor=SYSTEM, activation=activation)
    assert code is not None
    device = services.device_activate(
        customer=customer,
        code=code,
        public_key=(app or AppClient()).public_key,
        device_name=name,
        pin=app.pin if app is not None else DEFAULT_PIN,
    )
    if app is not None:
        app.device_id = str(device.public_id)
        session_open_for(app)
    return device


def session_open_for(app: AppClient) -> AppDevice:
    """Open the app session of ``app``'s device with its PIN, through the service (no request id spent)."""
    device = AppDevice.objects.get(public_id=app.device_id)
    device = sessions.device_session_open(device=device, holder=None, pin=app.pin)
    app.session_open = True
    return device
