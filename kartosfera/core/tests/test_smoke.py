def test_health_answers_ok_when_the_database_answers(client, db):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_fixture_card_is_issued_inactive(card):
    assert card.status == "inactive"
    assert card.pan_last4.isdigit()
