from __future__ import annotations

from django.utils import translation

from kartosfera.backoffice.presenters import verification_summary


def test_the_verification_of_an_action_reads_as_words_in_the_users_language():
    after = {
        "verification_channel": "branch",
        "verification_checks": ["identifier", "identity_document"],
        "verification_document": "passport",
    }
    with translation.override("en"):
        assert verification_summary(after) == (
            "In person at a branch: PESEL or identification number, Identity document shown, Passport"
        )
    with translation.override("pl"):
        assert verification_summary(after).startswith("Osobiście w placówce: PESEL lub numer identyfikacyjny")
    assert verification_summary({"reason": "no verification"}) == ""
