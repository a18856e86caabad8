"""The expertise report: a self-contained HTML page (Jinja2 template, inline CSS, no network) and JSON.

Both forms carry the same stable flag ids, so the web application can show the page and store a reviewer's
decision (confirm / reject) against a flag id; `render_html` and `to_json` are what it calls.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from aiqyn.expertise.model import Provision, Report

_ENV = Environment(loader=PackageLoader("aiqyn.expertise", "templates"), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True)


# The detectors' short notes on each trigger, for the Russian page
NOTES_RU = {
    "discretion named outright": "усмотрение названо прямо",
    "no criteria for using the power": "нет условий применения полномочия",
    "the deadline says nothing": "срок не поддаётся проверке",
    "no deadline for this step": "срок не установлен",
    "open list of grounds": "открытый перечень оснований",
    "no grounds for refusal": "основания отказа не названы",
    "the function goes to bodies not named": "функция отдана неназванным органам",
    "two bodies hold the same function": "одна функция у двух органов",
    "the list of what may be demanded is open": "перечень требуемого открыт",
    "a separate act is still to be adopted": "нужен ещё не принятый акт",
    "left to a by-law of the authority": "отдано подзаконному акту органа",
    "the scope of the word cannot be checked": "содержание слова не проверяемо",
    "the decision is declared final": "решение объявлено окончательным",
    "no appeal against this decision": "не указан порядок обжалования",
    "the act keeps it out of public sight": "скрыто от общества",
    "no publication, report or public oversight": "нет опубликования, отчёта, общественного контроля",
}


def note(text: str, lang: str) -> str:
    return NOTES_RU.get(text, text) if lang == "ru" else text


def highlight(provision: Provision, report: Report) -> Markup:
    """The provision's text with every trigger marked (<mark data-factor=...>), HTML-escaped."""
    spans = sorted({(t.start, t.end, f.factor) for f in report.flags_of(provision.id) for t in f.triggers})
    out, pos = [], 0
    for start, end, factor in spans:
        if start < pos:
            continue  # triggers of two factors on the same words: the first one marks them
        out.append(escape(provision.text[pos:start]))
        out.append(Markup('<mark class="f-{0}" title="{0}">{1}</mark>').format(factor, provision.text[start:end]))
        pos = end
    out.append(escape(provision.text[pos:]))
    return Markup("").join(out)


def context(report: Report, lang: str = "ru") -> dict[str, Any]:
    """Everything the template needs; the web page can reuse it with its own layout."""
    scores = report.provision_scores()
    flagged = sorted(report.flagged_provisions, key=lambda p: -scores.get(p.id, 0.0))
    order = {p.id: i for i, p in enumerate(report.document.provisions)}
    return {
        "report": report,
        "doc": report.document,
        "summary": report.summary(),
        "factors": report.factors,
        "flagged": sorted(flagged, key=lambda p: order[p.id]),
        "top": flagged[:10],
        "scores": scores,
        "lang": lang if lang in ("ru", "en") else "ru",
        "highlight": lambda p: highlight(p, report),
        "note": lambda text: note(text, lang),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def render_html(report: Report, lang: str = "ru") -> str:
    """The report as one HTML page (explanations in Russian by default, `lang="en"` for English)."""
    return _ENV.get_template("report.html.j2").render(**context(report, lang))


def to_dict(report: Report) -> dict[str, Any]:
    return report.to_dict()


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
