"""Names and addresses of Kazakhstan brought to one comparable form: Kazakh and Russian Cyrillic, the 2021 Kazakh
Latin alphabet and passport (ICAO 9303) transliteration all fold to the same ASCII key.

Why: one person is "Нұрлан" in a Kazakh register, "Нурлан" in a Russian one and "Nurlan" in a passport; one company
is "ТОО «Астана Строй»" and "Astana Stroy LLP". A string distance on the raw text sees three different names.

Two layers:

1. `to_latin` transliterates Cyrillic letter by letter with `CYRILLIC_TO_LATIN` (passport style: ж zh, х kh, ц ts,
   ч ch, ш sh, щ shch, ю yu, я ya; the Kazakh letters ә a, ғ g, қ k, ң n, ө o, ұ u, ү u, һ h, і i as the passport
   office writes them).
2. `fold` removes what differs between those spellings and the Kazakh Latin alphabet presented in January 2021
   (ä, ğ, ı, ñ, ö, ş, ū, ü, ç, q, j; no ц, which is written s): diacritics are stripped, then `FOLDS` merge the
   digraphs and letters that different standards write differently (kh/h, zh/j, shch/sch/sh/s..., y/i, q/k, w/u),
   and doubled letters are collapsed. The key is lossy on purpose: it is for comparison, never for display.

Legal forms (ТОО/ЖШС/LLP, АО/АҚ/JSC, ИП/ЖК/IE, ГУ/ММ, ГКП/МКК, ...) are recognised in Russian, Kazakh and English
and replaced by one code (`LEGAL_FORMS`); patronymics (-ович, -евна, -ұлы, -қызы, -uly, -kyzy...) are recognised
so that they can be optional in a comparison.
"""

from __future__ import annotations

import re
import unicodedata

# Passport-style transliteration of Russian and Kazakh Cyrillic (lower case).
CYRILLIC_TO_LATIN: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
    # Kazakh letters
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}

# Applied in order to the ASCII text after diacritics are stripped: the spellings standards disagree on. Ц is ts in
# passports and s in the 2021 Latin alphabet (which has no ц): both fold to s. я and ю (ya/ia, yu/iu) need no rule:
# y -> i makes them ia and iu; folding them to a bare vowel would merge "Ai-a..." typos into other names.
FOLDS: tuple[tuple[str, str], ...] = (
    ("shch", "sh"), ("sch", "sh"), ("tch", "ch"),
    ("yo", "o"), ("ye", "e"),
    ("kh", "h"), ("zh", "j"), ("dj", "j"), ("ch", "c"), ("sh", "s"), ("ts", "s"), ("tz", "s"),
    ("q", "k"), ("w", "u"), ("x", "ks"), ("y", "i"),
)

# Legal forms: every spelling -> one code. Matched on whole words of the lower-cased, transliterated text.
LEGAL_FORMS: dict[str, str] = {
    # limited liability partnership
    "тоо": "llp", "жшс": "llp", "llp": "llp", "too": "llp", "zhshs": "llp", "jshs": "llp", "ltd": "llp",
    "товарищество с ограниченной ответственностью": "llp", "limited liability partnership": "llp",
    # joint-stock company
    "ао": "jsc", "ак": "jsc", "aқ": "jsc", "jsc": "jsc", "ao": "jsc", "aq": "jsc", "акционерное общество": "jsc",
    "joint stock company": "jsc",
    # individual entrepreneur
    "ип": "ie", "жк": "ie", "ie": "ie", "ip": "ie", "zhk": "ie", "индивидуальный предприниматель": "ie",
    # state institution, state enterprises
    "гу": "si", "мм": "si", "gu": "si", "мемлекеттік мекеме": "si", "государственное учреждение": "si",
    "гкп": "sme", "мкк": "sme", "гккп": "sme", "кгп": "sme", "ргп": "sme", "gkp": "sme",
}
_FORM_WORDS = sorted(LEGAL_FORMS, key=len, reverse=True)

_QUOTES = re.compile(r"[«»\"“”„'`’]")
_NON_WORD = re.compile(r"[^0-9a-z ]+")
_SPACES = re.compile(r"\s+")
_DOUBLE = re.compile(r"(.)\1+")


def to_latin(text: str) -> str:
    """Lower-case passport-style Latin of a Kazakh or Russian text; Latin text passes through lower-cased."""
    return "".join(CYRILLIC_TO_LATIN.get(c, c) for c in text.lower())


def _strip_accents(text: str) -> str:
    text = text.replace("ı", "i")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """The comparison key of a word or phrase: transliterated, diacritics stripped, spellings folded, doubled
    letters collapsed, punctuation dropped. "Нұрлан", "Нурлан", "Nurlan" and "Nūrlan" give "nurlan"."""
    s = _strip_accents(to_latin(text))
    s = _NON_WORD.sub(" ", s)
    for a, b in FOLDS:
        s = s.replace(a, b)
    s = _DOUBLE.sub(r"\1", s)
    return _SPACES.sub(" ", s).strip()


_PATRONYMIC_SUFFIXES = ("ovic", "evic", "ovna", "evna", "inicna", "icna")  # folded: -ович, -евич, -овна, -евна...
_PATRONYMIC_WORDS = ("uli", "kizi", "ulu")  # folded: Kazakh ұлы (son of), қызы (daughter of), after the father's name


def is_patronymic(word: str) -> bool:
    """A one-word patronymic (Russian style: Серикович, Маратовна; in any script)."""
    w = fold(word)
    return len(w) > 5 and w.endswith(_PATRONYMIC_SUFFIXES)


def person_tokens(name: str) -> tuple[list[str], str | None]:
    """(folded name words without the patronymic, the patronymic's stem, i.e. the father's name, or None).
    Both patronymic styles are recognised: "Серикович"/"Serikovich" and the Kazakh "Серік ұлы"/"Serik uly"."""
    words = [fold(w) for w in re.split(r"[\s,]+", name.strip()) if w]
    words = [w for w in words if w]
    patronymic = None
    if len(words) > 2 and words[-1] in _PATRONYMIC_WORDS:
        patronymic = words[-2]
        words = words[:-2]
    elif len(words) > 2:
        for i, w in enumerate(words):
            if len(w) > 5 and w.endswith(_PATRONYMIC_SUFFIXES):
                stem = next(w[: -len(sfx)] for sfx in _PATRONYMIC_SUFFIXES if w.endswith(sfx))
                patronymic = stem
                words = words[:i] + words[i + 1:]
                break
    return words, patronymic


def person_key(name: str) -> str:
    """Sorted folded words of a person's name without the patronymic: order-insensitive ("Akhmetov Nurlan" and
    "Нурлан Ахметов" give "ahmetov nurlan")."""
    words, _ = person_tokens(name)
    return " ".join(sorted(words))


def company_name(name: str) -> tuple[str, str | None]:
    """(folded name without quotes and legal form, the legal form's code or None).
    "ТОО «Астана Строй»" and "Astana Stroy LLP" both give ("astana stroi", "llp")."""
    text = _QUOTES.sub(" ", name.lower())
    text = _SPACES.sub(" ", text.replace("-", " ")).strip()
    form = None
    for word in _FORM_WORDS:
        pattern = rf"(^|[\s,.(]){re.escape(word)}($|[\s,.)])"
        if re.search(pattern, text):
            form = LEGAL_FORMS[word]
            text = re.sub(pattern, " ", text, count=1)
            break
        latin = to_latin(word)
        if latin != word and re.search(rf"(^|\s){re.escape(latin)}($|\s)", to_latin(text)):
            form = LEGAL_FORMS[word]
            text = re.sub(rf"(^|\s){re.escape(latin)}($|\s)", " ", to_latin(text), count=1)
            break
    return fold(text), form


_ADDRESS_WORDS = {
    "ул": "", "улица": "", "кош": "", "кошесi": "", "көшесі": "", "street": "", "st": "", "str": "",
    "пр": "", "просп": "", "проспект": "", "даңғылы": "", "dangyly": "", "avenue": "", "ave": "", "пр-т": "",
    "д": "", "дом": "", "уй": "", "үй": "", "house": "", "кв": "apt", "пәтер": "apt", "квартира": "apt",
    "г": "", "город": "", "каласы": "", "қаласы": "", "city": "", "мкр": "mkr", "микрорайон": "mkr",
}


def address_key(address: str) -> str:
    """A normalised address: street-type words and house markers dropped, the rest folded, numbers kept.
    "ул. Кенесары, д. 12" and "Kenesary street 12" give "kenesari 12"."""
    words = [w for w in re.split(r"[\s,.;/]+", address.lower()) if w]
    kept = [_ADDRESS_WORDS.get(w, w) for w in words]
    return fold(" ".join(w for w in kept if w))


def phone_key(phone: str) -> str:
    """Digits of a Kazakh phone number in the +7 XXX form: "8 (701) 123-45-67" and "+77011234567" agree."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits[0] in "78":
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    return digits
