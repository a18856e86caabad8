"""AC02 Missing or vague deadlines: an authority handles an application with no time limit, or with one that
says nothing ("в разумный срок", "своевременно", "ақылға қонымды мерзімде", a term the authority sets itself).

Why it is a risk: without a deadline the applicant waits as long as the official wishes, and speed can be sold.
"""

from __future__ import annotations

from aiqyn.expertise.model import Trigger
from aiqyn.expertise.morph import Token
from aiqyn.expertise.rules.base import Context, Example, Factor, mentions_authority, subject_role
from aiqyn.expertise.rules.common import TIME_LIMIT, VAGUE_TIME

# An authority acting on a person's request: where the methodology asks for a deadline.
HANDLING = {
    "ru": ("рассматривать|рассмотреть *3 заявление|обращение|жалоба|заявка|ходатайство|документ|материал",
           "принимать|принять *1 решение *1 о|об *2 выдача|предоставление|регистрация|отказ|согласование|включение"
           "|назначение|возврат|продление",
           "выдавать|выдать *3 разрешение|лицензия|справка|заключение|свидетельство|сертификат|удостоверение"
           "|паспорт|документ|выписка|акт",
           "регистрировать|зарегистрировать *3 заявление|заявка|договор|право",
           "согласовывать|согласовать *3 проект|заявка|документация|схема",
           "рассмотрение *2 заявление|обращение|жалоба|заявка|ходатайство"),
    "kk": ("өтініш|шағым|құжат|материал|өтінім *3 =қарайды|=қаралады",
           "шешім =қабылдайды|=қабылданады",
           "рұқсат|лицензия|анықтама|қорытынды|куәлік|сертификат|паспорт|құжат|үзінді|акт *2 =береді|=беріледі",
           "өтініш|өтінім|шарт *2 =тіркейді|=тіркеледі", "жоба|өтінім|схема|құжаттама *2 =келіседі|=келісіледі"),
}


def detect(ctx: Context) -> list[Trigger]:
    found = [ctx.trigger(m, "the deadline says nothing") for m in ctx.find(VAGUE_TIME[ctx.lang])]
    if found:
        return found
    # A step of a procedure names the authority first ("Басқарма ... паспорт береді", "Акимат выдает справку");
    # with the object first it says who is competent ("Паспортты ... қызмет береді", "Лицензию выдает орган").
    handling = [m for m in ctx.find(HANDLING[ctx.lang])
                if subject_role(ctx, m.first, ctx.sentence_bounds(m)[0]) == "authority"
                or (ctx.lang == "ru" and subject_role(ctx, m.first, ctx.sentence_bounds(m)[0]) is None)]
    handling = [m for m in handling if not _attribute(ctx.tokens[m.first])]
    limits = TIME_LIMIT[ctx.lang]
    if handling and mentions_authority(ctx) and not ctx.in_article(limits) and not ctx.has(limits, ctx.lead_tokens):
        m = handling[0]
        return [ctx.trigger(m, "no deadline for this step")]
    return []


def _attribute(token: Token) -> bool:
    """'перечень выданных разрешений': a participle describes a thing, it does not state a step."""
    return bool(token.tags) and all(tag.startswith(("PRTF", "ADJF")) for tag in token.tags)


FACTOR = Factor(
    code="AC02",
    slug="missing-deadline",
    names={"ru": "Отсутствие или неопределённость сроков", "kk": "Мерзімдердің болмауы немесе белгісіздігі",
           "en": "Missing or vague deadline"},
    explanation={
        "en": "An authority must act on a person's request, but the provision sets no time limit, or one that cannot "
              "be checked ('within a reasonable time', 'in due time', a term the authority sets itself).",
        "ru": "Орган совершает действие по заявлению лица, но срок не установлен или не поддаётся проверке («в "
              "разумный срок», «своевременно», срок, определяемый самим органом).",
    },
    remedy={
        "en": "State the time limit in days (working or calendar) and from which event it runs.",
        "ru": "Установить срок в рабочих или календарных днях и момент, с которого он исчисляется.",
    },
    methodology=(
        "CIS/RF methodology (Decree No. 96 of 26.02.2010), p. 3(а): 'отсутствие или неопределенность сроков, "
        "условий или оснований принятия решения'",
        "Kazakhstan: scientific anti-corruption expertise (Law 'On legal acts' No. 480-V), factor 'отсутствие "
        "сроков административных процедур'",
    ),
    detect=detect,
    examples=(
        Example("ru", "Уполномоченный орган рассматривает заявление в разумный срок.", True),
        Example("ru", "Акимат рассматривает заявление и принимает решение о выдаче разрешения.", True),
        Example("ru", "Уполномоченный орган рассматривает заявление в течение десяти рабочих дней со дня его "
                      "поступления.", False),
        Example("kk", "Уәкілетті орган өтінішті ақылға қонымды мерзімде қарайды.", True),
        Example("kk", "Әкімдік өтінішті қарайды және рұқсат беру туралы шешім қабылдайды.", True),
        Example("kk", "Уәкілетті орган өтінішті ол түскен күннен бастап он жұмыс күні ішінде қарайды.", False),
    ),
)
