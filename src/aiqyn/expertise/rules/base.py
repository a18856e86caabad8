"""What every corruption-prone factor rule is made of: metadata, a detector, and examples that are its tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from aiqyn.expertise.model import Provision, Trigger
from aiqyn.expertise.morph import Match, Token, kk_stem_match, phrase, tokenize


@dataclass(frozen=True)
class Example:
    lang: str
    text: str
    flagged: bool


class Context:
    """One provision, tokenised, with helpers the detectors share."""

    def __init__(self, provision: Provision) -> None:
        self.provision = provision
        self.lang = provision.lang
        self.text = provision.text

    @cached_property
    def tokens(self) -> list[Token]:
        return tokenize(self.text, self.lang)

    @cached_property
    def article_tokens(self) -> list[Token]:
        return tokenize(self.provision.article_text, self.lang)

    @cached_property
    def lead_tokens(self) -> list[Token]:
        return tokenize(self.provision.lead, self.lang)

    def find(self, patterns: Iterable[str], tokens: list[Token] | None = None) -> list[Match]:
        toks = self.tokens if tokens is None else tokens
        out: list[Match] = []
        for p in patterns:
            out.extend(phrase(p, self.lang).finditer(toks))
        return sorted(set(out), key=lambda m: (m.start, m.end))

    def has(self, patterns: Iterable[str], tokens: list[Token] | None = None) -> bool:
        toks = self.tokens if tokens is None else tokens
        return any(phrase(p, self.lang).finditer(toks) for p in patterns)

    def in_article(self, patterns: Iterable[str]) -> bool:
        """True when the provision or another part of its article matches."""
        return self.has(patterns) or self.has(patterns, self.article_tokens)

    def trigger(self, m: Match, note: str = "") -> Trigger:
        return Trigger(m.start, m.end, self.text[m.start:m.end], note)

    def sentence_bounds(self, m: Match) -> tuple[int, int]:
        """Token index range [lo, hi) of the sentence (or ';'-clause) holding match `m`."""
        lo = m.first
        while lo > 0 and not _ends_clause(self.text[self.tokens[lo - 1].end:self.tokens[lo].start]):
            lo -= 1
        hi = m.last + 1
        while hi < len(self.tokens) and not _ends_clause(self.text[self.tokens[hi - 1].end:self.tokens[hi].start]):
            hi += 1
        return lo, hi


def _ends_clause(between: str) -> bool:
    return any(c in between for c in ".;:!?\n")




@dataclass(frozen=True)
class Factor:
    """A corruption-prone factor of the methodology, and the rule that finds it in a provision."""

    code: str
    slug: str
    names: dict[str, str]  # ru, kk, en
    explanation: dict[str, str]  # en and ru: why the wording creates a corruption risk
    remedy: dict[str, str]  # en and ru: how the drafter removes the risk
    methodology: tuple[str, ...]  # sources: the factor in the Kazakhstan and CIS methodologies
    detect: Callable[[Context], list[Trigger]]
    examples: tuple[Example, ...]
    weight: float = 1.0
    yields_to: tuple[str, ...] = field(default=())  # factor codes whose triggers, when overlapping, replace ours

    def metadata(self) -> dict[str, object]:
        return {"code": self.code, "slug": self.slug, "names": self.names, "explanation": self.explanation,
                "remedy": self.remedy, "methodology": list(self.methodology), "weight": self.weight}


# Who holds public power in a provision, and who is a private person: the subject of "вправе"/"құқылы"
# decides whether the provision grants discretion to an authority or a right to a citizen.
AUTHORITY_RU = ("орган", "отдел", "комиссия", "аким", "акимат", "руководитель", "должностной", "министерство",
                "министр", "уполномоченный", "служба", "инспектор", "департамент", "управление", "ведомство",
                "услугодатель", "правительство", "администрация", "совет", "агентство", "комитет", "прокурор",
                "инспекция", "организатор", "заказчик", "маслихат", "учреждение", "лицензиар", "председатель",
                "начальник", "оператор", "подразделение", "федерация")
PERSON_RU = ("гражданин", "заявитель", "лицо", "услугополучатель", "потребитель", "участник", "работник",
             "предприниматель", "субъект", "владелец", "собственник", "родитель", "житель", "кандидат",
             "претендент", "получатель", "арендатор", "лицензиат", "поставщик", "обучающийся", "пациент",
             "перевозчик", "учащийся", "студент")
AUTHORITY_KK = ("орган", "комиссия", "әкім", "әкімдік", "басшы", "лауазымды", "министрлік", "министр", "уәкілетті",
                "департамент", "басқарма", "беруші", "үкімет", "әкімшілік", "кеңес", "агенттік", "комитет",
                "прокурор", "инспекция", "инспектор", "ұйымдастырушы", "мәслихат", "мекеме", "лицензиар", "төраға",
                "бастық", "қызмет", "бөлім", "ведомство", "оператор", "бөлімше", "федерация")
PERSON_KK = ("азамат", "тұлға", "алушы", "тұтынушы", "қатысушы", "қызметкер", "кәсіпкер", "субъект",
             "иесі", "меншік", "ата-ана", "тұрғын", "кандидат", "үміткер", "жалгер", "лицензиат", "пациент",
             "тасымалдаушы", "оқушы", "студент")

# What may follow a Kazakh role stem when the word is the subject (nominative): nothing, the plural, the
# possessive of the third person ("органы", "басшысы", "органдары"). Any case ending makes it an object.
KK_NOMINATIVE_TAILS = ("", "ы", "і", "сы", "сі", "лар", "лер", "дар", "дер", "тар", "тер", "лары", "лері", "дары",
                       "дері", "тары", "тері")
KK_GENITIVE_TAILS = ("ның", "нің", "дың", "дің", "тың", "тің", "ының", "інің", "сының", "сінің")
KK_PERSON_BIGRAMS = (("өтініш", "беруші"), ("білім", "алушы"), ("өнім", "беруші"))
# Compounds whose parts look like role words but are not: "тұрғын үй" (housing), "электрондық үкімет" (e-gov)
KK_NOT_ROLE = (("тұрғын", "үй"), ("электрондық", "үкімет"), ("өтініш", "беруші"), ("білім", "алушы"),
               ("өнім", "беруші"))


def _kk_compound(toks: list[Token], i: int) -> bool:
    """True when toks[i] is part of a compound that is not an authority ("тұрғын үй", "өтініш беруші")."""
    w = toks[i].lower
    nxt = toks[i + 1].lower if i + 1 < len(toks) else ""
    prev = toks[i - 1].lower if i > 0 else ""
    return any((w.startswith(a) and nxt.startswith(b)) or (prev.startswith(a) and w.startswith(b))
               for a, b in KK_NOT_ROLE)


def kk_role(tok: Token, prev: Token | None, tails: tuple[str, ...] = KK_NOMINATIVE_TAILS) -> str | None:
    """'authority', 'person' or None for a Kazakh word in the given grammatical form (nominative by default)."""
    w = tok.lower
    if prev is not None and any(prev.lower.startswith(a) and w.startswith(b) for a, b in KK_PERSON_BIGRAMS):
        return "person" if any(w == "беруші" + t or w == "алушы" + t for t in tails) else None
    for role, stems in (("authority", AUTHORITY_KK), ("person", PERSON_KK)):
        for stem in stems:
            if w.startswith(stem) and w[len(stem):] in tails:
                return role
            if stem[-1] in "пкқ":
                voiced = stem[:-1] + {"п": "б", "к": "г", "қ": "ғ"}[stem[-1]]
                if w.startswith(voiced) and w[len(voiced):] in tails and w[len(voiced):]:
                    return role
    return None


def ru_role(toks: list[Token], i: int, case: str = "nomn") -> str | None:
    t = toks[i]
    if not any(case in tag for tag in t.tags):
        return None
    if t.lemmas & {"лицо"} and i > 0 and toks[i - 1].lemmas & {"должностной", "уполномоченный"}:
        return "authority"
    if t.lemmas & set(AUTHORITY_RU):
        return "authority"
    if t.lemmas & set(PERSON_RU):
        return "person"
    return None


def subject_role(ctx: Context, before_token: int, lo: int = 0) -> str | None:
    """'authority' or 'person': the grammatical subject nearest before token `before_token`, else None.

    Russian: the nearest preceding role noun (or "должностное лицо") in the nominative. Kazakh (subject-object-
    verb order, subordinate clauses first): the nearest preceding role word in the nominative; for "құқығы бар"
    (the right *of* someone) the holder in the genitive.
    """
    toks = ctx.tokens
    for i in range(before_token - 1, lo - 1, -1):
        if ctx.lang == "ru":
            role = ru_role(toks, i)
        else:
            role = kk_role(toks[i], toks[i - 1] if i > 0 else None)
            if role and _kk_compound(toks, i) and not any(toks[i - 1].lower.startswith(a) and
                                                          toks[i].lower.startswith(b) for a, b in KK_PERSON_BIGRAMS):
                role = None
        if role:
            return role
    if ctx.lang == "kk" and any(t.lower.startswith("құқығ") for t in toks[before_token:before_token + 4]):
        for i in range(before_token - 1, lo - 1, -1):
            role = kk_role(toks[i], toks[i - 1] if i > 0 else None, KK_GENITIVE_TAILS)
            if role:
                return role
    return None


def mentions_authority(ctx: Context) -> bool:
    """True when an authority is named anywhere in the provision, in any case."""
    if ctx.lang == "ru":
        return any(t.lemmas & set(AUTHORITY_RU) for t in ctx.tokens)
    toks = ctx.tokens
    return any(any(kk_stem_match(t.lower, s) for s in AUTHORITY_KK) and not _kk_compound(toks, i)
               for i, t in enumerate(toks))
