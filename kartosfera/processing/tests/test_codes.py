"""The response-code table: the doc shows the code's table, no generic 05, every reason has both texts."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import translation

from kartosfera.processing import pipeline
from kartosfera.processing.codes import CODES, Reason, codes_table_markdown

DOC = Path(settings.BASE_DIR) / "docs" / "processing.md"


def test_the_doc_shows_the_code_table():
    assert codes_table_markdown() in DOC.read_text(encoding="utf-8")


def test_every_reason_has_a_row_and_no_row_uses_the_generic_05():
    reasons = {value for name, value in vars(Reason).items() if name.isupper()}
    assert reasons == set(CODES)
    for code in CODES.values():
        assert "05" not in {code.visa, code.mastercard}
        assert code.mastercard_advice in {"", "01", "02", "03"}


def test_every_reason_reads_in_polish_and_english():
    for code in CODES.values():
        texts = code.texts()
        with translation.override("en"):
            assert texts["en"] == str(code.text)
        assert texts["pl"] and texts["pl"] != texts["en"], code.reason


def test_every_check_of_the_pipeline_is_named_check():
    names = [check.__name__ for check in pipeline.CHECKS]
    assert all(name.startswith("check_") for name in names)
    assert len(set(names)) == len(names)
