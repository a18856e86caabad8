"""The printable scorecard of a region or district (`aiqyn report region KATO --period 2024`): one self-contained
HTML page (styles and charts inline, nothing fetched) from the same template as the web page /regions/{kato},
and a PDF of it printed by headless Chromium (Debian's /usr/bin/chromium, no network)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel.dates import format_date
from babel.numbers import format_compact_decimal, format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape

from aiqyn.regions import scorecard as sc
from aiqyn.web import regions_view as view

WEB = Path(__file__).resolve().parent.parent / "web"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "headless_shell")


def chromium() -> str | None:
    """The Chromium to print with: $AIQYN_CHROMIUM, else /usr/bin/chromium or one on PATH."""
    configured = os.environ.get("AIQYN_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def context(lang: str) -> dict[str, Any]:
    """The formatting functions the web application gives its templates, for a page rendered outside it."""
    from aiqyn.web import i18n

    tr = i18n.translations(lang)
    loc = i18n.locale(lang)

    def money(value: Any, currency: str | None = "KZT") -> str:
        if value is None:
            return "—"
        text = format_decimal(Decimal(str(value)), format="#,##0", locale=loc)
        return f"{text} ₸" if currency in (None, "KZT") else f"{text} {currency}"

    def money_short(value: Any) -> str:
        if value is None:
            return "—"
        if abs(float(value)) < 100_000:
            return money(value)
        return format_compact_decimal(float(value), format_type="short", locale=loc, fraction_digits=1) + " ₸"

    def number(value: Any, digits: int = 0) -> str:
        if value is None:
            return "—"
        return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""), locale=loc)

    def date(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, dt.datetime):
            value = value.date()
        return format_date(value, "dd.MM.yyyy", locale=loc)

    return {"lang": lang, "_": tr.gettext, "gettext": tr.gettext, "ngettext": tr.ngettext, "money": money,
            "money_short": money_short, "number": number, "date": date, "value": number,
            "quote": lambda s: quote(str(s), safe=""), **view.helpers(lang, tr.gettext)}


def render_html(query: sc.Query, kato: str, period: int, quarter: int = 0, lang: str = "ru",
                source: str = "") -> str:
    """The scorecard as one self-contained HTML page; sc.NotFound for an unknown unit or an empty period."""
    card = sc.scorecard(query, kato, period, quarter)
    ctx = context(lang)
    env = Environment(loader=FileSystemLoader(WEB / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    css = "\n".join((WEB / "static" / name).read_text(encoding="utf-8") for name in ("aiqyn.css", "regions.css"))
    return env.get_template("region_report.html").render(
        card=card, links=False, css=css, generated=dt.datetime.now(dt.UTC), source=source,
        charts=view.scorecard_charts(card, lang, ctx["gettext"], links=False), **ctx)


class PdfError(RuntimeError):
    """Chromium is missing or failed: the message says which and how to fix it."""


def to_pdf(html: str, out: Path, browser: str | None = None, timeout: float = 120.0) -> Path:
    """Print the page to PDF with headless Chromium (A4, backgrounds on, no header or footer)."""
    browser = browser or chromium()
    if browser is None:
        raise PdfError("no Chromium to print the PDF with: install Debian's chromium (apt-get install chromium) "
                       "or set AIQYN_CHROMIUM; --format html needs none")
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aiqyn-report-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--no-pdf-header-footer",
               f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={out}", page.as_uri()]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"{browser} did not finish printing within {timeout:.0f} s") from exc
        if res.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            raise PdfError(f"{browser} failed to print the PDF (exit {res.returncode}): "
                           f"{(res.stderr or res.stdout).strip()[-500:]}")
    return out
