"""AC06 References to acts not yet adopted: the substance of the norm is left to a by-law that an authority
will adopt later ("в порядке, определяемом уполномоченным органом", "правилами, утверждаемыми ...",
"уәкілетті орган айқындайтын тәртіппен").

Why it is a risk: the draft is discussed and passed without the rules that matter; the authority then writes
them for itself, out of public sight (excessive freedom of by-law making).
"""

from __future__ import annotations

from aiqyn.expertise.model import Trigger
from aiqyn.expertise.morph import Match, Token
from aiqyn.expertise.rules.base import Context, Example, Factor

DELEGATE_VERBS_RU = {"определять", "устанавливать", "утверждать", "регламентировать", "разрабатывать",
                     "определяться", "устанавливаться", "утверждаться", "регламентироваться", "разрабатываться",
                     "регулироваться"}
AGENTS_RU = {"орган", "правительство", "министерство", "министр", "руководитель", "акимат", "аким", "комиссия",
             "ведомство", "организатор", "агентство", "комитет", "председатель", "оператор", "совет", "маслихат",
             "отдел", "управление", "департамент", "служба", "инспекция", "администрация"}
LAW_RU = {"закон", "законодательство", "кодекс", "конституция", "настоящий"}
FUTURE = {
    "ru": ("быть|подлежать *1 определить|установить|утвердить|определение|утверждение|установление|разработать"
           "|разработка", "впоследствии *2 определить|установить|утвердить", "отдельный *1 акт",
           "порядок *1 определять|устанавливать|утверждать *2 самостоятельно"),
    "kk": ("кейіннен *3 айқында|белгіле|бекіт", "жеке *1 акті", "=айқындалатын|=белгіленетін|=бекітілетін"
           "|=әзірленетін *2 тәртіп|қағида|тізбе|талап"),
}
# Kazakh says "уәкілетті орган айқындайтын тәртіппен" / "... тәртібін уәкілетті орган айқындайды" (active voice)
KK_AGENTS = ("уәкілетті орган", "үкімет", "министрл", "басшы", "әкімді", "комиссия", "ұйымдастырушы",
             "орталық уәкілетті", "жергілікті атқарушы орган", "әкім", "мәслихат", "төраға", "агентті", "ведомство",
             "орган", "комитет", "департамент", "басқарма", "бөлім", "инспекция", "қызмет")
# What a by-law sets: norms, not decisions on a case ("список получателей утверждается" is a decision).
RULE_NOUNS_RU = {"порядок", "правило", "перечень", "требование", "критерий", "размер", "форма", "методика",
                 "условие", "ставка", "положение", "тариф", "норматив", "регламент", "стандарт", "инструкция",
                 "квалификационный", "состав", "норма", "механизм", "процедура", "основание"}
RULE_STEMS_KK = ("тәртіб", "тәртіп", "қағида", "тізбе", "талап", "өлшем", "мөлшер", "нысан", "әдістеме", "шарт",
                 "ереже", "тариф", "норматив", "стандарт", "регламент", "құрам", "норма", "негіз")
KK_DELEGATE = ("айқындайтын", "белгілейтін", "бекітетін", "айқындайды", "белгілейді", "бекітеді", "әзірлейтін",
               "айқындалады", "белгіленеді", "бекітіледі", "айқындалатын", "белгіленетін", "бекітілетін")
KK_LAW = ("заң", "кодекс", "конституция", "заңнама")


