"""AC08 Missing appeal procedure: a decision against a person (refusal, suspension, withdrawal, exclusion from
a register) with no way to challenge it, or declared final ("обжалованию не подлежит", "шағымдануға жатпайды").

Why it is a risk: a decision nobody can challenge is worth paying to obtain or to avoid.
"""

from __future__ import annotations

from aiqyn.expertise.model import Trigger
from aiqyn.expertise.morph import Match
from aiqyn.expertise.rules.base import Context, Example, Factor, mentions_authority, subject_role
from aiqyn.expertise.rules.common import APPEAL

FINAL = {
    "ru": ("не подлежать обжалование", "обжалование не подлежать", "являться *1 окончательный",
           "окончательный и не", "=окончательным", "=окончательно", "не может быть обжаловать"),
    "kk": ("шағымдан *2 жатпайды", "=түпкілікті", "даулауға жатпайды", "шағымдануға болмайды"),
}
ADVERSE = {  # a decision against a person, as an action (the noun alone, "основания для отказа", is not one)
    "ru": ("отказать|отказывать|отказываться|отклонить|отклонять|отклоняться|аннулировать|аннулироваться",
           "запретить|запрещать *2 деятельность|проведение|эксплуатация|использование|въезд|продажа",
           "изъять|изымать|изыматься", "действие|деятельность|выплата|лицензия|разрешение|право *3 прекращаться"
           "|приостанавливаться|аннулироваться|отзываться",
           "приостановить|приостанавливать|приостанавливаться|отозвать|отзывать|прекратить|прекращать|прекращаться"
           " *3 действие|деятельность|выплата|лицензия|разрешение|право|рассмотрение|аккредитация|регистрация"
           "|сертификат|свидетельство|заключение|аттестат",
           "лишить|лишать *2 право|лицензия|статус", "дисквалифицировать", "отстранить|отстранять *2 от",
           "исключить|исключать|исключаться *3 из",
           "снять|снимать|сниматься *3 с *1 учет|очередь",
           "оставить|оставлять|оставляться|возвратить|вернуть|возвращать|возвращаться *3 без рассмотрение",
           "решение *1 об|о *1 отказ|приостановление|аннулирование|отзыв|лишение|прекращение|исключение|снятие"),
    "kk": ("бас =тартады|=тартылады|=тартуға|=тартуы|=тартылуы", "тоқтата =тұрады|=тұрылады|=тұруға|=тұруы",
           "кері қайтарып|шақырып =алады|=алынады|=алуға|=алуы", "күшін =жояды|=жойылады|=жоюға",
           "=айырады|=айырылады", "тізілім|тізім|есеп|кезек *1 =шығарады|=шығарылады|=шығаруға",
           "қараусыз =қалдырады|=қалдырылады|=қалдыруға", "=қабылдамайды|=қабылдамауға|=қабылдамауы",
           "тыйым =салады|=салуға|=салынады", "=тарту|=тұру|=алу|=жою|=шығару|=тоқтату *1 туралы *1 шешім",
           "=қабылданбайды",
           "төлеу|қолданылу|қызмет|төлем *2 =тоқтатылады"),
}


def detect(ctx: Context) -> list[Trigger]:
    final = ctx.find(FINAL[ctx.lang])
    if final:
        return [ctx.trigger(m, "the decision is declared final") for m in final]
    adverse = ctx.find(ADVERSE[ctx.lang]) + _kk_exclusion(ctx)
    if not adverse or ctx.in_article(APPEAL[ctx.lang]):
        return []
    for m in adverse:
        # In the passive ("исключается из реестра", "бас тартылады") the decision is the state's by construction;
        # in the active voice an authority must take it (not the applicant withdrawing his own request).
        if not _passive(ctx, m):
            lo, _ = ctx.sentence_bounds(m)
            if not mentions_authority(ctx) or subject_role(ctx, m.first, lo) == "person":
                continue
        return [ctx.trigger(m, "no appeal against this decision")]
    return []


def _kk_exclusion(ctx: Context) -> list[Match]:
    """"бағдарламадан шығарылады": excluded from anything (an ablative, then the verb "шығар-")."""
    if ctx.lang != "kk":
        return []
    toks = ctx.tokens
    return [Match(toks[i - 1].start, t.end, i - 1, i) for i, t in enumerate(toks)
            if i > 0 and t.lower in ("шығарады", "шығарылады", "шығаруға")
            and toks[i - 1].lower.endswith(("дан", "ден", "тан", "тен", "нан", "нен"))]


def _passive(ctx: Context, m: Match) -> bool:
    for t in ctx.tokens[m.first:m.last + 1]:
        if ctx.lang == "ru":
            if any(tag.startswith("PRTS") for tag in t.tags) or (t.lower.endswith(("ется", "ются", "ится", "ятся"))
                                                                  and any(tag.startswith("VERB") for tag in t.tags)):
                return True
        elif any(s in t.lower for s in ("тыл", "тіл", "ыл", "іл", "лын", "лін", "нын")) and \
                t.lower.endswith(("ады", "еді", "уы", "уі")):
            return True
    return False


FACTOR = Factor(
    code="AC08",
    slug="no-appeal",
    names={"ru": "Отсутствие порядка обжалования", "kk": "Шағымдану тәртібінің болмауы",
           "en": "Missing appeal procedure"},
    explanation={
        "en": "The provision lets an authority decide against a person (refuse, suspend, withdraw, exclude) but says "
              "nothing about how to challenge the decision, or declares it final.",
        "ru": "Норма позволяет органу принять решение против лица (отказать, приостановить, отозвать, исключить), но "
              "не говорит, как его обжаловать, или объявляет его окончательным.",
    },
    remedy={
        "en": "Add the right to appeal to a higher authority and to court, with the time limit for the appeal.",
        "ru": "Указать право обжаловать решение в вышестоящий орган и в суд и срок подачи жалобы.",
    },
    methodology=(
        "CIS/RF methodology (Decree No. 96 of 26.02.2010), p. 3(и) 'отсутствие или неполнота административных "
        "процедур' (порядок обжалования)",
        "Kazakhstan: scientific anti-corruption expertise (Law 'On legal acts' No. 480-V), factor 'отсутствие "
        "порядка обжалования'; Administrative Procedural Code of the RK (29.06.2020 No. 350-VI) on appeals",
    ),
    detect=detect,
    weight=1.0,
    examples=(
        Example("ru", "Уполномоченный орган приостанавливает действие лицензии при выявлении нарушения.", True),
        Example("ru", "Решение комиссии об отказе во включении в список является окончательным.", True),
        Example("ru", "Решение об отказе может быть обжаловано в вышестоящий орган или в суд в течение месяца.",
                False),
        Example("kk", "Уәкілетті орган бұзушылық анықталған кезде лицензияның қолданылуын тоқтата тұрады.", True),
        Example("kk", "Комиссияның тізімге енгізуден бас тарту туралы шешімі түпкілікті болып табылады.", True),
        Example("kk", "Бас тарту туралы шешімге бір ай ішінде жоғары тұрған органға немесе сотқа шағым жасалуы "
                      "мүмкін.", False),
    ),
)
