"""Every factor rule: its metadata is complete and each of its examples (both languages) is a test."""

from __future__ import annotations

import pytest

from aiqyn.expertise.engine import check_text
from aiqyn.expertise.rules import REGISTRY

CASES = [(f.code, ex) for f in REGISTRY for ex in f.examples]


@pytest.mark.parametrize(("code", "example"), CASES,
                         ids=[f"{code}-{ex.lang}-{'pos' if ex.flagged else 'neg'}-{i}" for i, (code, ex) in
                              enumerate(CASES)])
def test_rule_example(code: str, example) -> None:  # type: ignore[no-untyped-def]
    flags = {f.factor: f for f in check_text(example.text, example.lang)}
    assert (code in flags) == example.flagged, (example.text, {c: [t.words for t in f.triggers]
                                                               for c, f in flags.items()})
    if example.flagged:
        for trig in flags[code].triggers:  # every flag quotes the words that raised it, at their place
            assert example.text[trig.start:trig.end] == trig.words and trig.words.strip()


def test_registry_metadata_is_complete() -> None:
    codes = [f.code for f in REGISTRY]
    assert codes == sorted(set(codes)) and len(codes) == 9
    for f in REGISTRY:
        assert set(f.names) == {"ru", "kk", "en"} and all(f.names.values())
        assert set(f.explanation) == {"ru", "en"} and set(f.remedy) == {"ru", "en"}
        assert f.methodology and all(f.methodology)
        for lang in ("ru", "kk"):
            kinds = {ex.flagged for ex in f.examples if ex.lang == lang}
            assert kinds == {True, False}, f"{f.code} needs a positive and a negative example in {lang}"
        assert all(code in codes for code in f.yields_to)


def test_one_file_per_factor() -> None:
    import aiqyn.expertise.rules as pkg

    for f in REGISTRY:
        module = __import__(f.detect.__module__, fromlist=["FACTOR"])
        assert module.FACTOR is f
        assert module.__name__.startswith(f"{pkg.__name__}.{f.code.lower()}_")


def test_vague_term_yields_to_the_specific_factor() -> None:
    flags = {f.factor for f in check_text("К заявлению прилагаются паспорт и иные документы.", "ru")}
    assert flags == {"AC05"}  # "иные документы" is explained by AC05, not repeated as AC07
    flags = {f.factor for f in check_text("Мероприятия финансируются из бюджета и иных источников.", "ru")}
    assert flags == {"AC07"}
