"""The KATO code of a legal address as goszakup.gov.kz writes it ("Костанайская область, Карасуский район, с.Карасу,
Больничная, 1"; "г.Нур-Султан, ДОСТЫК, 18"), from the classifier shipped in aiqyn.reference.

The portal's contracts give no KATO code for the customer or the supplier, only their legal address, which
starts with the oblast (or a city of republican significance) and, often, the district or the town of regional
significance. The code found is the district's when it is named and known, else the oblast's; None when the
address names neither. Addresses written before the 2018 and 2022 reforms keep their old oblast (Южно-Казахстанская,
Восточно-Казахстанская for Семей...): a district is then looked for across the whole classifier, and its current
code is given when its name is unique there.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from aiqyn.reference import kato_units

# Names of cities and oblasts as addresses write them, beyond the classifier's own names.
_ALIASES = {
    "г.нур-султан": "710000000", "г.астана": "710000000", "нур-султан": "710000000", "астана": "710000000",
    "г.алматы": "750000000", "г.шымкент": "790000000",
    "южно-казахстанская область": "610000000", "оңтүстік қазақстан облысы": "610000000",
    "алматинская обл.": "190000000",
    "абайская область": "100000000", "область абай": "100000000", "жетысуская область": "330000000",
    "область жетісу": "330000000", "улытауская область": "620000000", "область ұлытау": "620000000",
}


def _norm(text: str) -> str:
    text = text.lower().replace("ё", "е").replace("\u00a0", " ")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"^г\.\s*", "г.", text)


@cache
def _index() -> tuple[dict[str, str], dict[tuple[str, str], str], dict[str, list[str]]]:
    oblasts: dict[str, str] = dict(_ALIASES)
    within: dict[tuple[str, str], str] = {}
    anywhere: dict[str, list[str]] = {}
    for unit in kato_units():
        names = {_norm(unit.name_ru), _norm(unit.name_kk)}  # addresses are written in Russian or Kazakh
        if unit.level == "oblast":
            for name in names:
                oblasts[name] = unit.kato
            continue
        keys = set(names)
        for name in names:
            m = re.match(r"^(.+?) (г\.а\.|қ\.ә\.)$", name)  # "караганда г.а." (city administration) <- "г.караганда"
            if m:
                keys.add("г." + m.group(1))
            m = re.match(r"^район (.+)$", name)  # "район ақсуат" <- "ақсуат район"
            if m:
                keys.add(m.group(1) + " район")
        for key in keys:
            within[(unit.region, key)] = unit.kato
            anywhere.setdefault(key, []).append(unit.kato)
    return oblasts, within, anywhere


@lru_cache(maxsize=1 << 16)
def kato_of_address(address: str | None) -> str | None:
    """The KATO code (9 digits) of the district or oblast an address names, or None."""
    if not address:
        return None
    parts = [_norm(p) for p in address.split(",") if p.strip()]
    if not parts:
        return None
    oblasts, within, anywhere = _index()
    region = oblasts.get(parts[0])
    if region is None:
        return None
    if region in ("710000000", "750000000", "790000000") or len(parts) < 2:
        return region
    district = parts[1].replace('"', "").replace("«", "").replace("»", "")
    code = within.get((region, district))
    if code is None:
        candidates = anywhere.get(district, [])
        if len(candidates) == 1:
            code = candidates[0]
        elif district in ("г.шымкент",):
            code = "790000000"
    return code or region
