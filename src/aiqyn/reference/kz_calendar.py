"""Kazakhstan's calendar of non-working days, written to `kz_non_working_days.csv` (run this module to rebuild it).

The rules (Law "On holidays in the Republic of Kazakhstan" of 13 December 2001 No. 267, as amended; Labour Code
of 2015, article 85):

- Saturdays and Sundays are days off.
- Public holidays: 1-2 January (New Year), 7 January (Orthodox Christmas), 8 March, 21-23 March (Nauryz),
  1 May (Unity of the people of Kazakhstan), 7 May (Defender of the Fatherland), 9 May (Victory Day),
  6 July (Capital Day), 30 August (Constitution Day), 25 October (Republic Day, again a holiday from 2022),
  16 December (Independence Day; 16-17 December until 2021), 1 December (First President's Day, until 2021),
  and the first day of Kurban ait (its date follows the lunar calendar; listed below as announced).
- A holiday that falls on a Saturday or Sunday moves the day off to the next working day; this does not apply
  to the religious holidays (7 January, Kurban ait).

Not included: the government's yearly decrees that swap a working Saturday for a bridge day (their dates are
not derivable from rules; add them to `TRANSFERS` with their decree when they are known).
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path

YEARS = range(2019, 2028)

# First day of Kurban ait (Eid al-Adha) as announced by the Spiritual Administration of Muslims of Kazakhstan.
KURBAN_AIT: dict[int, dt.date] = {
    2019: dt.date(2019, 8, 11),
    2020: dt.date(2020, 7, 31),
    2021: dt.date(2021, 7, 20),
    2022: dt.date(2022, 7, 9),
    2023: dt.date(2023, 6, 28),
    2024: dt.date(2024, 6, 16),
    2025: dt.date(2025, 6, 6),
    2026: dt.date(2026, 5, 27),
    2027: dt.date(2027, 5, 16),
}

# Government decrees moving days off (date off -> the Saturday worked instead); none known for sure yet.
TRANSFERS: dict[dt.date, tuple[dt.date, str]] = {}


def holidays(year: int) -> list[tuple[dt.date, str, bool]]:
    """(date, name, religious) of the public holidays of a year."""
    days = [
        ((1, 1), "Новый год", False), ((1, 2), "Новый год", False), ((1, 7), "Рождество Христово", True),
        ((3, 8), "Международный женский день", False), ((3, 21), "Наурыз мейрамы", False),
        ((3, 22), "Наурыз мейрамы", False), ((3, 23), "Наурыз мейрамы", False),
        ((5, 1), "Праздник единства народа Казахстана", False), ((5, 7), "День защитника Отечества", False),
        ((5, 9), "День Победы", False), ((7, 6), "День Столицы", False), ((8, 30), "День Конституции", False),
        ((12, 16), "День Независимости", False),
    ]
    if year >= 2022:
        days.append(((10, 25), "День Республики", False))
    else:
        days += [((12, 1), "День Первого Президента", False), ((12, 17), "День Независимости", False)]
    out = [(dt.date(year, m, d), name, religious) for (m, d), name, religious in days]
    if year in KURBAN_AIT:
        out.append((KURBAN_AIT[year], "Курбан айт", True))
    return sorted(out)


def non_working_days() -> list[tuple[dt.date, str, str]]:
    """(date, kind, name) for every non-working day of YEARS: kind is weekend, holiday, moved_holiday or
    transfer."""
    days: dict[dt.date, tuple[str, str]] = {}
    for year in YEARS:
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        day = start
        while day <= end:
            if day.weekday() >= 5:
                days[day] = ("weekend", "Суббота" if day.weekday() == 5 else "Воскресенье")
            day += dt.timedelta(days=1)
    for year in YEARS:
        listed = holidays(year)
        holiday_dates = {d for d, _, _ in listed}
        for date, name, _religious in listed:
            days[date] = ("holiday", name)
        for date, name, religious in listed:
            if religious or date.weekday() < 5:
                continue
            moved = date + dt.timedelta(days=1)
            while moved.weekday() >= 5 or moved in holiday_dates or moved in days:
                moved += dt.timedelta(days=1)
            days[moved] = ("moved_holiday", f"{name} (перенос с {date:%d.%m})")
    for date, (worked, decree) in TRANSFERS.items():
        days[date] = ("transfer", decree)
        days.pop(worked, None)
    return sorted((d, kind, name) for d, (kind, name) in days.items())


@cache
def shipped_non_working_days() -> frozenset[dt.date]:
    """The non-working days of the shipped CSV (src/aiqyn/reference/kz_non_working_days.csv)."""
    text = resources.files("aiqyn.reference").joinpath("kz_non_working_days.csv").read_text(encoding="utf-8")
    return frozenset(dt.date.fromisoformat(r["date"]) for r in csv.DictReader(text.splitlines()))


def next_working_day(day: dt.datetime) -> dt.datetime:
    """`day` itself when it is a working day of the shipped calendar, else the next working day (same time)."""
    off = shipped_non_working_days()
    while day.date() in off:
        day += dt.timedelta(days=1)
    return day


def write(path: Path) -> int:
    rows = non_working_days()
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["date", "kind", "name"])
        writer.writerows((d.isoformat(), kind, name) for d, kind, name in rows)
    return len(rows)


if __name__ == "__main__":  # pragma: no cover
    n = write(Path(__file__).with_name("kz_non_working_days.csv"))
    print(f"wrote {n} non-working days")
