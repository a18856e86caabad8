"""AC05 Excessive requirements on citizens and businesses: an open list of documents ("иные документы",
"дополнительные сведения", "документы по требованию органа", "өзге де құжаттар").

Why it is a risk: when the authority may ask for anything, it may ask for what cannot be had, and a missing
paper becomes the lever for a bribe.
"""

from __future__ import annotations

from aiqyn.expertise.model import Trigger
from aiqyn.expertise.rules.base import Context, Example, Factor

OPEN_DEMAND = {
    "ru": ("иной|другой|дополнительный|любой|необходимый|прочий *2 документ|сведение|материал|справка|информация|копия",
           "по *1 требование|запрос *4 документ|сведение|материал|справка|информация",
           "документ|сведение|материал|справка|информация *4 по *1 требование|запрос",
           "документ|сведение|справка *3 =которые *3 сочтет|посчитает|потребует"),
    "kk": ("өзге|басқа *1 =да|=де *1 құжат|мәлімет|материал|анықтама|ақпарат", "қосымша *1 құжат|мәлімет|материал"
           "|анықтама|ақпарат", "кез келген *1 құжат|мәлімет|анықтама|ақпарат", "талап *2 бойынша *3 құжат|мәлімет"
           "|анықтама|ақпарат|материал", "сұрау *2 бойынша *3 құжат|мәлімет|анықтама|ақпарат|материал",
           "сұрат *1 кез келген", "қажетті *1 құжат|мәлімет|анықтама|ақпарат|материал"),
}
# Requirements to have, submit or produce something
DEMAND_CONTEXT = {
    "ru": ("представлять|представить|предоставлять|предоставить|прилагать|приложить|требовать|потребовать"
           "|запрашивать|запросить|истребовать|предъявлять|предъявить|подавать|подать|прикладываться|представляться"
           "|предоставляться|требоваться|прилагаться|запрашиваться",),
    "kk": ("ұсын", "тапсыр", "қоса бер", "талап ет", "сұрат", "сұра", "тіркел", "беріл", "қоса тіркел", "көрсет"),
}
NOT_OPEN_RU = ("иной нормативный правовой акт", "другой нормативный правовой акт")


def detect(ctx: Context) -> list[Trigger]:
    if not ctx.has(DEMAND_CONTEXT[ctx.lang]) and not ctx.has(DEMAND_CONTEXT[ctx.lang], ctx.lead_tokens):
        return []
    return [ctx.trigger(m, "the list of what may be demanded is open") for m in ctx.find(OPEN_DEMAND[ctx.lang])]


FACTOR = Factor(
    code="AC05",
    slug="excessive-requirements",
    names={"ru": "Завышенные и открытые требования к заявителю",
           "kk": "Өтініш берушіге қойылатын шамадан тыс және ашық талаптар",
           "en": "Excessive or open-ended requirements on applicants"},
    explanation={
        "en": "A citizen or business must submit documents, but the list is open ('other documents', 'additional "
              "information', 'on request of the authority'): the authority can always find something missing.",
        "ru": "Гражданин или предприниматель представляет документы, но перечень открыт («иные документы», "
              "«дополнительные сведения», «по требованию органа»): орган всегда может найти, чего не хватает.",
    },
    remedy={
        "en": "List the documents exhaustively; forbid asking for others, and for papers the state already holds.",
        "ru": "Дать исчерпывающий перечень документов; запретить требовать иные документы и сведения, которые есть "
              "в государственных информационных системах.",
    },
    methodology=(
        "CIS/RF methodology (Decree No. 96 of 26.02.2010), p. 4(а) 'наличие завышенных требований к лицу, "
        "предъявляемых для реализации принадлежащего ему права' (неопределённые, трудновыполнимые и обременительные"
        " требования)",
        "Kazakhstan: scientific anti-corruption expertise (Law 'On legal acts' No. 480-V), factor 'завышенные "
        "требования к лицу'",
    ),
    detect=detect,
    weight=1.0,
    examples=(
        Example("ru", "К заявлению прилагаются копия устава, справка банка и иные документы.", True),
        Example("ru", "Заявитель представляет дополнительные сведения по требованию уполномоченного органа.", True),
        Example("ru", "К заявлению прилагаются копия устава и справка банка об открытии счета.", False),
        Example("kk", "Өтінішке жарғының көшірмесі, банк анықтамасы және өзге де құжаттар қоса беріледі.", True),
        Example("kk", "Өтініш беруші уәкілетті органның талабы бойынша қосымша мәліметтер ұсынады.", True),
        Example("kk", "Өтінішке жарғының көшірмесі және шот ашылғаны туралы банк анықтамасы қоса беріледі.", False),
    ),
)
