"""Expertise of draft legal acts in the application: an uploaded draft is kept (the file outside the web root
under a random name, its report's JSON in the application database), reviewers confirm or reject its flags,
and the decisions measure each factor's precision. The analysis itself is `aiqyn.expertise.analyse`.
No web imports: the routes call these functions.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiqyn.expertise import Document, DraftError, Flag, Provision, Report, Trigger, analyse, to_dict
from aiqyn.web import audit
from aiqyn.web.auth import Principal
from aiqyn.web.models import DECISIONS, ExpertiseDecision, ExpertiseDraft, utcnow
from aiqyn.web.services import Refused, write_private

SUBDIR = "expertise"


def _safe_name(name: str) -> str:
    """The uploader's file name, for people only: no directories, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:255] or "draft"


def _store(stream: BinaryIO, directory: Path, max_bytes: int) -> tuple[Path, int, str]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / secrets.token_hex(16)
    size, digest = write_private(path, b"", stream, max_bytes, f"a draft may be at most {max_bytes / 1e6:.0f} MB")
    return path, size, digest


def submit(db: Session, who: Principal, *, stream: BinaryIO, filename: str, upload_dir: Path,
           max_bytes: int) -> ExpertiseDraft:
    """Store a draft, analyse it (its type is recognised by its content, never by its name) and keep the report.
    Refused with the parser's reason when the draft cannot be read; nothing is kept then."""
    if who.user is None or not who.can("expertise.review"):
        raise Refused("only reviewers upload drafts", 403)
    name = _safe_name(filename)
    path, size, digest = _store(stream, upload_dir / SUBDIR, max_bytes)
    try:
        if size == 0:
            raise Refused(f"{name}: the file is empty", 422)
        try:
            report = analyse(path)  # a Path without a suffix: the parser looks at the content
        except DraftError as exc:
            raise Refused(str(exc).replace(str(path), name), 422) from None
        report.document.source = name
        draft = ExpertiseDraft(title=(report.document.title or name)[:500], filename=name, stored_name=path.name,
                               fmt=report.document.fmt, lang=report.document.lang, size=size, sha256=digest,
                               flags=len(report.flags), report_json=json.dumps(to_dict(report), ensure_ascii=False),
                               uploaded_by_id=who.user.id)
        db.add(draft)
        db.flush()
        audit.record(db, who.name, "expertise.upload", "expertise_draft", draft.id,
                     {"filename": name, "sha256": digest, "format": draft.fmt, "flags": draft.flags})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return draft


def report_of(draft: ExpertiseDraft) -> Report:
    """The stored report, rebuilt from its JSON (the same flag ids as when it was analysed)."""
    data = json.loads(draft.report_json)
    d = data["document"]
    provisions = [Provision(id=p["id"], label=p["label"], text=p["text"], lang=p["lang"], article=p["article"],
                            lead=p["lead"], article_text=p["article_text"]) for p in data["provisions"]]
    document = Document(title=d["title"], lang=d["lang"], provisions=provisions, source=d["source"],
                        sha256=d["sha256"], fmt=d["format"])
    flags = [Flag(id=f["id"], factor=f["factor"], provision_id=f["provision_id"],
                  triggers=[Trigger(**t) for t in f["triggers"]], explanation=f["explanation"], remedy=f["remedy"],
                  weight=f["weight"]) for f in data["flags"]]
    return Report(document=document, flags=flags, factors=data["factors"], tool_version=data["tool_version"])


def latest_decisions(draft: ExpertiseDraft) -> dict[str, ExpertiseDecision]:
    """flag id -> the latest decision on it."""
    out: dict[str, ExpertiseDecision] = {}
    for d in draft.decisions:  # in order of id
        out[d.flag_id] = d
    return out


def decide(db: Session, who: Principal, draft: ExpertiseDraft, *, flag_id: str, decision: str,
           comment: str = "") -> ExpertiseDecision:
    if who.user is None or not who.can("expertise.review"):
        raise Refused("only reviewers decide on flags", 403)
    if decision not in DECISIONS:
        raise Refused(f"decision: one of {', '.join(DECISIONS)}", 422)
    flag = next((f for f in json.loads(draft.report_json)["flags"] if f["id"] == flag_id), None)
    if flag is None:
        raise Refused(f"no flag {flag_id!r} in this draft's report", 404)
    previous = latest_decisions(draft).get(flag_id)
    row = ExpertiseDecision(draft_id=draft.id, flag_id=flag_id, factor=flag["factor"], decision=decision,
                            comment=comment.strip()[:5000], reviewer_id=who.user.id, at=utcnow())
    db.add(row)
    db.flush()
    audit.record(db, who.name, "expertise.decide", "expertise_draft", draft.id,
                 {"flag_id": flag_id, "factor": row.factor, "decision": decision, "comment": row.comment,
                  "before": previous.decision if previous else None})
    db.expire(draft, ["decisions"])
    return row


@dataclass
class FactorPrecision:
    factor: str
    flags: int  # flags raised on the drafts kept
    confirmed: int
    rejected: int

    @property
    def decided(self) -> int:
        return self.confirmed + self.rejected

    @property
    def precision(self) -> float | None:
        """confirmed / (confirmed + rejected); None before any decision."""
        return self.confirmed / self.decided if self.decided else None


def precision_by_factor(db: Session) -> list[FactorPrecision]:
    """Per factor: the flags raised on every draft kept, and the latest decision on each flag counted."""
    rows: dict[str, FactorPrecision] = {}
    for (report_json,) in db.execute(select(ExpertiseDraft.report_json)):
        for f in json.loads(report_json)["flags"]:
            rows.setdefault(f["factor"], FactorPrecision(f["factor"], 0, 0, 0)).flags += 1
    latest: dict[tuple[int, str], ExpertiseDecision] = {}
    for d in db.execute(select(ExpertiseDecision).order_by(ExpertiseDecision.id)).scalars():
        latest[(d.draft_id, d.flag_id)] = d
    for d in latest.values():
        row = rows.setdefault(d.factor, FactorPrecision(d.factor, 0, 0, 0))
        if d.decision == "confirmed":
            row.confirmed += 1
        else:
            row.rejected += 1
    return [rows[k] for k in sorted(rows)]


def factor_names(db: Session) -> dict[str, dict[str, Any]]:
    """The factors' metadata as the newest stored report has it (names in ru/en/kk)."""
    row = db.execute(select(ExpertiseDraft.report_json).order_by(ExpertiseDraft.id.desc()).limit(1)).first()
    return json.loads(row[0])["factors"] if row else {}
