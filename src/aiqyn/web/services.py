"""Cases, recommendations and their life: the rules, independent of the web layer (no FastAPI imports).

Every change writes its audit entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiqyn.web import audit
from aiqyn.web.auth import STAFF, WORKBENCH, Principal
from aiqyn.web.models import (
    PLAN_STATUSES,
    Case,
    Organisation,
    PlanItem,
    Recommendation,
    RecommendationEvent,
    utcnow,
)

SUPERVISOR = frozenset({"supervisor"})

# from status -> to status -> the roles that may make the change
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "draft": {"issued": SUPERVISOR, "closed": STAFF},
    "issued": {"accepted": WORKBENCH, "rejected": WORKBENCH, "closed": SUPERVISOR},
    "accepted": {"in_execution": WORKBENCH, "rejected": WORKBENCH},
    "in_execution": {"executed": WORKBENCH},
    "executed": {"closed": SUPERVISOR},
    "rejected": {"closed": SUPERVISOR},
    "closed": {},
}
SAVING_STATUSES = frozenset({"accepted", "in_execution", "executed", "closed"})


class Refused(Exception):
    """A change the rules do not allow; `status` is the HTTP status that says why (403, 409 or 422)."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def write_private(path: Path, head: bytes, stream: BinaryIO, max_bytes: int, too_big: str) -> tuple[int, str]:
    """Write an upload (`head`, then the rest of `stream`) to a new file readable by its owner only; (size, sha256).

    Beyond `max_bytes` the file is removed and Refused(`too_big`, 413) raised; nothing half-written stays."""
    digest, size = hashlib.sha256(head), len(head)
    try:
        with path.open("xb") as out:
            out.write(head)
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise Refused(too_big, 413)
                digest.update(chunk)
                out.write(chunk)
        path.chmod(0o600)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()


