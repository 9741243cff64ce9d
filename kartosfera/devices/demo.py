"""The demo bank's activated BS Pay device: Anna Kowalska's phone, with a key anybody can derive.

The key is published on purpose (docs/phone-payments.md), so that a developer can
play the app against the demo with the signature scheme; no real bank loads it.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kartosfera.core.audit import Actor
from kartosfera.customers.models import Customer
from kartosfera.devices import signatures
from kartosfera.devices.models import AppDevice
from kartosfera.devices.services import device_activate, device_activation_code_issue, device_activation_code_reveal

DEMO_DEVICE_SEED = b"kartosfera demo BS Pay device: a published key, never a real one"
DEMO_DEVICE_NAME = "Pixel 8 (demo)"
# Published with the key: the app PIN that opens the demo device's app session (POST /session).
DEMO_DEVICE_PIN = "246810"


def demo_device_private_key() -> Ed25519PrivateKey:
    """The demo device's private key: the SHA-256 of the published seed."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(DEMO_DEVICE_SEED).digest())


def demo_device_load(*, actor: Actor, customer: Customer) -> bool:
    """Activate the demo device for ``customer`` through the services, unless it exists; True when created."""
    public_key = signatures.public_key_text(demo_device_private_key())
    if AppDevice.objects.filter(public_key=public_key).exists():
        return False
    activation = device_activation_code_issue(actor=actor, customer=customer)
    code = device_activation_code_reveal(actor=actor, activation=activation)
    assert code is not None  # just issued
    device_activate(
        customer=customer,
        code=code,
        public_key=public_key,
        device_name=DEMO_DEVICE_NAME,
        pin=DEMO_DEVICE_PIN,
        actor=actor,
    )
    return True
