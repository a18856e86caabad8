"""Citizen reports: a corruption or price report, anonymous or not, with photos or videos, and a follow-up code.

Attachments are checked by their content (magic numbers), never by their name, limited in size, and stored
outside the web root under random names. The follow-up code is shown once and kept only as a SHA-256 hash.
No web imports: the routes call these functions.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from aiqyn.web import audit
from aiqyn.web.auth import Principal
from aiqyn.web.models import REPORT_KINDS, REPORT_STATUSES, Attachment, Case, CitizenReport, Organisation, utcnow
from aiqyn.web.services import Refused, write_private

MAX_FILES = 5
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or copied by hand


def sniff(head: bytes) -> str | None:
    """The media type of an image or a video from its first bytes; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
        if brand == b"qt  ":
            return "video/quicktime"
        if brand[:2] == b"3g":
            return "video/3gpp"
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    return None


@dataclass
class Upload:
    """A file as received: its stream (the name given by the client is ignored)."""

    stream: BinaryIO


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def code_hash(code: str) -> str:
    normal = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def _store_file(upload: Upload, directory: Path, max_bytes: int) -> tuple[str, str, int, str]:
    directory.mkdir(parents=True, exist_ok=True)
    head = upload.stream.read(32)
    kind = sniff(head)
    if kind is None:
        raise Refused("an attachment must be a photo (JPEG, PNG, GIF, WebP, HEIC) or a video (MP4, MOV, WebM, AVI)",
                      422)
    name = secrets.token_hex(16)
    path = directory / name
    size, digest = write_private(path, head, upload.stream, max_bytes,
                                 f"an attachment may be at most {max_bytes / 1e6:.0f} MB")
    return name, kind, size, digest


def submit(db: Session, *, kind: str, text: str, organisation_name: str = "", region_code: str | None = None,
           ocid: str | None = None, contact: str = "", uploads: Iterable[Upload] = (), upload_dir: Path,
           max_bytes: int) -> tuple[CitizenReport, str]:
    """Store a report and its attachments; return it and its follow-up code (shown once, never stored)."""
    if kind not in REPORT_KINDS:
        raise Refused(f"kind: one of {', '.join(REPORT_KINDS)}", 422)
    if len(text.strip()) < 10:
        raise Refused("describe what happened (at least 10 characters)", 422)
    files = list(uploads)
    if len(files) > MAX_FILES:
        raise Refused(f"at most {MAX_FILES} attachments", 422)
    code = new_code()
    report = CitizenReport(kind=kind, text=text.strip(), organisation_name=organisation_name.strip()[:500],
                           region_code=region_code or None, ocid=(ocid or "").strip() or None,
                           contact=contact.strip()[:300], follow_up_hash=code_hash(code), status="received")
    db.add(report)
    db.flush()
    stored: list[Path] = []
    try:
        for upload in files:
            name, media, size, digest = _store_file(upload, upload_dir, max_bytes)
            stored.append(upload_dir / name)
            db.add(Attachment(report_id=report.id, stored_name=name, content_type=media, size=size, sha256=digest))
        db.flush()
        # The reporter is never named in the log: no contact, no text.
        audit.record(db, "anonymous", "report.submit", "citizen_report", report.id,
                     {"kind": kind, "attachments": len(files)})
    except BaseException:
        for path in stored:
            path.unlink(missing_ok=True)
        raise
    return report, code


def by_code(db: Session, code: str) -> CitizenReport | None:
    return db.execute(select(CitizenReport).where(CitizenReport.follow_up_hash == code_hash(code))).scalar_one_or_none()


def public_status(report: CitizenReport) -> dict[str, Any]:
    """What the reporter sees with the code: never anyone's identity."""
    return {"kind": report.kind, "status": report.status, "note": report.public_note,
            "received": report.created_at, "updated": report.updated_at}


def triage(db: Session, who: Principal, report: CitizenReport, *, status: str | None = None,
           public_note: str | None = None) -> None:
    if who.user is None or not who.can("reports.triage"):
        raise Refused("only analysts and supervisors triage reports", 403)
    if status is not None and status not in REPORT_STATUSES:
        raise Refused(f"status: one of {', '.join(REPORT_STATUSES)}", 422)
    before = {"status": report.status, "public_note": report.public_note}
    if status is not None:
        report.status = status
    if public_note is not None:
        report.public_note = public_note.strip()[:5000]
    report.updated_at = utcnow()
    audit.record(db, who.name, "report.triage", "citizen_report", report.id,
                 {"before": before, "after": {"status": report.status, "public_note": report.public_note}})


def open_case(db: Session, who: Principal, report: CitizenReport, title: str,
              organisation: Organisation | None, ocid: str | None = None) -> Case:
    from aiqyn.web import services

    if report.case_id is not None:
        raise Refused(f"this report is already case {report.case_id}", 409)
    case = services.open_case(db, who, title=title or f"Citizen report {report.id}", origin="report",
                              organisation=organisation, ocid=ocid, region_code=report.region_code,
                              summary=report.text)
    report.case_id = case.id
    triage(db, who, report, status="case_opened")
    return case
