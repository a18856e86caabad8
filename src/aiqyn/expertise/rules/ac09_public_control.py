"""AC09 Missing public control or reporting: public goods are handed out (land plots, housing, places,
grants, subsidies) or a queue or list is kept with no publication, no report and no public oversight — or the
act hides it outright ("не подлежит опубликованию", "для служебного пользования", "жариялануға жатпайды").

Why it is a risk: allocations nobody sees are where out-of-turn places and plots are sold; the President asks
that land, housing and kindergarten places be given "прозрачно, под контролем общества" (seed 001).
"""

from __future__ import annotations

from aiqyn.expertise.model import Trigger
from aiqyn.expertise.morph import Match
from aiqyn.expertise.rules.base import Context, Example, Factor, mentions_authority
from aiqyn.expertise.rules.common import OPENNESS

HIDDEN = {
    "ru": ("не подлежать опубликование|размещение|огласка", "не публиковаться|опубликовываться|размещаться",
           "для служебный пользование", "закрытый *1 заседание|порядок|режим", "без участие *2 наблюдатель"
           "|общественность|представитель", "не раскрываться", "конфиденциальный"),
    "kk": ("жариялан *1 жатпайды", "=жарияланбайды", "қызметтік пайдалану", "жабық *1 отырыс|тәртіп|режим",
           "байқаушы *2 қатысуынсыз", "орналастырылмайды", "құпия"),
}
ALLOCATION = {
    "ru": ("распределять|распределить|предоставлять|предоставить|выделять|выделить|присуждать|присудить"
           "|предоставляться|распределяться|выделяться|присуждаться *4 земельный|участок|жилье|жилище|квартира|место"
           "|грант|субсидия|средство|квота|премия|помещение|стипендия|путевка",
           "земельный|участок|жилье|жилище|квартира|место|грант|субсидия|квота|премия|помещение|стипендия|путевка"
           " *6 предоставляться|распределяться|выделяться|присуждаться|выдаваться|распределять|предоставлять"
           "|выделять|присуждать",
           "решение *1 о|об *1 предоставление|распределение|выделение|присуждение *3 земельный|участок|жилье|жилище"
           "|квартира|место|грант|субсидия|средство|квота|премия|помещение|стипендия|путевка",
           "вести|формировать|сформировать *3 очередь", "очередь *3 вести|формировать|вестись|формироваться",
           "очередь|список|реестр|рейтинг *3 получатель|очередник|нуждающийся|претендент|победитель *3 утверждаться"
           "|формироваться|вестись|утвердить|утверждать",
           "вести|формировать|сформировать|утверждать|утвердить *3 очередь|список|реестр|рейтинг|перечень *2"
           " получатель|очередник|нуждающийся|претендент|участник|победитель",
           "определять|определить|отбирать|отобрать *2 победитель|получатель"),
    "kk": ("учаске|тұрғын|орын|грант|субсидия|қаражат|квота|пәтер|үй-жай|жолдама|стипендия|сыйлықақы *8 ^бөле|^бөлу"
           "|=береді|=беріледі|=ұсынады|=ұсынылады|=таратады|бөлін",
           "^бөле|^бөлу|^бөлін|^бөлг *3 жер|тұрғын|орын|грант|субсидия|қаражат|квота|стипендия|сыйлықақы",
           "грант|субсидия|квота|стипендия|жолдама|учаске|орын *2 =беру|=бөлу|=ұсыну *1 туралы *1 шешім",
           "кезек *2 жүргіз|қалыптастыр",
           "кезек|тізім|тізілім|рейтинг *3 жүргіз|қалыптастыр|бекіт", "жеңімпаз|алушы *3 айқында|анықта|іріктe"),
}


def detect(ctx: Context) -> list[Trigger]:
    hidden = ctx.find(HIDDEN[ctx.lang])
    if hidden:
        return [ctx.trigger(m, "the act keeps it out of public sight") for m in hidden]
    alloc = [m for m in ctx.find(ALLOCATION[ctx.lang]) if not _reallocation(ctx, m)]
    if alloc and mentions_authority(ctx) and not ctx.in_article(OPENNESS[ctx.lang]):
        return [ctx.trigger(alloc[0], "no publication, report or public oversight")]
    return []


def _reallocation(ctx: Context, m: Match) -> bool:
    """"қайта бөлу" (re-allocation between budget lines) is not handing out a good to a recipient."""
    return ctx.lang == "kk" and any(t.lower == "қайта" for t in ctx.tokens[m.first:m.last + 1])


FACTOR = Factor(
    code="AC09",
    slug="no-public-control",
    names={"ru": "Отсутствие общественного контроля и отчётности", "kk": "Қоғамдық бақылау мен есептіліктің болмауы",
           "en": "Missing public control or reporting"},
    explanation={
        "en": "Public goods are allocated (land, housing, places, grants, subsidies) or a queue or list is kept, but "
              "the provision requires no publication, report or public oversight, or hides the decisions.",
        "ru": "Распределяются публичные блага (земля, жильё, места, гранты, субсидии) или ведётся очередь, список, "
              "но норма не требует опубликования, отчёта или общественного контроля либо скрывает решения.",
    },
    remedy={
        "en": "Require publication of the decisions, the list and its changes on the authority's website, a periodic "
              "public report, and observers from civil society.",
        "ru": "Обязать публиковать решения, списки и их изменения на интернет-ресурсе органа, отчитываться "
              "публично и допускать наблюдателей от общественности.",
    },
    methodology=(
        "CIS/RF methodology (Decree No. 96 of 26.02.2010), p. 3(и) 'отсутствие или неполнота административных "
        "процедур' and p. 3(к) 'отказ от конкурсных (аукционных) процедур'",
        "Kazakhstan: Law 'On combating corruption' (18.11.2015 No. 410-V) on public control and transparency; "
        "scientific anti-corruption expertise (Law 'On legal acts' No. 480-V), factor 'отсутствие контроля'",
    ),
    detect=detect,
    weight=1.0,
    examples=(
        Example("ru", "Акимат распределяет земельные участки между заявителями по решению комиссии.", True),
        Example("ru", "Протоколы заседаний комиссии не подлежат опубликованию.", True),
        Example("ru", "Акимат распределяет земельные участки на открытом аукционе; результаты публикуются на "
                      "интернет-ресурсе акимата в течение трех рабочих дней.", False),
        Example("kk", "Әкімдік жер учаскелерін комиссияның шешімі бойынша өтініш берушілер арасында бөледі.", True),
        Example("kk", "Комиссия отырыстарының хаттамалары жариялануға жатпайды.", True),
        Example("kk", "Әкімдік жер учаскелерін ашық аукционда бөледі; нәтижелер үш жұмыс күні ішінде әкімдіктің "
                      "интернет-ресурсында жарияланады.", False),
    ),
)
