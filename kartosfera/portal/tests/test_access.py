from __future__ import annotations

from django.urls import reverse

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def test_staff_user_is_refused_with_403(client, settings, staff_user, card):
    # The back office will sign staff in through its own backend; until then
    # Django's ModelBackend stands in for it.
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, MODEL_BACKEND]
    client.force_login(staff_user, backend=MODEL_BACKEND)

    for url in (reverse("portal:card_list"), reverse("portal:card_detail", args=[card.pk])):
        response = client.get(url)
        assert response.status_code == 403
        assert "Brak dostępu" in response.content.decode()


def test_staff_session_is_not_a_cardholder_session(client, staff_user):
    # With the portal's own backend only, a staff user id in the session is
    # not even loaded: the visitor is anonymous and goes to the login page.
    client.force_login(staff_user, backend="kartosfera.users.backends.CustomerIdentifierBackend")

    response = client.get(reverse("portal:card_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("users:login"))
