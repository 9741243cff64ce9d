"""The back office: time and queries for finding a customer and opening their file, by number of customers and cards."""

from __future__ import annotations

from _setup import measure, setup_django


def main() -> None:
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kartosfera.backoffice.roles import StaffRole
    from kartosfera.testing import factories
    from kartosfera.testing.staff import staff_client, staff_person_create

    product = factories.product_factory()
    agent = staff_person_create(StaffRole.AGENT, username="bench-agent")
    client = staff_client(agent)
    print("== back-office pages (Django test client, in-process; SQLite unless DATABASE_URL is set)")
    customers = []
    for index in range(500):
        customer = factories.customer_factory(last_name=f"Kowalski{index:03d}")
        factories.cardholder_user_factory(customer=customer)
        customers.append(customer)
    for count in (1, 10, 50):
        customer = customers[count]
        for _ in range(count):
            factories.card_factory(customer=customer, product=product)
        page = f"/backoffice/customers/{customer.pk}/"
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page).status_code == 200
        measure(f"customer page, {count:>2} cards ({len(queries)} queries)", lambda p=page: client.get(p), repeat=100)
    for label, query in (
        ("by PESEL", customers[7].pesel),
        ("by bank customer number", customers[7].reference),
        ("by name, 500 customers share the prefix", "Kowalski"),
        ("by phone", customers[7].phone_on_file),
    ):
        url = f"/backoffice/?q={query}"
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {"q": query}).status_code == 200
        measure(
            f"search {label} ({len(queries)} queries)", lambda q=query: client.get("/backoffice/", {"q": q}), repeat=100
        )


if __name__ == "__main__":
    main()