def detect(ctx: Context) -> list[Trigger]:
    found = [ctx.trigger(m, "a separate act is still to be adopted") for m in ctx.find(FUTURE[ctx.lang])]
    toks = ctx.tokens
    if ctx.lang == "ru":
        for i, t in enumerate(toks):
            if not t.lemmas & DELEGATE_VERBS_RU:
                continue
            if not any(("PRTF" in tag and "pres" in tag and "pssv" in tag) or
                       (tag.startswith("VERB") and "pres" in tag and "3per" in tag) for tag in t.tags):
                continue
            window = toks[i + 1:i + 5]
            agent = next((w for w in window if w.lemmas & AGENTS_RU and any("ablt" in g for g in w.tags)), None)
            if agent is None:
                # "порядок ... определяет уполномоченный орган": active voice, subject after the verb
                agent = next((w for w in window if w.lemmas & AGENTS_RU and any("nomn" in g for g in w.tags)
                              and _object_before(toks, i)), None)
            if agent is None or any(w.lemmas & LAW_RU for w in window):
                continue
            if not any(w.lemmas & RULE_NOUNS_RU for w in toks[max(0, i - 8):i]):
                continue
            found.append(ctx.trigger(_span(toks, i, toks.index(agent)), "left to a by-law of the authority"))
    else:
        for i, t in enumerate(toks):
            if t.lower not in KK_DELEGATE:
                continue
            lo = max(0, i - 4)
            if any(w.lower.startswith(KK_LAW) for w in toks[lo:i]):
                continue
            heads = {a.split()[0] for a in KK_AGENTS}
            at = next((k for k in range(lo, i) if any(toks[k].lower.startswith(h) for h in heads)), None)
            rule_noun = any(w.lower.startswith(RULE_STEMS_KK) for w in toks[max(0, i - 10):i + 3])
            if at is not None and rule_noun:
                found.append(ctx.trigger(_span(toks, at, i), "left to a by-law of the authority"))
    return sorted(set(found), key=lambda tr: tr.start)


def _object_before(toks: list[Token], i: int) -> bool:
    return any(w.lemmas & {"порядок", "правило", "перечень", "требование", "критерий", "размер", "форма", "условие"}
               for w in toks[max(0, i - 6):i])


def _span(toks: list[Token], a: int, b: int) -> Match:
    lo, hi = min(a, b), max(a, b)
    return Match(toks[lo].start, toks[hi].end, lo, hi)


FACTOR = Factor(
    code="AC06",
    slug="pending-acts",
    names={"ru": "Отсылка к актам, которые ещё не приняты", "kk": "Әлі қабылданбаған актілерге сілтеме",
           "en": "Reference to acts not yet adopted"},
    explanation={
        "en": "The provision leaves its substance (procedure, criteria, amounts) to rules an authority will adopt "
              "later: the public discusses a draft without the part that matters, and the authority writes it for "
              "itself.",
        "ru": "Существо нормы (порядок, критерии, размеры) отдано на усмотрение будущего подзаконного акта органа: "
              "общество обсуждает проект без главного, а орган пишет правила сам для себя.",
    },
    remedy={
        "en": "Put the procedure and criteria in the act itself, or publish the draft by-law together with it.",
        "ru": "Установить порядок и критерии в самом акте либо разработать и опубликовать проект подзаконного акта "
              "одновременно с ним.",
    },
    methodology=(
        "CIS/RF methodology (Decree No. 96 of 26.02.2010), p. 3(в) 'чрезмерная свобода подзаконного "
        "нормотворчества' (бланкетные и отсылочные нормы)",
        "Kazakhstan: scientific anti-corruption expertise (Law 'On legal acts' No. 480-V), factor 'отсылочные "
        "нормы к не принятым актам'",
    ),
    detect=detect,
    weight=1.0,
    yields_to=("AC02",),  # "срок определяется руководителем" is a missing deadline, not a by-law
    examples=(
        Example("ru", "Субсидии предоставляются в порядке, определяемом уполномоченным органом.", True),
        Example("ru", "Критерии отбора будут установлены отдельным приказом министра.", True),
        Example("ru", "Субсидии предоставляются в порядке, установленном Бюджетным кодексом Республики Казахстан.",
                False),
        Example("kk", "Субсидиялар уәкілетті орган айқындайтын тәртіппен беріледі.", True),
        Example("kk", "Іріктеу өлшемшарттары кейіннен министрдің жеке бұйрығымен белгіленеді.", True),
        Example("kk", "Субсидиялар Қазақстан Республикасының Бюджет кодексінде белгіленген тәртіппен беріледі.",
                False),
    ),
)
