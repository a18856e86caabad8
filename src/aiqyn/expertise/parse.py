"""Read a draft legal act (plain text, DOCX, PDF with a text layer, HTML as published on legal portals) and cut
it into its structure: sections and chapters, articles, paragraphs, sub-paragraphs, with their numbers.

Russian acts number articles "Статья 5." and Kazakh acts "5-бап."; both number paragraphs "1." and
sub-paragraphs "1)" (and "1-1)" for inserted ones, letters "а)" below them). Rules and instructions that have
no articles are numbered by paragraphs only. Lines that carry no number continue the unit above (a PDF breaks
lines inside sentences).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from aiqyn.expertise.model import Document, Provision
from aiqyn.expertise.morph import detect_language


class DraftError(ValueError):
    """A draft that cannot be read; the message names the file and the reason."""


NUM = r"\d+(?:-\d+)*"
ARTICLE_RU = re.compile(rf"^Статья\s+({NUM})\s*\.?\s*(.*)$", re.IGNORECASE)
ARTICLE_KK = re.compile(rf"^({NUM})-\s?бап\s*\.?\s*(.*)$", re.IGNORECASE)
DIVISION = re.compile(rf"^(?:(?:Раздел|Глава|Параграф)\s+\S+|{NUM}-\s?(?:тарау|бөлім|параграф))\b.*$", re.IGNORECASE)
PARAGRAPH = re.compile(rf"^({NUM})\.\s*(\S.*)$")
SUBPARAGRAPH = re.compile(rf"^({NUM})\)\s*(\S.*)$")
LETTER = re.compile(r"^([а-яәіңғүұқөһ])\)\s*(\S.*)$")
SUFFIXES = {".txt": "text", ".md": "text", ".text": "text", ".docx": "docx", ".pdf": "pdf", ".html": "html",
            ".htm": "html", ".xhtml": "html"}


# -- formats -> lines ---------------------------------------------------------------------------------
def read_lines(path: Path) -> tuple[list[str], str]:
    """The text lines of a draft file and its format name; DraftError when it cannot be read."""
    if not path.exists():
        raise DraftError(f"{path}: no such file")
    if path.is_dir():
        raise DraftError(f"{path}: is a directory, not a draft file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DraftError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise DraftError(f"{path}: the file is empty")
    fmt = _sniff(path, data)
    if fmt == "pdf":
        text = _pdf_text(path)
    elif fmt == "docx":
        text = _docx_text(path)
    elif fmt == "html":
        text = html_text(_decode(path, data))
    else:
        text = _decode(path, data)
    lines = [_clean(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        reason = "the PDF has no text layer (a scan?); run OCR first" if fmt == "pdf" else "no text in the file"
        raise DraftError(f"{path}: {reason}")
    return lines, fmt


def _sniff(path: Path, data: bytes) -> str:
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as z:
                if "word/document.xml" in z.namelist():
                    return "docx"
        except zipfile.BadZipFile as exc:
            raise DraftError(f"{path}: a damaged ZIP/DOCX file ({exc})") from exc
        raise DraftError(f"{path}: a ZIP archive, not a DOCX document")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DraftError(f"{path}: an old binary Word (.doc) file; save it as DOCX, PDF or text")
    head = data[:2048].lower()
    if b"<html" in head or b"<!doctype html" in head or path.suffix.lower() in (".html", ".htm", ".xhtml"):
        return "html"
    suffix = path.suffix.lower()
    if suffix in SUFFIXES and SUFFIXES[suffix] != "text":
        raise DraftError(f"{path}: the content is not a {SUFFIXES[suffix].upper()} file")
    if b"\x00" in data[:4096]:
        raise DraftError(f"{path}: unknown format (binary data); expected text, DOCX, PDF or HTML")
    return "text"


def _decode(path: Path, data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DraftError(f"{path}: the text is neither UTF-8 nor Windows-1251")


def _pdf_text(path: Path) -> str:
    from pdfminer.high_level import extract_text
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        return extract_text(str(path))
    except PDFSyntaxError as exc:
        raise DraftError(f"{path}: a damaged PDF ({exc})") from exc
    except Exception as exc:  # pdfminer raises many types for broken files
        raise DraftError(f"{path}: the PDF cannot be read ({type(exc).__name__}: {exc})") from exc


def _docx_text(path: Path) -> str:
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises KeyError, ValueError, PackageNotFoundError ...
        raise DraftError(f"{path}: the DOCX cannot be read ({type(exc).__name__}: {exc})") from exc
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" ".join(c.text for c in row.cells))
    return "\n".join(parts)


def html_text(markup: str) -> str:
    """The text of an HTML page, one block element a line, without scripts, menus and page furniture."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "form", "button", "iframe"]):
        tag.decompose()
    body = soup.find("article") or soup.find("main") or soup.body or soup
    for br in body.find_all("br"):
        br.replace_with("\n")
    return body.get_text("\n")


def _clean(line: str) -> str:
    return re.sub(r"\s+", " ", line.replace("\u00a0", " ").replace("\u200b", "")).strip()


# -- lines -> structure -------------------------------------------------------------------------------
@dataclass
class _Unit:
    number: str
    text: str
    kind: str  # "para", "sub" or "letter"
    children: list[_Unit] = field(default_factory=list)


@dataclass
class _Article:
    number: str
    heading: str
    intro: str = ""
    units: list[_Unit] = field(default_factory=list)  # paragraphs, or sub-paragraphs straight under the article


