"""The evaluation set: well-formed, large enough per factor and language, and apart from the rules' examples."""

from __future__ import annotations

from collections import Counter

from aiqyn.expertise.evaluate import PARTS, evaluate, load_evalset, load_parts
from aiqyn.expertise.rules import REGISTRY


def test_sizes_per_factor_and_language() -> None:
    dev = load_evalset(files=PARTS["development"])
    positives = Counter((code, item["lang"]) for item in dev for code in item["factors"])
    for f in REGISTRY:
        for lang in ("ru", "kk"):
            assert positives[(f.code, lang)] >= 15, (f.code, lang)
    clean = Counter(item["lang"] for item in dev if not item["factors"])
    assert clean["ru"] >= 40 and clean["kk"] >= 40


def test_ids_unique_and_parts_disjoint_from_each_other_and_from_rule_examples() -> None:
    parts = load_parts()
    ids = [item["id"] for item in parts["all"]]
    assert len(ids) == len(set(ids))
    names = ("development", "holdout", "fresh", "final")
    texts = {name: {item["text"] for item in parts[name]} for name in names}
    examples = {ex.text for f in REGISTRY for ex in f.examples}
    seen: set[str] = set(examples)
    for name in names:  # no provision of a part repeats an earlier part or a rule's example
        assert not texts[name] & seen, name
        seen |= texts[name]


def test_counts_add_up() -> None:
    items = load_evalset(files=PARTS["holdout"])
    ev = evaluate(items)
    for f in REGISTRY:
        c = ev.get(f.code)
        assert c.support == sum(f.code in item["factors"] for item in items) == c.tp + c.fn


def test_every_trigger_note_has_a_russian_wording() -> None:
    from aiqyn.expertise.engine import check_provision
    from aiqyn.expertise.model import Provision
    from aiqyn.expertise.report import NOTES_RU

    notes = set()
    for item in load_parts()["all"]:
        for flag in check_provision(Provision(id="x", label="", text=item["text"], lang=item["lang"])):
            notes |= {t.note for t in flag.triggers}
    assert notes and notes <= set(NOTES_RU)
