"""The bank's provisioning API: time per call for creating customers and issuing cards."""

from __future__ import annotations

import itertools
import json

from _setup import measure, setup_django


def main() -> None:
    setup_django()
    import datetime as dt

    from django.test import Client

    from kartosfera.api.models import ApiScope
    from kartosfera.api.services import api_key_create
    from kartosfera.core.audit import Actor
    from kartosfera.testing.factories import account_factory, customer_factory, make_pan, make_pesel, product_factory

    _, token = api_key_create(actor=Actor.system("bench"), name="bench", scopes=[ApiScope.PROVISIONING])
    client = Client(headers={"Authorization": f"Bearer {token}"})
    serial = itertools.count(1)
    base = "/api/provisioning/v1"

    def create_customer() -> None:
        n = next(serial)
        body = {
            "reference": f"BENCH-CIF-{n}",
            "residency": "resident",
            "first_name": "Jan",
            "last_name": "Kowalski",
            "pesel": make_pesel(dt.date(1980, 1, 1) + dt.timedelta(days=n % 9000), n),
            "phone_on_file": "+48600700800",
        }
        response = client.post(
            f"{base}/customers", json.dumps(body), content_type="application/json", headers={"Idempotency-Key": f"c{n}"}
        )
        assert response.status_code == 201, response.content

    customer = customer_factory()
    product = product_factory()
    account = account_factory(customer=customer)

    def issue_card() -> None:
        n = next(serial)
        body = {
            "reference": f"BENCH-CARD-{n}",
            "product": product.code,
            "account": account.reference,
            "customer": customer.reference,
            "pan": make_pan("400000", 500_000 + n),
            "embossed_name": "JAN KOWALSKI",
        }
        response = client.post(
            f"{base}/cards", json.dumps(body), content_type="application/json", headers={"Idempotency-Key": f"k{n}"}
        )
        assert response.status_code == 201, response.content

    print("== provisioning API (Django test client, in-process)")
    measure("POST /customers (validate, create, audit, idempotency record)", create_customer, repeat=300)
    measure("POST /cards (Luhn, encrypt, fingerprint, audit, idempotency)", issue_card, repeat=300)


if __name__ == "__main__":
    main()
