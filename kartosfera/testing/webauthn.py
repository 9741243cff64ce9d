"""A software WebAuthn authenticator for tests: it answers registration and sign-in options as a real one does.

Real cryptography end to end (an ECDSA P-256 key, CBOR, authenticator data, the client data with its origin), so
the server's checks run unchanged: only the hardware is missing. The browser tests use Chromium's own virtual
authenticator (the DevTools WebAuthn domain) instead. Settable faults (no user verification, another origin, a
counter that goes back) let tests show each refusal.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url

FLAG_USER_PRESENT = 0x01
FLAG_USER_VERIFIED = 0x04
FLAG_BACKUP_ELIGIBLE = 0x08
FLAG_BACKED_UP = 0x10
FLAG_ATTESTED_CREDENTIAL = 0x40


class SoftAuthenticator:
    """One passkey on a pretend device, for the relying party ``rp_id`` at ``origin``."""

    def __init__(
        self,
        *,
        rp_id: str = "testserver",
        origin: str = "http://testserver",
        synced: bool = False,
        backup_eligible: bool | None = None,
        user_verified: bool = True,
        counter: bool = True,
    ) -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.synced = synced
        # May be synced (BE) without having been backed up yet (BS): a multi-device passkey all the same.
        self.backup_eligible = synced if backup_eligible is None else backup_eligible
        self.user_verified = user_verified
        # Apple's and Google's synced passkeys always send 0; security keys count up.
        self.counter = counter
        self.sign_count = 0
        self.credential_id = os.urandom(32)
        self._key = ec.generate_private_key(ec.SECP256R1())

    @property
    def credential_id_b64(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def _cose_public_key(self) -> bytes:
        numbers = self._key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _authenticator_data(self, *, attested: bool) -> bytes:
        flags = FLAG_USER_PRESENT
        if self.user_verified:
            flags |= FLAG_USER_VERIFIED
        if self.backup_eligible:
            flags |= FLAG_BACKUP_ELIGIBLE
        if self.synced:
            flags |= FLAG_BACKED_UP
        data = hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.sign_count)
        if attested:
            flags |= FLAG_ATTESTED_CREDENTIAL
            data = data[:32] + bytes([flags]) + data[33:]
            data += bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
            data += self._cose_public_key()
        return data

    def _client_data(self, kind: str, options: dict[str, Any]) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": options["challenge"], "origin": self.origin, "crossOrigin": False}
        ).encode()

    def create(self, options: dict[str, Any] | str) -> str:
        """The answer to registration options (the JSON ``PublicKeyCredential.toJSON()`` gives), attestation none."""
        opts = json.loads(options) if isinstance(options, str) else options
        client_data = self._client_data("webauthn.create", opts)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": self._authenticator_data(attested=True)})
        return json.dumps(
            {
                "id": self.credential_id_b64,
                "rawId": self.credential_id_b64,
                "type": "public-key",
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "attestationObject": bytes_to_base64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )

    def get(self, options: dict[str, Any] | str) -> str:
        """The signed answer to sign-in options (a new counter value first, when it counts)."""
        opts = json.loads(options) if isinstance(options, str) else options
        if self.counter:
            self.sign_count += 1
        client_data = self._client_data("webauthn.get", opts)
        authenticator_data = self._authenticator_data(attested=False)
        signature = self._key.sign(authenticator_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": self.credential_id_b64,
                "rawId": self.credential_id_b64,
                "type": "public-key",
                "response": {
                    "clientDataJSON": bytes_to_base64url(client_data),
                    "authenticatorData": bytes_to_base64url(authenticator_data),
                    "signature": bytes_to_base64url(signature),
                },
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )
