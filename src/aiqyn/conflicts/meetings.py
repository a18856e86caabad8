"""The rules of the Astana akim's order on officials' meetings with businesses, checked against the meetings register.

Source (seed 002, Zakon.kz on the akimat of Astana's order): meetings with entrepreneurs are held in rooms on
the ground floor "equipped with video cameras and sound recording devices"; "individual contacts of heads at the
meetings are excluded, a commission must be present"; heads "are forbidden to receive business entities in their
offices"; "any meetings with tender winners outside working hours are forbidden".

Rules (each a parameter of `MeetingRules`, defaults documented in docs/conflicts.md):

- `unrecorded_room`: the room does not record video and sound, or (with `require_recording_ref`) the meeting has
  no recording reference;
- `no_commission`: fewer than `min_commission_members` commission members present besides the official;
- `own_office`: the meeting is in the official's own office (officials.office);
- `winner_after_hours`: the company won a tender of the official's body (its award within `award_window_days`
  of the meeting, before or after) and the meeting is outside working hours: a non-working day of Kazakhstan's
  calendar (src/aiqyn/reference/kz_non_working_days.csv), or outside `work_start`-`work_end`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from aiqyn.conflicts.normalize import company_name, fold
from aiqyn.conflicts.registers import ensure_register_tables, insert_rows
from aiqyn.reference.kz_calendar import shipped_non_working_days
from aiqyn.store.schema import SCHEMA

RULES = ("unrecorded_room", "no_commission", "own_office", "winner_after_hours")


@dataclass(frozen=True)
class MeetingRules:
    min_commission_members: int = 2
    require_recording_ref: bool = True
    award_window_days: int = 90
    work_start: dt.time = dt.time(9, 0)
    work_end: dt.time = dt.time(18, 30)

    def __post_init__(self) -> None:
        if self.min_commission_members < 0 or self.award_window_days < 0:
            raise ValueError("min_commission_members and award_window_days must be >= 0")
        if self.work_end <= self.work_start:
            raise ValueError(f"work_end {self.work_end} must be after work_start {self.work_start}")


@dataclass
class Violation:
    meeting_id: str
    rule: str
    official_iin: str
    company_bin: str | None
    evidence: dict[str, Any]


@dataclass
class CheckResult:
    check_id: str
    meetings: int = 0
    violations: list[Violation] = field(default_factory=list)
    winners_checked: bool = True


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchone()[0])  # type: ignore[index]


def outside_hours(start: dt.datetime, end: dt.datetime | None, rules: MeetingRules) -> str | None:
    """Why a meeting is outside working hours, None when it is inside."""
    off = shipped_non_working_days()
    if start.date() in off:
        return f"{start.date()} is a non-working day"
    end = end or start
    if start.time() < rules.work_start or start.time() >= rules.work_end or end.time() > rules.work_end \
            or end.date() != start.date():
        return f"{start:%H:%M}-{end:%H:%M} is outside working hours {rules.work_start:%H:%M}-{rules.work_end:%H:%M}"
    return None


def check(con: duckdb.DuckDBPyConnection, rules: MeetingRules | None = None, store: bool = True) -> CheckResult:
    """Check every meeting of the register; store the violations in `meeting_violations` (replacing earlier
    checks) when `store`."""
    rules = rules or MeetingRules()
    ensure_register_tables(con)
    officials = {iin: (org, office, name) for iin, org, office, name in con.execute(
        "SELECT iin, organisation_bin, office, full_name FROM officials").fetchall()}
    # A company named without its BIN is the one company of the register with that name in any of its languages
    # (legal form and script normalised); a name several companies share stays unresolved.
    named: dict[tuple[str, str | None], set[str]] = {}
    for bin_, *names in con.execute("SELECT bin, name_kk, name_ru, name_latin FROM companies").fetchall():
        for n in names:
            if n:
                named.setdefault(company_name(n), set()).add(bin_)
    by_name = {key: next(iter(bins)) for key, bins in named.items() if len(bins) == 1}
    awards: dict[tuple[str, str], list[tuple[str, dt.date]]] = {}
    winners_checked = _has(con, "awards") and _has(con, "parties")
    if winners_checked:
        for buyer, winner, ocid, day in con.execute("""
            SELECT DISTINCT b.identifier, s.identifier, a.ocid, CAST(a.date AS DATE) FROM awards a
            JOIN award_suppliers x ON x.ocid = a.ocid AND x.award_position = a.position
            JOIN parties s ON s.ocid = x.ocid AND s.party_id = x.party_id
            JOIN processes p ON p.ocid = a.ocid
            JOIN parties b ON b.ocid = p.ocid AND b.party_id = p.buyer_id
            WHERE a.date IS NOT NULL AND coalesce(a.status, 'active') NOT IN ('cancelled', 'unsuccessful')
            """).fetchall():
            awards.setdefault((buyer, winner), []).append((ocid, day))
    result = CheckResult(f"meetings-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
                         winners_checked=winners_checked)
    rows = con.execute("SELECT meeting_id, official_iin, company_bin, company_name, starts_at, ends_at, place, "
                       "recorded, recording_ref, commission_members FROM meetings ORDER BY meeting_id").fetchall()
    for mid, official, company, cname, start, end, place, recorded, ref, members in rows:
        result.meetings += 1
        if company is None and cname:
            company = by_name.get(company_name(cname))
        org, office, name = officials.get(official, (None, None, None))

        def add(rule: str, evidence: dict[str, Any], mid: str = mid, official: str = official,
                company: str | None = company) -> None:
            result.violations.append(Violation(mid, rule, official, company, evidence))

        if not recorded or (rules.require_recording_ref and not ref):
            add("unrecorded_room", {"place": place, "recorded": recorded, "recording_ref": ref})
        present = sorted(set(members or []) - {official})
        if len(present) < rules.min_commission_members:
            add("no_commission", {"present": present, "required": rules.min_commission_members})
        if office and fold(office) and fold(office) in fold(place):
            add("own_office", {"place": place, "official_office": office, "official": name})
        if company and org and (org, company) in awards:
            window = dt.timedelta(days=rules.award_window_days)
            near = [(o, d) for o, d in awards[(org, company)] if abs(d - start.date()) <= window]
            why = outside_hours(start, end, rules) if near else None
            if why:
                add("winner_after_hours", {"why": why, "starts_at": str(start), "ends_at": str(end) if end else None,
                                           "awards": [{"ocid": o, "date": str(d)} for o, d in sorted(near)],
                                           "buyer": org, "window_days": rules.award_window_days})
    if store:
        con.execute(SCHEMA.outputs["meeting_violations"].ddl())
        now = dt.datetime.now(dt.UTC)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM meeting_violations")
            insert_rows(con, "meeting_violations", [
                [result.check_id, v.meeting_id, v.rule, v.official_iin, v.company_bin,
                 json.dumps({**v.evidence, "rules": _rules_json(rules)}, ensure_ascii=False, default=str), now]
                for v in result.violations])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return result


def _rules_json(rules: MeetingRules) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, dt.time) else v for k, v in asdict(rules).items()}
