"""AC04 Duplicated or conflicting competences: one function given to two authorities at once ("местный
исполнительный орган и (или) уполномоченный орган выдаёт"), to "other bodies", or to "any" body.

Why it is a risk: when several bodies may do the same thing, the applicant is sent from one to the other, each
can claim or disown the decision, and no one answers for it.
"""

from __future__ import annotations

from aiqyn.expertise.model import Trigger
from aiqyn.expertise.morph import Token
from aiqyn.expertise.rules.base import AUTHORITY_RU, Context, Example, Factor, kk_role

CONNECTORS = {
    "ru": ("и или", "=либо", "=или", "наряду с", "а также"),
    "kk": ("және немесе", "=не", "=немесе", "=сондай-ақ", "=мен|=бен|=пен"),
}
OPEN_BODIES = {
    "ru": ("иной|другой *1 государственный|уполномоченный|контролирующий *1 орган|ведомство|организация",
           "иной|другой *2 орган|ведомство|организация|подразделение",
           "любой *2 орган|ведомство|должностной|подразделение|организация",
           "каждый *2 орган",
           "совместно *3 или *1 самостоятельно|раздельно", "самостоятельно *2 или *1 совместно"),
    "kk": ("өзге|басқа *1 =да|=де *2 орган|ұйым|мекеме", "кез келген *2 орган|мекеме|лауазымды|бөлімше|ұйым",
           "бірлесіп *2 немесе *1 дербес", "дербес *2 немесе *1 бірлесіп"),
}
APPEAL_RU = {"обжаловать", "обжаловаться", "обжалование", "жалоба", "оспорить", "оспаривать"}
# Bodies that may share a function besides public authorities: units and organisations acting for them
BODIES_RU = {*AUTHORITY_RU, "подразделение", "организация", "предприятие", "центр"}
BODIES_KK = ("бөлімше", "ұйым", "кәсіпорын", "орталық")


def _is_authority_subject(ctx: Context, tok: Token, prev: Token | None) -> bool:
    if ctx.lang == "ru":
        return bool(tok.lemmas & BODIES_RU) and any("nomn" in tag for tag in tok.tags)
    if kk_role(tok, prev) == "authority":
        return True
    w = tok.lower
    return any(w.startswith(s) and w[len(s):] in ("", "ы", "і", "сы", "сі", "лері", "лары") for s in BODIES_KK)


def detect(ctx: Context) -> list[Trigger]:
    found = []
    for m in ctx.find(OPEN_BODIES[ctx.lang]):
        found.append(ctx.trigger(m, "the function goes to bodies not named"))
    toks = ctx.tokens
    for m in ctx.find(CONNECTORS[ctx.lang]):
        lo, hi = ctx.sentence_bounds(m)
        before = [t for k, t in enumerate(toks[max(lo, m.first - 4):m.first], max(lo, m.first - 4))
                  if _is_authority_subject(ctx, t, toks[k - 1] if k else None)]
        after = [t for k, t in enumerate(toks[m.last + 1:min(hi, m.last + 5)], m.last + 1)
                 if _is_authority_subject(ctx, t, toks[k - 1])]
        if not before or not after:
            continue
        if ctx.lang == "ru" and any(t.lemmas & APPEAL_RU for t in toks[lo:hi]):
            continue  # "решение органа или должностного лица обжалуется": appeal, not competence
        if ctx.lang == "kk" and any(t.lower.startswith(("шағым", "дау")) for t in toks[lo:hi]):
            continue
        found.append(ctx.trigger(m.__class__(before[0].start, after[-1].end, m.first, m.last),
                                 "two bodies hold the same function"))
    return sorted(set(found), key=lambda t: t.start)


FACTOR = Factor(
    code="AC04",
    slug="duplicated-competence",
    names={"ru": "Дублирование и нечёткое разграничение полномочий",
           "kk": "Өкілеттіктердің қайталануы және нақты ажыратылмауы",
           "en": "Duplicated or conflicting competences"},
    explanation={
        "en": "The same function is given to two authorities ('and (or)', 'or'), to 'other bodies' or to 'any' body: "
              "responsibility is blurred and the applicant can be sent from one to the other.",
        "ru": "Одна и та же функция закреплена за двумя органами («и (или)», «либо»), за «иными органами» или за "
              "«любым» органом: ответственность размыта, заявителя можно направлять от одного к другому.",
    },
    remedy={
        "en": "Assign each function to one named authority; where two must act, describe who does which step.",
        "ru": "Закрепить каждую функцию за одним названным органом; если нужны двое — расписать, кто какой шаг "
              "выполняет.",
    },
    methodology=(
        "CIS/RF methodology (Decree No. 96 of 26.02.2010), p. 3(а) 'наличие дублирующих полномочий' and p. 3(ж) "
        "'принятие нормативного правового акта за пределами компетенции'",
        "Kazakhstan: scientific anti-corruption expertise (Law 'On legal acts' No. 480-V), factor 'дублирование "
        "функций государственных органов'",
    ),
    detect=detect,
    examples=(
        Example("ru", "Разрешение выдает местный исполнительный орган и (или) уполномоченный орган.", True),
        Example("ru", "Контроль за соблюдением настоящих Правил осуществляют уполномоченный орган и иные "
                      "государственные органы.", True),
        Example("ru", "Решение уполномоченного органа или должностного лица может быть обжаловано в суд.", False),
        Example("ru", "Разрешение выдает местный исполнительный орган области.", False),
        Example("kk", "Рұқсатты жергілікті атқарушы орган және (немесе) уәкілетті орган береді.", True),
        Example("kk", "Осы Қағидалардың сақталуын бақылауды уәкілетті орган және басқа да мемлекеттік органдар "
                      "жүзеге асырады.", True),
        Example("kk", "Рұқсатты облыстың жергілікті атқарушы органы береді.", False),
    ),
)
