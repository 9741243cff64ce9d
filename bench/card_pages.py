"""The cardholder's pages: time and queries for the card list and a card's page, by number of cards."""

from __future__ import annotations

from _setup import measure, setup_django


def main() -> None:
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from kartosfera.testing import factories

    product = factories.product_factory()
    print("== portal pages (Django test client, in-process; SQLite unless DATABASE_URL is set)")
    for count in (1, 10, 50):
        customer = factories.customer_factory()
        factories.cardholder_user_factory(customer=customer)
        cards = [factories.card_factory(customer=customer, product=product) for _ in range(count)]
        client = Client()
        client.force_login(customer.portal_user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/cards/").status_code == 200
        measure(f"card list, {count:>2} cards ({len(queries)} queries)", lambda c=client: c.get("/cards/"), repeat=200)
        detail = f"/cards/{cards[0].pk}/"
        with CaptureQueriesContext(connection) as queries:
            assert client.get(detail).status_code == 200
        measure(
            f"card page, {count:>2} cards ({len(queries)} queries)", lambda c=client, d=detail: c.get(d), repeat=200
        )


if __name__ == "__main__":
    main()
