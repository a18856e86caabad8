"""The objects of an anti-corruption expertise: a draft act's provisions, the flags raised on them, the report.

A *provision* is the smallest numbered unit of a legal act that carries a norm: a sub-paragraph
("подпункт", "тармақша"), else a paragraph ("пункт", "тармақ"), else an article ("статья", "бап") that has no
paragraphs. A *flag* says that one corruption-prone factor was found in one provision, quotes the words that
triggered it and explains why; its id is stable (the same draft analysed again gives the same ids), so a
reviewer's decision can be attached to it and kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Provision:
    id: str  # stable path of numbers, e.g. "a5.p2.s3" (article 5, paragraph 2, sub-paragraph 3)
    label: str  # for people, in the language of the act: "Статья 5, пункт 2, подпункт 3)"
    text: str
    lang: str  # "ru" or "kk"
    article: str = ""  # the article's number and heading, e.g. "Статья 5. Выдача разрешений"
    lead: str = ""  # the text that introduces a list this provision belongs to ("Основаниями для отказа являются:")
    article_text: str = ""  # the whole article, for factors that look for something missing in it

    def __post_init__(self) -> None:
        if not self.article_text:
            self.article_text = self.text


@dataclass(frozen=True)
class Trigger:
    """Words of a provision that raised a flag; `start`/`end` are character offsets in `Provision.text`."""

    start: int
    end: int
    words: str
    note: str = ""


@dataclass
class Flag:
    id: str
    factor: str  # the factor's code, e.g. "AC01"
    provision_id: str
    triggers: list[Trigger]
    explanation: str
    remedy: str
    weight: float = 1.0

    @staticmethod
    def make_id(provision: Provision, factor: str) -> str:
        digest = hashlib.sha1(f"{provision.id}\x00{factor}\x00{provision.text}".encode()).hexdigest()
        return f"{factor}-{provision.id}-{digest[:8]}"


@dataclass
class Document:
    title: str
    lang: str
    provisions: list[Provision]
    source: str = ""  # file name or address
    sha256: str = ""
    fmt: str = "text"


@dataclass
class Report:
    document: Document
    flags: list[Flag] = field(default_factory=list)
    factors: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> metadata (names, remedy, ...)
    tool_version: str = ""

    def flags_of(self, provision_id: str) -> list[Flag]:
        return [f for f in self.flags if f.provision_id == provision_id]

    @property
    def flagged_provisions(self) -> list[Provision]:
        ids = {f.provision_id for f in self.flags}
        return [p for p in self.document.provisions if p.id in ids]

    def summary(self) -> dict[str, Any]:
        per_factor = {code: 0 for code in self.factors}
        for f in self.flags:
            per_factor[f.factor] = per_factor.get(f.factor, 0) + 1
        scores = self.provision_scores()
        return {
            "provisions": len(self.document.provisions),
            "provisions_flagged": len(self.flagged_provisions),
            "flags": len(self.flags),
            "flags_per_factor": per_factor,
            "top_provisions": [pid for pid, _ in sorted(scores.items(), key=lambda kv: -kv[1])[:10]],
        }

    def provision_scores(self) -> dict[str, float]:
        """A provision's risk score: the sum of its flags' weights (each factor counts once)."""
        scores: dict[str, float] = {}
        for f in self.flags:
            scores[f.provision_id] = scores.get(f.provision_id, 0.0) + f.weight
        return scores

    def to_dict(self) -> dict[str, Any]:
        doc = self.document
        scores = self.provision_scores()
        return {
            "schema": "aiqyn.expertise.report/1",
            "tool_version": self.tool_version,
            "document": {"title": doc.title, "lang": doc.lang, "source": doc.source, "sha256": doc.sha256,
                         "format": doc.fmt},
            "summary": self.summary(),
            "factors": self.factors,
            "provisions": [
                {**asdict(p), "score": scores.get(p.id, 0.0),
                 "flags": [f.id for f in self.flags_of(p.id)]}
                for p in doc.provisions
            ],
            "flags": [asdict(f) for f in self.flags],
        }
