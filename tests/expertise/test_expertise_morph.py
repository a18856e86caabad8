"""Russian lemmas (pymorphy3) and Kazakh suffix-aware stems."""

from __future__ import annotations

import pytest

from aiqyn.expertise.morph import detect_language, kk_stem_match, phrase, tokenize


@pytest.mark.parametrize(("word", "stem", "expected"), [
    ("органның", "орган", True), ("органдарға", "орган", True), ("органы", "орган", True),
    ("органикалық", "орган", False), ("талабы", "талап", True), ("кезегін", "кезек", True),
    ("министрлігі", "министрлік", True), ("түсіндірместен", "түсіндір", True), ("бөлімі", "бөлім", True),
    ("тартылады", "тарт", True), ("тартқыш", "тарт", False),
])
def test_kazakh_stem_with_suffixes(word: str, stem: str, expected: bool) -> None:
    assert kk_stem_match(word, stem) is expected


def test_russian_phrase_matches_any_inflection() -> None:
    tokens = tokenize("Решение принимается по своему усмотрению комиссии", "ru")
    assert phrase("по *1 усмотрение", "ru").finditer(tokens)
    tokens = tokenize("в порядке, определяемом уполномоченным органом", "ru")
    assert "определять" in tokens[2].lemmas and "орган" in tokens[4].lemmas


def test_gap_and_exact_items() -> None:
    tokens = tokenize("Уәкілетті орган өтінішті ақылға қонымды мерзімде қарайды", "kk")
    found = phrase("ақылға қонымды мерзім", "kk").finditer(tokens)
    assert [(m.first, m.last) for m in found] == [(3, 5)]
    assert not phrase("=мерзім", "kk").finditer(tokens)


def test_language_detection() -> None:
    assert detect_language("Уполномоченный орган вправе продлить срок.") == "ru"
    assert detect_language("Уәкілетті орган мерзімді ұзартуға құқылы.") == "kk"
