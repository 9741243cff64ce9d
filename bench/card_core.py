"""Card-number handling: validation, encryption, decryption, fingerprints (per call)."""

from __future__ import annotations

from _setup import measure, setup_django


def main() -> None:
    setup_django()
    from kartosfera.cards.pan import decrypt_pan, encrypt_pan, pan_fingerprint, validate_pan
    from kartosfera.testing.factories import make_pan

    pan = make_pan("400000", 4242)
    token = encrypt_pan(pan)
    print("== card core: card numbers")
    measure("validate_pan (length, Luhn, brand)", lambda: validate_pan(pan, brand="visa"), repeat=2000)
    measure("encrypt_pan (Fernet)", lambda: encrypt_pan(pan), repeat=2000)
    measure("decrypt_pan (Fernet)", lambda: decrypt_pan(token), repeat=2000)
    measure("pan_fingerprint (HMAC-SHA256)", lambda: pan_fingerprint(pan), repeat=2000)


if __name__ == "__main__":
    main()
