"""The meetings register's application side: officials' meetings with businesses recorded by the compliance officer
of the official's organisation, their export to the analytics store's register, and the rule violations read back.

The application computes no violation. The flow is the analytics' own: the recorded meetings go to the store
through the register importer (`aiqyn meetings import --app-db URL`, which writes them in the importer's CSV
format first, `export_csv`), `aiqyn meetings check` finds the violations of the Astana rules there
(`aiqyn.conflicts.meetings`), and the pages read them (`read_violations`) next to each meeting. What the
application checks is the form itself: dates, IIN and BIN (12 digits, check digit), the fields required.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aiqyn.conflicts.registers import parse_id
from aiqyn.web import audit
from aiqyn.web.analytics import Analytics
from aiqyn.web.auth import Principal
from aiqyn.web.models import Meeting, Organisation
from aiqyn.web.services import Refused

RULES = ("unrecorded_room", "no_commission", "own_office", "winner_after_hours")
"""The rules `aiqyn meetings check` applies (aiqyn.conflicts.meetings.RULES), in the order the pages list them."""

RECORDERS = frozenset({"compliance"})
"""Who records meetings: the compliance officer of the official's organisation (PERMISSIONS["meeting.record"])."""

# The columns of the meetings register, as `aiqyn meetings import` reads them (docs/conflicts.md).
CSV_COLUMNS = ("meeting_id", "official_iin", "company_bin", "company_name", "starts_at", "ends_at", "place",
               "recorded", "recording_ref", "commission_members", "subject")


@dataclass
class MeetingForm:
    """A meeting as entered: every field text, as a form or a JSON body gives it."""

    official_iin: str
    starts_at: str
    place: str
    recorded: bool
    official_name: str = ""
    company_bin: str = ""
    company_name: str = ""
    ends_at: str = ""
    recording_ref: str = ""
    commission_members: str | list[str] = ""
    subject: str = ""


@dataclass
class FormErrors(Exception):
    """The fields of a meeting that are wrong, each with why (field -> reason)."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


def _datetime(text: str) -> dt.datetime:
    text = text.strip()
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)") from None
    if value.tzinfo is not None:
        raise ValueError(f"{text!r}: give the local time of Astana, without a zone")
    if not dt.datetime(2000, 1, 1) <= value <= dt.datetime(2100, 1, 1):
        raise ValueError(f"{text!r} is not between 2000 and 2100")
    return value.replace(second=0, microsecond=0)


def _members(value: str | list[str]) -> list[str]:
    parts = value if isinstance(value, list) else re.split(r"[;,\s]+", value)
    return [p.strip() for p in parts if p and p.strip()]


def validate(form: MeetingForm) -> dict[str, Any]:
    """The meeting's values, or FormErrors naming every field at fault."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def check(name: str, parse: Any, value: Any) -> None:
        try:
            out[name] = parse(value)
        except ValueError as e:
            errors[name] = str(e)

    check("official_iin", lambda t: parse_id(t, "IIN"), form.official_iin)
    out["official_name"] = form.official_name.strip()[:300]
    bin_ = form.company_bin.strip()
    if bin_:
        check("company_bin", lambda t: parse_id(t, "BIN"), bin_)
    else:
        out["company_bin"] = None
    out["company_name"] = form.company_name.strip()[:500]
    if not bin_ and not out["company_name"]:
        errors["company_bin"] = "missing: a meeting needs the company's BIN or its name"
    check("starts_at", _datetime, form.starts_at)
    out["ends_at"] = None
    if form.ends_at.strip():
        check("ends_at", _datetime, form.ends_at)
        if out.get("ends_at") and out.get("starts_at") and out["ends_at"] < out["starts_at"]:
            errors["ends_at"] = f"{out['ends_at']:%Y-%m-%d %H:%M} is before the start {out['starts_at']:%Y-%m-%d %H:%M}"
    out["place"] = form.place.strip()[:300]
    if not out["place"]:
        errors["place"] = "missing: where the meeting was held (room, floor, address)"
    out["recorded"] = bool(form.recorded)
    out["recording_ref"] = form.recording_ref.strip()[:200] or None
    members: list[str] = []
    for i, m in enumerate(_members(form.commission_members)):
        try:
            members.append(parse_id(m, "IIN"))
        except ValueError as e:
            errors["commission_members"] = f"member {i + 1}: {e}"
            break
    if out.get("official_iin") in members:
        members.remove(out["official_iin"])  # the official is not a member of the commission that watches them
    out["commission_members"] = sorted(set(members))
    out["subject"] = form.subject.strip()[:5000]
    if errors:
        raise FormErrors(errors)
    return out


