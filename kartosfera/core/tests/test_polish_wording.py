"""Polish that addresses everybody alike, one spelling of 3-D Secure, and summaries that read as sentences."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from kartosfera.portal.forms import CancelForm
from kartosfera.portal.templatetags.kartosfera_ui import label_separator

PO_FILE = Path(settings.BASE_DIR) / "locale" / "pl" / "LC_MESSAGES" / "django.po"

# Forms that mark the reader's gender: past tense 2nd person ("odłożyłeś", "zrobiłaś", "mógłbyś"),
# "sam"/"sama" meaning "yourself" (not "ten sam" = "the same"), "w jego/jej imieniu",
# and the "zalogowany(-a)" crutch.
GENDERED = re.compile(
    r"\w+(łeś|łaś|łbyś|łabyś)\b"
    r"|\b(powinieneś|powinnaś)\b"
    r"|(?<!ten )(?<!tę )(?<!to )(?<!ta )(?<!tego )\b(sam|sama)\b"
    r"|\b(jego|jej) imieniu\b"
    r"|\w\(-?a\)",
    re.IGNORECASE,
)
# Database field names of secure3d's models: no page shows them, and renaming
# them would need a migration that changes nothing in the database.
MODEL_FIELD_NAMES = {"3D Secure PIN hash", "3D Secure PIN set at", "3D Secure profile", "3D Secure profiles"}


def _po_entries() -> list[dict[str, str]]:
    """The entries of django.po (msgctxt, msgid, msgid_plural, msgstr[n]) with their strings unescaped."""
    entries: list[dict[str, str]] = []
    key = ""
    for line in PO_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            entries[-1][key] += ast.literal_eval(line)
            continue
        key, value = line.split(" ", 1)
        # msgctxt or msgid after a msgstr starts the next entry.
        if key in {"msgctxt", "msgid"} and (not entries or any(k.startswith("msgstr") for k in entries[-1])):
            entries.append({})
        entries[-1][key] = ast.literal_eval(value)
    return entries


def _msgstrs() -> list[str]:
    return [value for entry in _po_entries() for key, value in entry.items() if key.startswith("msgstr") and value]


def test_the_po_file_is_read_whole():
    entries = _po_entries()
    assert len(entries) > 500
    assert {"msgid": "Cancelled", "msgstr": "Zastrzeżona"}.items() <= next(
        entry for entry in entries if entry.get("msgid") == "Cancelled"
    ).items()


@pytest.mark.parametrize(
    "text",
    ["Jeśli tylko ją gdzieś odłożyłeś", "Kartę odblokujesz sam, kodem", "czynności w jego imieniu", "wylogowany(-a)"],
)
def test_the_scan_catches_gendered_forms(text):
    assert GENDERED.search(text)


@pytest.mark.parametrize("text", ["Wpisz dwa razy ten sam PIN.", "Kartę odblokujesz samodzielnie", "Zalogowano"])
def test_the_scan_leaves_neutral_forms_alone(text):
    assert not GENDERED.search(text)


def test_no_polish_translation_marks_the_readers_gender():
    offenders = [text for text in _msgstrs() if GENDERED.search(text)]
    assert offenders == []


def test_3d_secure_is_written_one_way_in_both_languages():
    offenders = [text for text in _msgstrs() if "3D Secure" in text]
    offenders += [
        entry["msgid"]
        for entry in _po_entries()
        if "3D Secure" in entry.get("msgid", "") and entry["msgid"] not in MODEL_FIELD_NAMES
    ]
    templates = Path(settings.BASE_DIR).joinpath("templates").rglob("*.html")
    offenders += [str(path) for path in templates if "3D Secure" in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_an_error_summary_puts_no_colon_after_a_question_or_a_sentence():
    form = CancelForm(data={})
    assert not form.is_valid()
    with translation.override("pl"):
        html = render_to_string("includes/form_errors.html", {"form": form})
    assert "?</a>:" not in html and ".</a>:" not in html
    assert "Dlaczego zastrzegasz kartę?</a> Wybierz powód." in html
    assert (label_separator("Reason"), label_separator("Why?"), label_separator("I agree.")) == (": ", " ", " ")


@pytest.mark.django_db
def test_the_card_page_names_the_last_change_not_a_reason(client, cardholder, card):
    from django.urls import reverse

    from kartosfera.cards.operations_services import card_activate
    from kartosfera.core.audit import Actor

    card_activate(actor=Actor.system("tests"), card=card)
    client.force_login(cardholder.user)
    html = client.get(reverse("portal:card_detail", kwargs={"card_id": card.pk})).content.decode()
    assert re.search(r"<dt>Ostatnia zmiana</dt>\s*<dd[^>]*>Aktywacja</dd>", html)
    assert "<dt>Przyczyna</dt>" not in html
