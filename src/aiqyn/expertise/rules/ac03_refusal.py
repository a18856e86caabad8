"""AC03 Grounds for refusal missing or open: an authority may refuse "on other grounds", "without giving
reasons", or may refuse with no grounds listed at all ("өзге де негіздер бойынша", "себебін түсіндірмей").

Why it is a risk: an open list lets the official refuse anyone, and a refusal that is only avoided by paying
is the classic form of administrative corruption.
"""

from __future__ import annotations

from aiqyn.expertise.model import Trigger
from aiqyn.expertise.rules.base import Context, Example, Factor, subject_role
from aiqyn.expertise.rules.common import has_criteria

REFUSAL = {
    "ru": ("отказ", "отказать", "отказывать", "отказываться", "отклонить|отклонять|отклоняться",
           "оставить|оставлять|оставляться *2 без рассмотрение"),
    "kk": ("бас тарт", "қабылдамау", "^қабылданба", "қайтар *1 өтініш", "қараусыз қалдыр"),
}
OPEN_GROUNDS = {
    "ru": ("иной|другой|прочий *2 основание|причина|случай|обстоятельство",
           "без *1 объяснение|указание|обоснование *1 причина",
           "без *1 объяснение|обоснование", "в том число", "включая", "по основание *2 определять|устанавливать *3"
           " руководитель|орган|комиссия|организатор|должностной", "по *1 усмотрение"),
    "kk": ("өзге|басқа *1 =да|=де *1 негіз|себеп|жағдай|мән-жай", "себеб *1 түсіндір|көрсет|негізде", "оның ішінде",
           "қоса алғанда", "негізсіз"),
}
MAY_REFUSE = {
    "ru": ("=вправе|мочь *2 отказать|отклонить|отказывать|отклонять", "мочь *1 быть *1 отказать|отклонить",
           "иметь право *2 отказать|отклонить"),
    "kk": ("бас =тартуға|=тартуы|=тартылуы *1 =құқылы|=мүмкін", "=қабылдамауға|=қабылдамауы *1 =құқылы|=мүмкін",
           "бас =тартуға|=тарту *1 құқығы =бар", "=қабылдамауға *1 құқығы =бар"),
}


def detect(ctx: Context) -> list[Trigger]:
    refusal = ctx.find(REFUSAL[ctx.lang])
    in_refusal_list = bool(ctx.provision.lead) and ctx.has(REFUSAL[ctx.lang], ctx.lead_tokens)
    if not refusal and not in_refusal_list:
        return []
    found = [ctx.trigger(m, "open list of grounds") for m in ctx.find(OPEN_GROUNDS[ctx.lang])]
    if found:
        return found
    # "вправе отказать" with nothing to say when: grounds missing altogether
    for m in ctx.find(MAY_REFUSE[ctx.lang]):
        lo, hi = ctx.sentence_bounds(m)
        role = subject_role(ctx, m.first, lo)
        passive = any(t.lower in ("быть", "тартылуы", "қабылданбауы") for t in ctx.tokens[m.first:m.last + 1])
        if ((role == "authority" or (role is None and passive))
                and not has_criteria(ctx, lo, hi) and not ctx.text.rstrip().endswith(":")
                and not _lists_grounds(ctx)):
            return [ctx.trigger(m, "no grounds for refusal")]
    return []


def _lists_grounds(ctx: Context) -> bool:
    words = {"ru": ("основание", "случай", "если", "причина"), "kk": ("негіз", "жағдай", "егер", "себеп")}[ctx.lang]
    return ctx.has(words)


FACTOR = Factor(
    code="AC03",
    slug="refusal-grounds",
    names={"ru": "Отсутствие или открытый перечень оснований для отказа",
           "kk": "Бас тарту негіздерінің болмауы немесе тізбесінің ашық болуы",
           "en": "Missing or open-ended grounds for refusal"},
    explanation={
        "en": "An authority may refuse, but the grounds are not listed, the list is open ('other grounds', "
              "'including'), or no reasons need be given: any applicant can be refused.",
        "ru": "Орган вправе отказать, но основания не названы, их перечень открыт («иные основания», «в том числе») "
              "или причины можно не объяснять: отказать можно любому заявителю.",
    },
    remedy={
        "en": "List the grounds for refusal exhaustively in the act itself and require a reasoned written refusal.",
        "ru": "Исчерпывающе перечислить основания для отказа в самом акте и обязать мотивировать отказ письменно.",
    },
    methodology=(
        "CIS/RF methodology (Decree No. 96 of 26.02.2010), p. 3(а) 'отсутствие ... оснований принятия решения' and "
        "p. 3(и) 'отсутствие или неполнота административных процедур'",
        "Kazakhstan: scientific anti-corruption expertise (Law 'On legal acts' No. 480-V), factor 'отсутствие "
        "исчерпывающего перечня оснований для отказа'",
    ),
    detect=detect,
    weight=1.5,
    examples=(
        Example("ru", "В выдаче разрешения может быть отказано по иным основаниям.", True),
        Example("ru", "Комиссия вправе отклонить заявку без объяснения причин.", True),
        Example("ru", "Основаниями для отказа являются: недостоверность представленных сведений; несоответствие "
                      "заявителя требованиям пункта 5 настоящих Правил.", False),
        Example("kk", "Рұқсат беруден өзге де негіздер бойынша бас тартылуы мүмкін.", True),
        Example("kk", "Комиссия өтінімді себебін түсіндірмей қабылдамауға құқылы.", True),
        Example("kk", "Бас тарту үшін мыналар негіз болып табылады: ұсынылған мәліметтердің дұрыс болмауы; өтініш "
                      "берушінің осы Қағидалардың 5-тармағының талаптарына сәйкес келмеуі.", False),
    ),
)
