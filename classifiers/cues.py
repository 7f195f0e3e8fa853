"""Domain cues: a few groups of stems whose presence, not frequency, says something.

TF-IDF rows are normalised to unit length, so one decisive word («электроснабжение», «подъезд»,
«прошу установить») weighs little in a long letter full of greetings and circumstances. Each cue
here is one binary feature — present or not — whatever the length of the text, and a group
generalises over its members: the model learns "a grid company's vocabulary" once instead of
word by word.

Scope (R9) is decided mostly by whose business the matter is. Our cues name the grid company's
own vocabulary (electricity supply, lines, poles, substations, meters of electricity,
technological connection, power outages) and, apart from it, a block's common property
(stairwells, lifts, facades — the managing company's) and other utilities' and authorities'
matters. Kind (R5) cues: a reported failure, a request for something new, a request to restore
something that worked, pure information-seeking.

Patterns run over :func:`classifiers.text.normalise` output (lower case, «ё» as «е», Cyrillic).
"""

from __future__ import annotations

import re

import numpy as np
from scipy.sparse import csr_matrix

_CUES: dict[str, str] = {
    # The grid company's own business: unambiguous words.
    "grid_strong": r"электроснабж|электроэнерг|электросет|энергосбыт|энергоснабж|омскэнерго|россет|"
                   r"подстанц|трансформатор|\bк?тп\b|\bрэс\b|\bпэс\b|\bлэп\b|\bвл[- ]?\d|линии? электропередач|"
                   r"\bквт|киловатт|технологическ\w* присоедин|присоединени\w* к (электр)?сет|"
                   r"мощност|электрик|электрич|счетчик\w* электр|прибор\w* учета электр|электросчетчик|"
                   r"электробудк|электросетев|энергетик|монтер|ленэнерго|трансформаторн",
    # Words that are the grid company's in most mail, and someone else's in some.
    "grid_weak": r"\bсвет\w{0,2}\b|напряжени|\bопор\w*|провод|кабел|счетчик|показани|пломб|щит|автомат|"
                 r"отключ|лампочк|розетк|вольт|\bфаз|"
                 # An energy company's contracts, accounts and bills (other utilities have theirs too).
                 r"договор|лицев\w* сч|\bл/?с\b|квитанц|тариф|начисл|перерасчет|задолженн|личн\w* кабинет",
    # A block's common property: the managing company's, not the grid company's.
    "building": r"подъезд|лестничн|лестниц|этаж|лифт|управляющ\w* компан|\bук\b|\bтсж\b|\bжск\b|фасад|"
                r"домофон|общедомов|подвал|чердак|крыш|кровл|мусоропровод|входн\w* групп|консьерж|"
                # «Парадная» is what St Petersburg (and not only it) calls a stairwell entrance.
                r"парадн|тамбур|холл|колясочн|почтов\w* ящик|электрощитов|слаботочн|межэтаж|жильц|"
                r"собственник\w* (квартир|помещ)|многоквартирн",
    # Other utilities: water, heat, gas, rubbish.
    "utilities": r"\bвод[аыуео]\b|водоснабж|водопровод|водоканал|водоотвед|канализ|отоплен|батаре|"
                 r"теплосет|теплоснабж|горяч\w* вод|холодн\w* вод|\bгаз\w*|газоснабж|газифик|мусор|"
                 r"\bтко\b|региональн\w* оператор",
    # Roads, transport and public space.
    "roads_transport": r"дорог|асфальт|\bям[аыу]?\b|ямы|тротуар|обочин|пешеходн|светофор|разметк|"
                       r"автобус|трамва|троллейбус|маршрут|остановк|электричк|пригородн|\bдпс\b|парковк|"
                       r"\bпарк\w*|сквер|детск\w* площадк|благоустр|снег|газон|дерев|"
                       # «станци» but not «подстанция».
                       r"поезд|вокзал|(?<!под)станци|платформ|билет|терминал|\bгибдд|перекрест|дорожн\w* знак|"
                       r"бордюр|пандус|неровност|велодорож|проезжа",
    # Authorities' other matters: benefits, health, schooling, housing queues, legality checks.
    "public_services": r"пособи|выплат|субсиди|льгот|пенси|соцзащит|социальн|материальн\w* помощ|"
                       r"поликлиник|больниц|врач|вакцин|привив|лекарств|медицин|школ|детск\w* сад|"
                       r"\bсад[ау]?\b|учител|обучени|лагер|инвалидност|очеред|жиль|земельн\w* участ|"
                       r"законн|разрешени\w* на|полици|участков|администрац|мэр|губернатор|депутат|"
                       r"сертификат|\bqr|ковид|covid|коронавирус|карантин|антител|\bтест|анализ|томограф|"
                       r"скор\w* помощ|санатори|кружк|дополнительн\w* образован|скейт|спортзал|библиотек|малоимущ|"
                       r"многодет|госуслуг|\bмфц|инвалид|детсад|заведующ|директор школ",
    # Neighbours, animals, signs and adverts on buildings: the police's, the vet service's, the city's.
    "nuisance": r"собак|\bшум|кондиционер|пристройк|спутников\w* тарелк|крыс|сосед\w* (сверху|снизу)|вывеск|баннер|"
                r"рекламн\w* конструкц",
    "street_lighting": r"уличн\w* освещ|наружн\w* освещ|фонар|светильник",
    # Kind: a failure reported — the service worked and does not now, or harm was done.
    "failure": r"не горит|не горят|не работа|нет света|без света|без электр|нет электр|пропал|сгорел|"
               r"сломан|разбит|оборва|обрыв|течет|протека|прорвал|авари|не убира|не вывоз|не приход|"
               r"не пришл|до сих пор|уже \w*\s?(недел|месяц|дн|сут|год|раз)|который (день|раз)|"
               r"сколько можно|безобраз|возмущ|издевательств|требую|незаконн|ущерб|холодно|мигает|"
               r"моргает|искрит|отказал|не отвеча|без ответ|отписк|грубо|хамств",
    # Kind: a restoration asked for — by R5 a failure, even when phrased as a request.
    "restore": r"восстанов|отремонт|почини|устранит|вернуть|возобнов|(включ\w+|дайте|дадут) (свет|электр|"
               r"отоплен|вод|фонар|освещ)|замен\w+ сгорев|привести в порядок",
    # Kind: something new asked for.
    "request_new": r"прошу|просим|предлагаю|предложени|рассмотреть возможност|установить|организовать|"
                   r"выделить|предоставить|подключить|заключить|оформить|переоформ|выдать|"
                   r"никогда не было|нет вообще|дополнительн|новый|новую|новых",
    # Kind: information sought.
    "question": r"\?|подскажите|скажите|интересует|хочу узнать|хотел\w* бы узнать|хочу уточнить|"
                r"разъясн|поясните|как узнать|можно ли|нужно ли|возможно ли|обязан\w* ли|положен\w* ли|"
                r"правда ли|законн\w* ли|является ли|куда обращ|к кому обращ|какие документ|на каком основании",
}
_PATTERNS = [re.compile(pattern) for pattern in _CUES.values()]
#: Combinations a linear model cannot form by itself: any grid evidence at all, and grid words
#: met only in a block's common property (a stairwell lamp, a floor panel) without a strong one.
DERIVED = ("grid_any", "grid_only_in_building")
NAMES = (*_CUES, *DERIVED)
_INDEX = {name: i for i, name in enumerate(_CUES)}


def cue_matrix(normalised_docs: list[str], weight: float = 1.0) -> csr_matrix:
    """One row per document, one column per cue: ``weight`` where the cue occurs, else 0."""
    rows, cols = [], []
    strong, weak, building = _INDEX["grid_strong"], _INDEX["grid_weak"], _INDEX["building"]
    for row, doc in enumerate(normalised_docs):
        hits = {col for col, pattern in enumerate(_PATTERNS) if pattern.search(doc)}
        if strong in hits or weak in hits:
            hits.add(len(_PATTERNS))
        if weak in hits and building in hits and strong not in hits:
            hits.add(len(_PATTERNS) + 1)
        rows.extend([row] * len(hits))
        cols.extend(sorted(hits))
    data = np.full(len(rows), weight, dtype=np.float32)
    return csr_matrix((data, (rows, cols)), shape=(len(normalised_docs), len(NAMES)), dtype=np.float32)
