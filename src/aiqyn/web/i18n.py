"""Interface languages: Kazakh, Russian, English, from Babel message catalogs (`i18n/<lang>/LC_MESSAGES/
messages.po`). The catalogs are compiled in memory when the application starts, so an installed or a
source checkout needs no build step; `pybabel compile` works on them as well (docs/web.md).

The message ids are the English texts; English needs no translation, its catalog exists so that a
reviewer can tell an untranslated message from a deliberate one.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

I18N = Path(__file__).parent / "i18n"
LANGUAGES: dict[str, str] = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
DEFAULT_LANGUAGE = "ru"
COOKIE = "aiqyn_lang"


def catalog_path(lang: str) -> Path:
    return I18N / lang / "LC_MESSAGES" / "messages.po"


@cache
def translations(lang: str) -> Translations:
    """The compiled catalog of `lang` (Babel's .po read and compiled to .mo in memory)."""
    with catalog_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer)


@cache
def locale(lang: str) -> Locale:
    return Locale.parse(lang)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The user's choice (cookie) first, then the browser's preference, then Russian."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE
