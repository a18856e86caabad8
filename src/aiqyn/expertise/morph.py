"""Words, lemmas and phrase patterns for Russian and Kazakh legal text.

Russian words are lemmatised with pymorphy3 and its OpenCorpora dictionary (the `pymorphy3-dicts-ru`
package; nothing is downloaded at run time). Every parse of an ambiguous word is kept, so a pattern
matches when any reading of the word fits ("иные" is read as *иной*; "определяемом" as *определять*).

Kazakh has no pymorphy dictionary. Kazakh is agglutinative: a word is a stem followed by a chain of
suffixes in a fixed order (plural, possessive, case; or voice, verbal noun, participle, tense), whose
vowels and first consonants follow the stem (vowel harmony, voicing). A Kazakh pattern item is
therefore a *stem*; a word matches when it starts with the stem and the rest of the word is a chain of
known suffixes (`KK_SUFFIX_CHAIN`). "органның", "органдарға", "органы" match the stem "орган";
"органикалық" does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

KK_LETTERS = set("әғқңөұүһі")
WORD_RE = re.compile(r"[0-9A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]+(?:-[0-9A-Za-zА-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]+)*")

# Kazakh suffixes in their harmonic and assimilated variants, grouped by function. The chain matcher
# allows any sequence of them (at most five), which covers noun inflection (plural + possessive + case)
# and the verb forms legal texts use (passive/causative + verbal noun/participle + possessive + case).
_KK_SUFFIXES = [
    # plural
    "лар", "лер", "дар", "дер", "тар", "тер",
    # possessive
    "ы", "і", "сы", "сі", "ым", "ім", "м", "ың", "ің", "ң", "ыңыз", "іңіз", "ңыз", "ңіз", "ымыз", "іміз", "мыз",
    "міз",
    # case
    "ның", "нің", "дың", "дің", "тың", "тің", "ға", "ге", "қа", "ке", "на", "не", "а", "е", "ны", "ні", "ды",
    "ді", "ты", "ті", "н", "да", "де", "та", "те", "нда", "нде", "дан", "ден", "тан", "тен", "нан", "нен", "мен",
    "бен", "пен", "ша", "ше", "дай", "дей", "тай", "тей", "ғы", "гі", "қы", "кі", "дағы", "дегі", "тағы", "тегі",
    "ндағы", "ндегі",
    # voice
    "ыл", "іл", "л", "ын", "ін", "дыр", "дір", "тыр", "тір", "ғыз", "гіз", "қыз", "кіз", "ыс", "іс", "с", "т",
    # verbal noun, participles, converbs, moods, tenses
    "у", "ю", "уы", "уі", "ған", "ген", "қан", "кен", "атын", "етін", "йтын", "йтін", "ар", "ер", "р", "ып",
    "іп", "п", "са", "се", "сын", "сін", "сын", "ады", "еді", "йды", "йді", "майды", "мейді", "байды", "бейді",
    "пайды", "пейді", "ма", "ме", "ба", "бе", "па", "пе", "мау", "меу", "бау", "беу", "пау", "пеу", "атын",
    "ылатын", "ілетін", "латын", "летін", "уге", "уға", "уда", "уде", "удан", "уден", "уын", "уін",
    "қа", "ке", "лық", "лік", "дық", "дік", "тық", "тік", "шы", "ші", "сыз", "сіз", "лы", "лі", "ды", "ді", "ты",
    "ті", "дай", "мын", "мін", "сың", "сің", "ды", "ді",
    # negative converbs and gerunds ("көрсетілмей", "түсіндірместен")
    "май", "мей", "бай", "бей", "пай", "пей", "мастан", "местен", "бастан", "бестен", "пастан", "пестен",
]
# A stem's last voiceless consonant becomes voiced before a vowel: талап -> талабы, кезек -> кезегі, министрлік ->
# министрлігі, шаруашылық -> шаруашылығы.
KK_VOICING = {"п": "б", "к": "г", "қ": "ғ"}
KK_SUFFIX_CHAIN = re.compile("(?:" + "|".join(sorted(set(_KK_SUFFIXES), key=len, reverse=True)) + "){0,5}")


@dataclass(frozen=True)
class Token:
    """A word of a provision: its text, its place in the provision and (Russian) its lemmas."""

    text: str
    start: int
    end: int
    lemmas: frozenset[str]
    tags: tuple[str, ...]

    @property
    def lower(self) -> str:
        return self.text.lower().replace("ё", "е")


@lru_cache(maxsize=1)
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=200_000)
def _ru_analyse(word: str) -> tuple[frozenset[str], tuple[str, ...]]:
    parses = _morph().parse(word)
    lemmas = frozenset(p.normal_form.replace("ё", "е") for p in parses) | {word}
    return lemmas, tuple(str(p.tag) for p in parses)


def detect_language(text: str) -> str:
    """'kk' when the text uses letters of the Kazakh alphabet that Russian lacks, else 'ru'."""
    letters = [c for c in text.lower() if c.isalpha()]
    if not letters:
        return "ru"
    kk = sum(1 for c in letters if c in KK_LETTERS)
    return "kk" if kk / len(letters) >= 0.01 else "ru"


def tokenize(text: str, lang: str) -> list[Token]:
    """The words of `text`; Russian words carry every lemma pymorphy3 proposes, Kazakh words none."""
    out = []
    for m in WORD_RE.finditer(text):
        word = m.group().lower().replace("ё", "е")
        if lang == "ru" and not word.isdigit():
            lemmas, tags = _ru_analyse(word)
        else:
            lemmas, tags = frozenset({word}), ()
        out.append(Token(m.group(), m.start(), m.end(), lemmas, tags))
    return out


def kk_stem_match(word: str, stem: str) -> bool:
    """True when the Kazakh `word` is `stem` followed only by a chain of known suffixes."""
    word = word.lower()
    if word.startswith(stem) and KK_SUFFIX_CHAIN.fullmatch(word[len(stem):]) is not None:
        return True
    if stem and stem[-1] in KK_VOICING:
        voiced = stem[:-1] + KK_VOICING[stem[-1]]
        rest = word[len(voiced):]
        return word.startswith(voiced) and rest[:1] in "аеыіоөұүиу" and rest != "" and \
            KK_SUFFIX_CHAIN.fullmatch(rest) is not None
    return False


# -- phrase patterns ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    start: int  # character offsets in the provision text
    end: int
    first: int  # token indexes
    last: int


class Phrase:
    """A sequence of word matchers, written as a string, items separated by spaces.

    - `word` (Russian): any lemma of the token equals `word` (so "усмотрение" matches "усмотрению");
    - `word` (Kazakh): the token is the stem `word` plus known suffixes;
    - `=word`: the token's text equals `word` exactly (case-insensitive), for fixed forms;
    - `^prefix`: the token starts with `prefix`;
    - `a|b|c`: any of the alternatives;
    - `*N`: up to N tokens of any kind (a gap).
    """

    def __init__(self, pattern: str, lang: str) -> None:
        self.pattern = pattern
        self.lang = lang
        self.items: list[tuple[str, ...] | int] = []
        for raw in pattern.split():
            if raw.startswith("*"):
                self.items.append(int(raw[1:]))
            else:
                self.items.append(tuple(raw.lower().replace("ё", "е").split("|")))

    def __repr__(self) -> str:
        return f"Phrase({self.pattern!r}, {self.lang!r})"

    def token_matches(self, token: Token, alts: tuple[str, ...]) -> bool:
        for alt in alts:
            if alt.startswith("="):
                if token.lower == alt[1:]:
                    return True
            elif alt.startswith("^"):
                if token.lower.startswith(alt[1:]):
                    return True
            elif self.lang == "kk":
                if kk_stem_match(token.lower, alt):
                    return True
            elif alt in token.lemmas:
                return True
        return False

    def _match_at(self, tokens: list[Token], i: int, k: int) -> int | None:
        """Index of the last token when items[k:] match from token i, else None."""
        if k == len(self.items):
            return i - 1
        item = self.items[k]
        if isinstance(item, int):
            for skip in range(item + 1):
                end = self._match_at(tokens, i + skip, k + 1)
                if end is not None:
                    return end
            return None
        if i < len(tokens) and self.token_matches(tokens[i], item):
            return self._match_at(tokens, i + 1, k + 1)
        return None

    def finditer(self, tokens: list[Token]) -> list[Match]:
        found = []
        for i in range(len(tokens)):
            last = self._match_at(tokens, i, 0)
            if last is not None and last >= i:
                found.append(Match(tokens[i].start, tokens[last].end, i, last))
        return found


@lru_cache(maxsize=4096)
def phrase(pattern: str, lang: str) -> Phrase:
    return Phrase(pattern, lang)