def money(value: Any) -> Decimal:
    """An amount of tenge from user input: non-negative, at most two decimals."""
    try:
        amount = Decimal(str(value).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except (InvalidOperation, ValueError):
        raise Refused(f"not an amount: {value!r}", 422) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e16"):
        raise Refused(f"an amount must be between 0 and 10^16: {value!r}", 422)
    return amount.quantize(Decimal("0.01"))


def organisation(db: Session, subject_id: str, name: str, region_code: str | None = None) -> Organisation:
    """The organisation with this identity, registered on first use."""
    org = db.execute(select(Organisation).where(Organisation.subject_id == subject_id)).scalar_one_or_none()
    if org is None:
        org = Organisation(subject_id=subject_id, name=name or subject_id, region_code=region_code)
        db.add(org)
        db.flush()
    return org


def open_case(db: Session, who: Principal, *, title: str, origin: str, organisation: Organisation | None,
              ocid: str | None = None, region_code: str | None = None, summary: str = "",
              flag: dict[str, str] | None = None) -> Case:
    if who.user is None or not who.can("case.create"):
        raise Refused("only analysts and supervisors open cases", 403)
    if not title.strip():
        raise Refused("a case needs a title", 422)
    flag = flag or {}
    case = Case(title=title.strip()[:500], origin=origin, ocid=ocid, organisation=organisation,
                region_code=region_code or (organisation.region_code if organisation else None),
                summary=summary, status="open", created_by_id=who.user.id,
                flag_code=flag.get("code"), flag_subject_type=flag.get("subject_type"),
                flag_subject_id=flag.get("subject_id"), flag_run_id=flag.get("run_id"))
    db.add(case)
    db.flush()
    audit.record(db, who.name, "case.open", "case", case.id,
                 {"title": case.title, "origin": origin, "ocid": ocid, "flag": flag or None,
                  "organisation": organisation.subject_id if organisation else None})
    return case


def add_recommendation(db: Session, who: Principal, case: Case, *, text: str, money_at_stake: Any,
                       due_date: dt.date | None = None, organisation: Organisation | None = None) -> Recommendation:
    if who.user is None or not who.can("recommendation.create"):
        raise Refused("only analysts and supervisors write recommendations", 403)
    org = organisation or case.organisation
    if org is None:
        raise Refused("a recommendation is addressed to an organisation; the case has none", 422)
    if not text.strip():
        raise Refused("a recommendation needs its text", 422)
    rec = Recommendation(case=case, organisation=org, region_code=case.region_code or org.region_code,
                         text=text.strip(), money_at_stake=money(money_at_stake), money_saved=Decimal(0),
                         currency="KZT", status="draft", due_date=due_date, created_by_id=who.user.id)
    db.add(rec)
    db.flush()
    db.add(RecommendationEvent(recommendation_id=rec.id, user_id=who.user.id, kind="status", from_status=None,
                               to_status="draft", note=""))
    audit.record(db, who.name, "recommendation.create", "recommendation", rec.id,
                 {"case": case.id, "organisation": org.subject_id, "money_at_stake": str(rec.money_at_stake),
                  "text": rec.text})
    return rec


def allowed_transitions(who: Principal, rec: Recommendation) -> list[str]:
    return [to for to, roles in TRANSITIONS[rec.status].items() if who.role in roles]


def change_status(db: Session, who: Principal, rec: Recommendation, to: str, note: str = "") -> RecommendationEvent:
    if to not in TRANSITIONS:
        raise Refused(f"unknown status {to!r}", 422)
    if who.user is None:
        raise Refused("sign in first", 403)
    if who.organisation_id is not None and who.organisation_id != rec.organisation_id:
        raise Refused("this recommendation is addressed to another organisation", 403)
    roles = TRANSITIONS[rec.status].get(to)
    if roles is None:
        raise Refused(f"a recommendation that is {rec.status} cannot become {to}", 409)
    if who.role not in roles:
        raise Refused(f"a {who.role} cannot make a recommendation {to}", 403)
    before = rec.status
    now = utcnow()
    rec.status, rec.updated_at = to, now
    if to == "issued":
        rec.issued_at = now
    if to == "executed":
        rec.executed_at = now
    event = RecommendationEvent(recommendation_id=rec.id, user_id=who.user.id, kind="status", from_status=before,
                                to_status=to, note=note.strip(), at=now)
    db.add(event)
    db.flush()
    audit.record(db, who.name, "recommendation.status", "recommendation", rec.id,
                 {"from": before, "to": to, "note": note.strip()})
    return event


def record_saving(db: Session, who: Principal, rec: Recommendation, amount: Any, note: str = "") -> RecommendationEvent:
    """Money saved by the recommendation's execution (added to what was recorded before)."""
    if who.user is None or not who.can("saving.record"):
        raise Refused("only analysts and supervisors record money saved", 403)
    if rec.status not in SAVING_STATUSES:
        raise Refused(f"money saved is recorded once a recommendation is accepted; this one is {rec.status}", 409)
    value = money(amount)
    if value == 0:
        raise Refused("the amount saved must be more than zero", 422)
    rec.money_saved = (rec.money_saved or Decimal(0)) + value
    rec.updated_at = utcnow()
    event = RecommendationEvent(recommendation_id=rec.id, user_id=who.user.id, kind="saving", amount=value,
                                note=note.strip(), from_status=rec.status, to_status=rec.status)
    db.add(event)
    db.flush()
    audit.record(db, who.name, "recommendation.saving", "recommendation", rec.id,
                 {"amount": str(value), "total": str(rec.money_saved), "note": note.strip()})
    return event


def close_case(db: Session, who: Principal, case: Case) -> None:
    if who.user is None or not who.can("case.create"):
        raise Refused("only analysts and supervisors close cases", 403)
    open_recs = [r.id for r in case.recommendations if r.status not in ("closed", "rejected", "executed")]
    if open_recs:
        raise Refused(f"recommendations still open: {', '.join(map(str, open_recs))}", 409)
    case.status, case.closed_at = "closed", utcnow()
    audit.record(db, who.name, "case.close", "case", case.id, {})


def _quarter(when: dt.datetime) -> str:
    return f"{when.year}-Q{(when.month - 1) // 3 + 1}"


def dashboard(db: Session, *, region: str | None = None, year: int | None = None,
              organisation_id: int | None = None) -> dict[str, Any]:
    """Recommendations issued, in execution, executed, and the money saved, in total, by region and by quarter.

    A recommendation counts from the day it was issued; drafts are not counted."""
    q = select(Recommendation).where(Recommendation.issued_at.is_not(None))
    if organisation_id is not None:
        q = q.where(Recommendation.organisation_id == organisation_id)
    recs = [r for r in db.execute(q).scalars()
            if (region is None or (r.region_code or "")[:2] == region[:2])
            and (year is None or (r.issued_at is not None and r.issued_at.year == year))]

    def figures(rows: list[Recommendation]) -> dict[str, Any]:
        return {
            "issued": len(rows),
            "accepted": sum(r.status == "accepted" for r in rows),
            "in_execution": sum(r.status == "in_execution" for r in rows),
            "executed": sum(r.executed_at is not None for r in rows),
            "rejected": sum(r.status == "rejected" for r in rows),
            "money_at_stake": sum((r.money_at_stake for r in rows), Decimal(0)),
            "money_saved": sum((r.money_saved for r in rows), Decimal(0)),
        }

    by_region: dict[str, list[Recommendation]] = defaultdict(list)
    by_period: dict[str, list[Recommendation]] = defaultdict(list)
    for r in recs:
        by_region[(r.region_code or "")[:2] + "0000000" if r.region_code else ""].append(r)
        assert r.issued_at is not None
        by_period[_quarter(r.issued_at)].append(r)
    drafts = select(Recommendation.id).where(Recommendation.status == "draft")
    if organisation_id is not None:
        drafts = drafts.where(Recommendation.organisation_id == organisation_id)
    return {
        "total": figures(recs),
        "drafts": len(db.execute(drafts).all()),
        "by_region": [{"region": k, **figures(v)} for k, v in sorted(by_region.items(), key=lambda kv: kv[0])],
        "by_period": [{"period": k, **figures(v)} for k, v in sorted(by_period.items())],
    }


# -- plan items of a Comprehensive plan ---------------------------------------------------------------------
def add_plan_item(db: Session, who: Principal, *, plan: str, title: str, owner: str, deadline: dt.date,
                  organisation: Organisation | None = None, region_code: str | None = None) -> PlanItem:
    if who.user is None or not who.can("plan.edit"):
        raise Refused("only supervisors write the plan", 403)
    if not (plan.strip() and title.strip() and owner.strip()):
        raise Refused("a plan item needs its plan, what is to be done and its owner", 422)
    region = region_code or (organisation.region_code if organisation else None)
    item = PlanItem(plan=plan.strip()[:300], title=title.strip(), owner=owner.strip()[:300], deadline=deadline,
                    organisation=organisation, region_code=region, status="planned", note="",
                    created_by_id=who.user.id)
    db.add(item)
    db.flush()
    audit.record(db, who.name, "plan.create", "plan_item", item.id,
                 {"plan": item.plan, "title": item.title, "owner": item.owner, "deadline": deadline.isoformat(),
                  "organisation": organisation.subject_id if organisation else None})
    return item


def set_plan_status(db: Session, who: Principal, item: PlanItem, status: str, note: str = "") -> None:
    if status not in PLAN_STATUSES:
        raise Refused(f"status: one of {', '.join(PLAN_STATUSES)}", 422)
    if who.user is None or not who.can("plan.update"):
        raise Refused("sign in first", 403)
    if who.organisation_id is not None and item.organisation_id != who.organisation_id:
        raise Refused("this item belongs to another organisation", 403)
    if status == "cancelled" and who.role != "supervisor":
        raise Refused("only a supervisor cancels a plan item", 403)
    before = item.status
    item.status, item.updated_at = status, utcnow()
    item.done_at = item.updated_at if status == "done" else None
    if note.strip():
        item.note = note.strip()[:5000]
    audit.record(db, who.name, "plan.status", "plan_item", item.id,
                 {"from": before, "to": status, "note": note.strip()})
