from __future__ import annotations

from django.utils import translation

from kartosfera.backoffice.presenters import audit_action_label, verification_summary


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


def test_audit_codes_have_labels_and_unknown_codes_show_as_they_are():
    with translation.override("en"):
        assert audit_action_label("backoffice.portal_unlock") == "Unlock portal access"
        assert audit_action_label("accounts.account.created") == "Account opened"
        assert audit_action_label("something.new") == "something.new"
