"""AC01 Broad discretion: a power given with "вправе", "может", "по усмотрению" ("құқылы", "мүмкін",
"өз қалауы бойынша") and no criteria for using it.

Why it is a risk: when the act says an official *may* act but not *when*, the official decides case by case;
the applicant cannot claim the decision as a right, and the choice can be sold.
"""

from __future__ import annotations

from aiqyn.expertise.model import Trigger
from aiqyn.expertise.rules.base import Context, Example, Factor, subject_role
from aiqyn.expertise.rules.common import has_criteria

POWER = {
    "ru": ("=вправе", "мочь", "иметь право", "оставлять за *1 право", "=правомочен|=правомочна|=правомочны"),
    "kk": ("=құқылы", "құқығы бар", "=мүмкін"),
}
ARBITRARY = {  # discretion spelt out: always a flag when an authority holds it
    "ru": ("по|на *1 усмотрение", "по|на собственный усмотрение"),
    "kk": ("қалау *1 бойынша", "=қалауынша", "қарау бойынша", "=қарауынша", "қалауы бойынша"),
}
# "может быть подано/обжаловано": a citizen's action in the passive, not a power
CITIZEN_ACTS_RU = {"подать", "обжаловать", "представить", "направить", "получить", "использовать", "оспорить"}
NEGATION = {"ru": ("=не",), "kk": ("=емес",)}


def detect(ctx: Context) -> list[Trigger]:
    found: list[Trigger] = []
    for m in ctx.find(ARBITRARY[ctx.lang]):
        lo, hi = ctx.sentence_bounds(m)
        if subject_role(ctx, m.first, lo) != "person":
            found.append(ctx.trigger(m, "discretion named outright"))
    for m in ctx.find(POWER[ctx.lang]):
        toks = ctx.tokens
        lo, hi = ctx.sentence_bounds(m)
        if ctx.lang == "ru":
            if m.first > 0 and toks[m.first - 1].lower == "не":
                continue
            if toks[m.first].lemmas & {"мочь"} and m.first + 1 < len(toks) and toks[m.first + 1].lower == "не":
                continue  # "может не ..."
        elif m.last + 1 < len(toks) and toks[m.last + 1].lower == "емес":
            continue
        if toks[m.first].lower.startswith("правомоч") and not (
                m.last + 1 < len(toks) and any(tag.startswith("INFN") for tag in toks[m.last + 1].tags)):
            continue  # "заседание правомочно при кворуме": the body is quorate, not free to choose
        if _citizen_passive(ctx, m.last, hi):
            continue  # "решение может быть обжаловано": a right of the person concerned
        role = subject_role(ctx, m.first, lo)
        passive = _passive_power(ctx, m.last, hi)
        if role == "person" or (role is None and not passive):
            continue
        if has_criteria(ctx, lo, hi):
            continue
        found.append(ctx.trigger(m, "no criteria for using the power"))
    return sorted(set(found), key=lambda t: t.start)


def _citizen_passive(ctx: Context, after: int, hi: int) -> bool:
    rest = ctx.tokens[after + 1:hi]
    return ctx.lang == "ru" and len(rest) >= 2 and rest[0].lower == "быть" and bool(rest[1].lemmas & CITIZEN_ACTS_RU)


def _passive_power(ctx: Context, after: int, hi: int) -> bool:
    """'может быть продлен' (ru) or '...луы мүмкін' (kk): a power in the passive voice."""
    toks = ctx.tokens
    if ctx.lang == "ru":
        rest = toks[after + 1:hi]
        if len(rest) >= 2 and rest[0].lower == "быть":
            part = rest[1]
            return any(tag.startswith("PRTS") for tag in part.tags) and not part.lemmas & CITIZEN_ACTS_RU
        return False
    prev = toks[after - 1].lower if after > 0 else ""
    if any(t.lower.startswith(("шағым", "талап-арыз")) for t in toks[max(0, after - 3):after]):
        return False  # "шағым жасалуы мүмкін": the person's appeal, not a power
    return prev.endswith(("луы", "луі", "ылуы", "ілуі", "нуы", "нуі"))


FACTOR = Factor(
    code="AC01",
    slug="broad-discretion",
    names={"ru": "Широта дискреционных полномочий", "kk": "Дискрециялық өкілеттіктердің кеңдігі",
           "en": "Broad discretion without criteria"},
    explanation={
        "en": "The provision lets an authority act at will ('may', 'is entitled', 'at its discretion') without saying "
              "in which cases it must or must not act; the choice is left to the official and can be traded.",
        "ru": "Норма позволяет органу действовать по своему выбору («вправе», «может», «по усмотрению») и не "
              "называет условий, при которых он обязан или не вправе действовать; выбор остаётся за должностным "
              "лицом и может стать предметом торга.",
    },
    remedy={
        "en": "Replace 'may' with a duty ('shall') or list exhaustively the conditions under which the power is used.",
        "ru": "Заменить «вправе» на обязанность («обязан», «осуществляет») или исчерпывающе перечислить условия "
              "применения полномочия.",
    },
    methodology=(
        "CIS/RF methodology (Decree of the Government of the RF No. 96 of 26.02.2010), p. 3(а) 'широта "
        "дискреционных полномочий' and p. 3(б) 'определение компетенции по формуле «вправе»'",
        "Kazakhstan: scientific anti-corruption expertise of draft acts (Law 'On legal acts' of 06.04.2016 "
        "No. 480-V), factor 'дискреционные полномочия'",
    ),
    detect=detect,
    weight=1.0,
    examples=(
        Example("ru", "Уполномоченный орган вправе продлить срок действия разрешения.", True),
        Example("ru", "Комиссия по своему усмотрению определяет победителя конкурса.", True),
        Example("ru", "Срок проверки может быть продлен руководителем органа контроля.", True),
        Example("ru", "Заявитель вправе отозвать заявление до принятия решения.", False),
        Example("ru", "Уполномоченный орган вправе приостановить действие лицензии в случаях, предусмотренных "
                      "пунктом 3 настоящей статьи.", False),
        Example("ru", "Должностное лицо не вправе требовать документы, не предусмотренные настоящими Правилами.",
                False),
        Example("kk", "Уәкілетті орган рұқсаттың қолданылу мерзімін ұзартуға құқылы.", True),
        Example("kk", "Комиссия жеңімпазды өз қалауы бойынша айқындайды.", True),
        Example("kk", "Өтініш беруші шешім қабылданғанға дейін өтінішін кері қайтарып алуға құқылы.", False),
        Example("kk", "Лауазымды адам осы Қағидаларда көзделмеген құжаттарды талап етуге құқылы емес.", False),
    ),
)