def record(db: Session, who: Principal, form: MeetingForm, organisation: Organisation) -> Meeting:
    """Record a meeting of `organisation`'s official, with its audit entry (the caller commits)."""
    if who.role not in RECORDERS:
        raise Refused(f"a {who.role} does not record meetings", 403)
    if who.organisation_id != organisation.id:
        raise Refused("a compliance officer records only the meetings of their own organisation", 403)
    values = validate(form)
    assert who.user is not None
    meeting = Meeting(organisation_id=organisation.id, recorded_by_id=who.user.id,
                      commission_members=json.dumps(values.pop("commission_members")), **values)
    db.add(meeting)
    db.flush()
    # The entry names the meeting, not the official: the audit log is kept forever and cannot be edited.
    audit.record(db, who.name, "meeting.record", "meeting", meeting.id, {
        "register_id": meeting.register_id, "organisation": organisation.subject_id,
        "company_bin": meeting.company_bin, "starts_at": meeting.starts_at.isoformat(), "recorded": meeting.recorded})
    return meeting


def members_of(meeting: Meeting) -> list[str]:
    return list(json.loads(meeting.commission_members or "[]"))


def listing(db: Session, who: Principal, *, organisation_id: int | None = None, date_from: dt.date | None = None,
            date_to: dt.date | None = None, limit: int = 1000) -> list[Meeting]:
    """Meetings, newest first; a compliance officer's only of their organisation."""
    q = select(Meeting).order_by(Meeting.starts_at.desc(), Meeting.id.desc())
    if who.organisation_id is not None:
        q = q.where(Meeting.organisation_id == who.organisation_id)
    elif organisation_id is not None:
        q = q.where(Meeting.organisation_id == organisation_id)
    if date_from:
        q = q.where(Meeting.starts_at >= dt.datetime.combine(date_from, dt.time()))
    if date_to:
        q = q.where(Meeting.starts_at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time()))
    return list(db.execute(q.limit(limit)).scalars())


def visible(who: Principal, meeting: Meeting | None) -> bool:
    return meeting is not None and (who.organisation_id is None or meeting.organisation_id == who.organisation_id)


# -- the analytics store: export to its register, read its violations --------------------------------------------
def export_csv(engine: Engine, out: Path) -> int:
    """Write every recorded meeting in the register's CSV format (lists separated by ';'); the number written."""
    from sqlalchemy.orm import Session as OrmSession

    n = 0
    with OrmSession(engine) as db, out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for m in db.execute(select(Meeting).order_by(Meeting.id)).scalars():
            w.writerow([m.register_id, m.official_iin, m.company_bin or "", m.company_name,
                        f"{m.starts_at:%Y-%m-%d %H:%M}", f"{m.ends_at:%Y-%m-%d %H:%M}" if m.ends_at else "",
                        m.place, "true" if m.recorded else "false", m.recording_ref or "",
                        ";".join(members_of(m)), m.subject])
            n += 1
    return n


@dataclass
class StoreView:
    """What the analytics store says of some meetings: which are in its register, their violations, the officials
    of the register (iin -> name, position, organisation BIN, office)."""

    imported: set[str] = field(default_factory=set)
    violations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    checked_at: dt.datetime | None = None
    has_register: bool = False


def read_violations(analytics: Analytics | None, register_ids: list[str]) -> StoreView:
    """The store's meetings register and `meeting_violations` rows of these meetings (read, never computed)."""
    view = StoreView()
    if analytics is None or not register_ids:
        return view
    tables = analytics.tables
    if "meetings" in tables:
        view.has_register = True
        view.imported = {r["meeting_id"] for r in analytics.query(
            "SELECT meeting_id FROM meetings WHERE meeting_id IN (SELECT unnest($ids::VARCHAR[]))",
            {"ids": register_ids})}
    if "meeting_violations" in tables:
        for r in analytics.query(
                "SELECT meeting_id, rule, company_bin, evidence, checked_at, check_id FROM meeting_violations "
                "WHERE meeting_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY meeting_id, rule",
                {"ids": register_ids}):
            try:
                evidence = json.loads(r["evidence"] or "{}")
            except ValueError:
                evidence = {"text": r["evidence"]}
            if isinstance(evidence, dict):
                evidence.pop("rules", None)  # the thresholds of the check, the same for every row
            r["evidence"] = evidence
            view.violations.setdefault(r["meeting_id"], []).append(r)
            if view.checked_at is None or r["checked_at"] > view.checked_at:
                view.checked_at = r["checked_at"]
    return view


def officials_of(analytics: Analytics | None, organisation_subject: str | None) -> list[dict[str, Any]]:
    """The officials of an organisation in the store's register of officials (for the form's suggestions)."""
    if analytics is None or not organisation_subject or "officials" not in analytics.tables:
        return []
    bin_ = organisation_subject.removeprefix("KZ-BIN-")
    return analytics.query("SELECT iin, full_name, position, office FROM officials WHERE organisation_bin = $bin "
                           "ORDER BY full_name LIMIT 500", {"bin": bin_})
