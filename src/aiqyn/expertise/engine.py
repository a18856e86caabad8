"""Run every factor rule over every provision of a document and collect explainable flags."""

from __future__ import annotations

from collections.abc import Iterable

from aiqyn import __version__
from aiqyn.expertise.model import Document, Flag, Provision, Report, Trigger
from aiqyn.expertise.rules import REGISTRY, Context, Factor


def _overlaps(a: Trigger, b: Trigger) -> bool:
    return a.start < b.end and b.start < a.end


def _merge(triggers: list[Trigger], text: str) -> list[Trigger]:
    """Overlapping triggers of one factor become one, spanning them all ("иные документы" + "документы по
    требованию" -> "иные документы по требованию"), with the note of the first."""
    kept: list[Trigger] = []
    for t in sorted(triggers, key=lambda t: (t.start, -(t.end - t.start))):
        if kept and _overlaps(kept[-1], t):
            first = kept[-1]
            end = max(first.end, t.end)
            kept[-1] = Trigger(first.start, end, text[first.start:end], first.note)
            continue
        kept.append(t)
    return kept


def check_provision(provision: Provision, factors: Iterable[Factor] = REGISTRY) -> list[Flag]:
    """The flags of one provision: at most one per factor, each with the words that triggered it."""
    ctx = Context(provision)
    raw: dict[str, list[Trigger]] = {}
    factors = list(factors)
    for factor in factors:
        triggers = factor.detect(ctx)
        if triggers:
            raw[factor.code] = triggers
    # A general factor (vague terms) gives way where a specific one already explains the same words.
    for factor in factors:
        if factor.code not in raw or not factor.yields_to:
            continue
        others = [t for code in factor.yields_to for t in raw.get(code, [])]
        kept = [t for t in raw[factor.code] if not any(_overlaps(t, o) for o in others)]
        if kept:
            raw[factor.code] = kept
        else:
            del raw[factor.code]
    flags = []
    for factor in factors:
        if factor.code in raw:
            raw[factor.code] = _merge(raw[factor.code], provision.text)
            lang = "ru" if provision.lang in ("ru", "kk") else "en"
            flags.append(Flag(
                id=Flag.make_id(provision, factor.code), factor=factor.code, provision_id=provision.id,
                triggers=raw[factor.code], explanation=factor.explanation[lang], remedy=factor.remedy[lang],
                weight=factor.weight,
            ))
    return flags


def check_text(text: str, lang: str | None = None) -> list[Flag]:
    """The flags of one provision given as plain text (the language is detected when not given)."""
    from aiqyn.expertise.morph import detect_language

    return check_provision(Provision(id="p", label="", text=text, lang=lang or detect_language(text)))


def analyse_document(document: Document, factors: Iterable[Factor] = REGISTRY) -> Report:
    factors = list(factors)
    flags = [f for p in document.provisions for f in check_provision(p, factors)]
    return Report(document=document, flags=flags, factors={f.code: f.metadata() for f in factors},
                  tool_version=__version__)
