"""Anti-corruption expertise of draft legal acts (module 10).

NGO reviewers read long drafts by hand; this package points them to the provisions whose wording creates
corruption risks. A draft (text, DOCX, PDF with a text layer, HTML from a legal portal; Russian or Kazakh) is
cut into articles, paragraphs and sub-paragraphs (`parse`); each factor rule (`rules/`, one file per factor
of the Kazakhstan and CIS methodologies) flags the provisions it finds, quoting the words that triggered it
and explaining why; `report` renders the result as HTML and JSON with stable flag ids.

The API the web page calls::

    from aiqyn.expertise import analyse, render_html, to_json
    report = analyse("draft.docx")          # or analyse(text) with the draft's text
    html = render_html(report); data = to_json(report)
"""

from __future__ import annotations

from pathlib import Path

from aiqyn.expertise.model import Document, Flag, Provision, Report, Trigger
from aiqyn.expertise.parse import SUFFIXES, DraftError, parse_file, parse_text
from aiqyn.expertise.report import render_html, to_dict, to_json


def analyse(text_or_path: str | Path) -> Report:
    """Analyse a draft given as a file path (a `Path`, or a string naming an existing file) or as its text.

    Raises DraftError (a ValueError) naming the file and the reason when the draft cannot be read.
    """
    from aiqyn.expertise.engine import analyse_document

    if isinstance(text_or_path, Path):
        document = parse_file(text_or_path)
    elif "\n" not in text_or_path and len(text_or_path) < 4096 and (
            Path(text_or_path).is_file() or Path(text_or_path).suffix.lower() in SUFFIXES):
        document = parse_file(Path(text_or_path))  # a file name that does not exist is an error, not a text
    else:
        document = parse_text(text_or_path)
    return analyse_document(document)


__all__ = ["Document", "DraftError", "Flag", "Provision", "Report", "Trigger", "analyse", "render_html", "to_dict",
           "to_json"]
