"""Precision and recall of every factor rule on the evaluation set.

The evaluation set (`evalset/ru.jsonl`, `evalset/kk.jsonl`) holds provisions written for the tests, apart from
the rules' own examples, each labelled with every factor it shows (or none: a clean provision). A provision is
one line: {"id", "lang", "factors": [codes], "text"}. A factor is counted per provision: flagged and labelled is
a true positive, flagged and not labelled a false positive, labelled and not flagged a false negative.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aiqyn.expertise.engine import check_provision
from aiqyn.expertise.model import Provision
from aiqyn.expertise.rules import REGISTRY


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    support: int = 0  # provisions labelled with the factor

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Evaluation:
    counts: dict[tuple[str, str], Counts] = field(default_factory=dict)  # (factor, lang or "all") -> counts
    errors: list[dict[str, Any]] = field(default_factory=list)
    provisions: dict[str, int] = field(default_factory=dict)  # lang -> number of provisions
    clean: dict[str, int] = field(default_factory=dict)  # lang -> provisions without any factor

    def get(self, factor: str, lang: str = "all") -> Counts:
        return self.counts.setdefault((factor, lang), Counts())

    def to_dict(self) -> dict[str, Any]:
        return {
            "provisions": self.provisions, "clean": self.clean,
            "factors": [{"factor": f, "lang": lang, "support": c.support, "tp": c.tp, "fp": c.fp, "fn": c.fn,
                         "precision": round(c.precision, 4), "recall": round(c.recall, 4)}
                        for (f, lang), c in sorted(self.counts.items())],
            "errors": self.errors,
        }


PARTS = {"development": ("ru.jsonl", "kk.jsonl"), "holdout": ("ru-holdout.jsonl", "kk-holdout.jsonl"),
         "fresh": ("ru-fresh.jsonl", "kk-fresh.jsonl"), "final": ("ru-final.jsonl", "kk-final.jsonl")}


def load_parts() -> dict[str, list[dict[str, Any]]]:
    """The evaluation set by part: `development` (looked at while the rules were written), `holdout` (written
    with the rules frozen, run once, then looked at), `fresh` (the same, a second round), `final` (written last,
    never looked at to change a rule) and `all`."""
    parts = {name: load_evalset(files=files) for name, files in PARTS.items()}
    parts["all"] = [item for items in parts.values() for item in items]
    return parts


def load_evalset(paths: list[Path] | None = None,
                 files: tuple[str, ...] = PARTS["development"]) -> list[dict[str, Any]]:
    """Items from the given JSON-lines paths, else from the shipped files named in `files`."""
    items: list[dict[str, Any]] = []
    if paths is None:
        base = resources.files("aiqyn.expertise") / "evalset"
        texts = [(f"evalset/{name}", (base / name).read_text(encoding="utf-8")) for name in files]
    else:
        texts = [(str(p), p.read_text(encoding="utf-8")) for p in paths]
    for source, text in texts:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                assert isinstance(item["text"], str) and item["lang"] in ("ru", "kk")
                assert all(code in {f.code for f in REGISTRY} for code in item["factors"])
            except (ValueError, KeyError, AssertionError) as exc:
                raise ValueError(f"{source}:{n}: not an evaluation item ({exc!r})") from exc
            items.append(item)
    return items


def evaluate(items: list[dict[str, Any]] | None = None) -> Evaluation:
    items = load_evalset() if items is None else items
    ev = Evaluation()
    for item in items:
        lang = item["lang"]
        ev.provisions[lang] = ev.provisions.get(lang, 0) + 1
        if not item["factors"]:
            ev.clean[lang] = ev.clean.get(lang, 0) + 1
        provision = Provision(id=item["id"], label=item["id"], text=item["text"], lang=lang)
        flags = {f.factor: f for f in check_provision(provision)}
        labelled = set(item["factors"])
        for factor in REGISTRY:
            code = factor.code
            for key in (lang, "all"):
                c = ev.get(code, key)
                c.support += code in labelled
                if code in flags and code in labelled:
                    c.tp += 1
                elif code in flags:
                    c.fp += 1
                elif code in labelled:
                    c.fn += 1
        wrong = set(flags) ^ labelled
        if wrong:
            ev.errors.append({"id": item["id"], "text": item["text"], "labelled": sorted(labelled),
                              "flagged": sorted(flags),
                              "triggers": {c: [t.words for t in f.triggers] for c, f in flags.items()}})
    return ev


def markdown(results: dict[str, Evaluation]) -> str:
    """The figures as Markdown tables (what `aiqyn expertise evaluate --markdown` prints and the docs hold)."""
    from aiqyn.expertise.rules import REGISTRY

    lines: list[str] = []
    for name, ev in results.items():
        n = sum(ev.provisions.values())
        langs = ", ".join(f"{k} {v}" for k, v in sorted(ev.provisions.items()))
        lines += [f"**{name}**: {n} provisions ({langs}), {sum(ev.clean.values())} without any factor", "",
                  "| factor | ru P | ru R | kk P | kk R | all P | all R | labelled | TP | FP | FN |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for f in REGISTRY:
            ru, kk, al = ev.get(f.code, "ru"), ev.get(f.code, "kk"), ev.get(f.code, "all")
            lines.append(f"| {f.code} {f.names['en'].lower()} | {ru.precision:.3f} | {ru.recall:.3f} | "
                         f"{kk.precision:.3f} | {kk.recall:.3f} | {al.precision:.3f} | {al.recall:.3f} | "
                         f"{al.support} | {al.tp} | {al.fp} | {al.fn} |")
        lines.append("")
    return "\n".join(lines)
