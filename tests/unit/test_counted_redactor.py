"""The analytics redactor spares the lines' own names and counts what it finds."""

from __future__ import annotations

from prometheus_client import REGISTRY

from services.analytics.adapters.counted_redactor import CountedRedactor
from tests.support.fakes import FakeRedactor


def _count(entity: str) -> float:
    return REGISTRY.get_sample_value("switchboard_redactions_total", {"entity": entity}) or 0.0


def test_a_company_name_taken_for_a_person_is_kept_and_a_real_name_is_not() -> None:
    inner = FakeRedactor({"Acme Outfitters": "PERSON", "Dana Whitfield": "PERSON"})
    redactor = CountedRedactor(inner, keep_terms=["acme outfitters"])
    before = _count("PERSON")

    result = redactor.redact("Thanks for calling Acme Outfitters, Dana Whitfield.")

    assert result.text == "Thanks for calling Acme Outfitters, [PERSON]."
    assert [e.type for e in result.entities] == ["PERSON"]
    assert _count("PERSON") == before + 1


def test_keep_terms_spare_names_only_never_other_personal_data() -> None:
    inner = FakeRedactor({"Acme 4111": "CREDIT_CARD"})
    redactor = CountedRedactor(inner, keep_terms=["Acme 4111"])

    assert redactor.redact("card Acme 4111").text == "card [CREDIT_CARD]"


def test_without_keep_terms_the_result_is_the_inner_redactors() -> None:
    inner = FakeRedactor({"Acme": "PERSON"})

    assert CountedRedactor(inner).redact("Acme here").text == "[PERSON] here"