def parse_lines(lines: list[str], source: str = "", fmt: str = "text") -> Document:
    """Cut lines into provisions; the language of the act is that of most of its text."""
    lang = detect_language(" ".join(lines[:400]))
    title = ""
    preamble: list[str] = []
    articles: list[_Article] = []
    current: _Article | None = None
    last: _Unit | None = None  # the unit continuation lines are appended to
    para: _Unit | None = None
    sub: _Unit | None = None

    def body() -> _Article:
        nonlocal current
        if current is None:  # an act without articles (rules): one implicit article
            current = _Article("", "")
            articles.append(current)
        return current

    for line in lines:
        m = ARTICLE_RU.match(line) or ARTICLE_KK.match(line)
        if m:
            current = _Article(m.group(1), m.group(2).strip())
            articles.append(current)
            last = para = sub = None
            continue
        if DIVISION.match(line):
            last = para = sub = None
            if current is not None and current.number == "" and current.units:
                current = None
            continue
        m = PARAGRAPH.match(line)
        if m and not (para is None and sub is None and current is None and not title and not preamble):
            para = _Unit(m.group(1), m.group(2), "para")
            sub = None
            body().units.append(para)
            last = para
            continue
        m = SUBPARAGRAPH.match(line)
        if m and (current is not None or para is not None):
            sub = _Unit(m.group(1), m.group(2), "sub")
            (para.children if para is not None else body().units).append(sub)
            last = sub
            continue
        m = LETTER.match(line)
        if m and sub is not None:
            letter = _Unit(m.group(1), m.group(2), "letter")
            sub.children.append(letter)
            last = letter
            continue
        if last is not None:
            last.text = f"{last.text} {line}"
        elif current is not None:
            current.intro = f"{current.intro} {line}".strip() if current.intro else line
        elif not title:
            title = line
        else:
            preamble.append(line)

    # "ЗАКОН РЕСПУБЛИКИ КАЗАХСТАН" / "О выдаче разрешений": a heading in capitals is followed by the act's name
    if title and not any(c.islower() for c in title) and preamble and len(preamble[0]) < 200:
        title = f"{title}. {preamble.pop(0)}"
    provisions = _provisions(articles, preamble, lang)
    if not articles:
        # No numbering at all: every line is a provision of its own (a single norm given as text, an unnumbered
        # DOCX). The first line stays the title only when more lines follow.
        norms = lines if len(lines) == 1 else lines[1:]
        title = lines[0] if len(lines) > 1 else ""
        label = "{}-жол" if lang == "kk" else "строка {}"
        provisions = [Provision(id=f"l{n}", label=label.format(n), text=line, lang=detect_language(line))
                      for n, line in enumerate(norms, 1)]
    text = "\n".join(lines)
    return Document(title=title or source, lang=lang, provisions=provisions, source=source,
                    sha256=hashlib.sha256(text.encode()).hexdigest(), fmt=fmt)


def _labels(lang: str) -> dict[str, str]:
    if lang == "kk":
        return {"article": "{}-бап", "para": "{}-тармақ", "sub": "{}) тармақша", "letter": "{}) тармақша",
                "intro": "кіріспе", "preamble": "преамбула"}
    return {"article": "Статья {}", "para": "пункт {}", "sub": "подпункт {})", "letter": "подпункт {})",
            "intro": "вводная часть", "preamble": "преамбула"}


def _provisions(articles: list[_Article], preamble: list[str], lang: str) -> list[Provision]:
    out: list[Provision] = []
    seen: dict[str, int] = {}
    lab = _labels(lang)

    def add(pid: str, label: str, text: str, heading: str, lead: str, article_text: str) -> None:
        n = seen.get(pid, 0)
        seen[pid] = n + 1
        if n:
            pid = f"{pid}~{n + 1}"
        plang = detect_language(text) if text else lang
        out.append(Provision(id=pid, label=label, text=text, lang=plang, article=heading, lead=lead,
                             article_text=article_text))

    if preamble:
        text = " ".join(preamble)
        add("pre", lab["preamble"], text, "", "", text)
    for art in articles:
        aid = f"a{art.number}" if art.number else ""
        alabel = lab["article"].format(art.number) if art.number else ""
        heading = f"{alabel}. {art.heading}".strip(". ") if art.number else ""
        article_text = " ".join([art.intro, *(_flatten(u) for u in art.units)]).strip()
        if not art.units:
            if art.intro:
                add(aid or "intro", alabel or lab["intro"], art.intro, heading, "", article_text)
            continue
        if art.intro:
            add(f"{aid}.intro" if aid else "intro", ", ".join(filter(None, [alabel, lab["intro"]])), art.intro,
                heading, "", article_text)
        for unit in art.units:
            is_sub = unit.kind == "sub"
            key, kind = ("s", "sub") if is_sub else ("p", "para")
            uid = ".".join(filter(None, [aid, f"{key}{unit.number}"]))
            ulabel = ", ".join(filter(None, [alabel, lab[kind].format(unit.number)]))
            add(uid, ulabel, unit.text, heading, art.intro if is_sub else "", article_text)
            for child in unit.children:
                cid = f"{uid}.s{child.number}"
                clabel = f"{ulabel}, {lab['sub'].format(child.number)}"
                add(cid, clabel, child.text, heading, unit.text, article_text)
                for letter in child.children:
                    add(f"{cid}.{letter.number}", f"{clabel}, {lab['letter'].format(letter.number)}", letter.text,
                        heading, child.text, article_text)
    return out


def _flatten(unit: _Unit) -> str:
    return " ".join([unit.text, *(_flatten(c) for c in unit.children)])


def parse_text(text: str, source: str = "<text>") -> Document:
    lines = [_clean(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise DraftError(f"{source}: no text")
    return parse_lines(lines, source=source)


def parse_file(path: Path) -> Document:
    lines, fmt = read_lines(path)
    return parse_lines(lines, source=str(path), fmt=fmt)
