"""The application database: accounts, organisations, cases, recommendations, citizen reports, the audit log.

SQLAlchemy 2 declarative models; the tables are created and changed only by the Alembic migrations in
`migrations/versions/` (a test checks that the migrations produce exactly these models).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(18, 2)

ROLES = ("analyst", "supervisor", "compliance", "ngo_reviewer")
"""Roles of accounts. `public` is everyone without an account; an `ngo_reviewer` (a reviewer of a
non-governmental organisation) uses only the expertise of draft legal acts."""

DECISIONS = ("confirmed", "rejected")
"""A reviewer's decision on a flag of the expertise of a draft legal act."""

REC_STATUSES = ("draft", "issued", "accepted", "in_execution", "executed", "rejected", "closed")
"""The life of a recommendation to a procuring entity."""

PLAN_STATUSES = ("planned", "in_progress", "done", "cancelled")
"""An item of a Comprehensive plan (anti-corruption plan of an akimat or state body)."""

REPORT_KINDS = ("corruption", "price")
REPORT_STATUSES = ("received", "in_review", "case_opened", "dismissed", "closed")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AppMeta(Base):
    """Key-value settings the application keeps for itself (the generated session key)."""

    __tablename__ = "app_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Organisation(Base):
    """A procuring entity or state body: a recommendation's addressee, a compliance officer's employer.
    `subject_id` is its identity in the analytics store (parties.subject_id, e.g. KZ-BIN-140340012345)."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    region_code: Mapped[str | None] = mapped_column(String(9))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """An account: an analyst or supervisor of the Agency, or a compliance officer of one organisation."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped to end every session of the account (password change, deactivation).
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()


class Case(Base):
    """A finding under follow-up: opened from a flag, a process or a citizen report."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    origin: Mapped[str] = mapped_column(String(20))  # flag, process, report
    ocid: Mapped[str | None] = mapped_column(String(200), index=True)
    flag_code: Mapped[str | None] = mapped_column(String(10))
    flag_subject_type: Mapped[str | None] = mapped_column(String(30))
    flag_subject_id: Mapped[str | None] = mapped_column(String(200))
    flag_run_id: Mapped[str | None] = mapped_column(String(100))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(9))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, closed
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation | None] = relationship()
    created_by: Mapped[User] = relationship()
    recommendations: Mapped[list[Recommendation]] = relationship(back_populates="case", order_by="Recommendation.id")


class Recommendation(Base):
    """A recommendation to a procuring entity, with the money at stake, tracked to its execution and the money
    saved (the Turkistan project office's "41 recommendations, 15 being carried out, 372 million saved")."""

    __tablename__ = "recommendations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(9))
    text: Mapped[str] = mapped_column(Text)
    money_at_stake: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    money_saved: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), default="KZT")
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    executed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    case: Mapped[Case] = relationship(back_populates="recommendations")
    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User] = relationship()
    events: Mapped[list[RecommendationEvent]] = relationship(order_by="RecommendationEvent.id")


class RecommendationEvent(Base):
    """Who did what to a recommendation and when: a change of status, or money saved recorded."""

    __tablename__ = "recommendation_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(ForeignKey("recommendations.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(20))  # status, saving
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    note: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship()


class PlanItem(Base):
    """An item of a Comprehensive plan: what is to be done, by whom (owner), by when; overdue when its deadline has
    passed and it is neither done nor cancelled. East Kazakhstan hears district akims on the plan's execution."""

    __tablename__ = "plan_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(300))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(9))
    deadline: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="planned")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation | None] = relationship()

    def overdue(self, today: dt.date) -> bool:
        return self.deadline < today and self.status in ("planned", "in_progress")


class CitizenReport(Base):
    """A citizen's report of corruption or of an overpriced purchase. The reporter's contact is never shown
    outside the triage page; the follow-up code is kept only as a hash."""

    __tablename__ = "citizen_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    organisation_name: Mapped[str] = mapped_column(String(500), default="")
    region_code: Mapped[str | None] = mapped_column(String(9))
    ocid: Mapped[str | None] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(300), default="")
    follow_up_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="received")
    public_note: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")


class Attachment(Base):
    """A file attached to a citizen report: stored outside the web root under a random name, its type
    detected from its content."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("citizen_reports.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))


class ExpertiseDraft(Base):
    """A draft legal act uploaded for anti-corruption expertise: the original file is kept outside the web root
    under a random name, its analysis (the expertise report's JSON, with stable flag ids) here."""

    __tablename__ = "expertise_drafts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    filename: Mapped[str] = mapped_column(String(255))  # as the uploader named it, for people only
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    fmt: Mapped[str] = mapped_column(String(10))  # text, docx, pdf, html (detected from the content)
    lang: Mapped[str] = mapped_column(String(5))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    flags: Mapped[int] = mapped_column(Integer)
    report_json: Mapped[str] = mapped_column(Text)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    uploaded_by: Mapped[User] = relationship()
    decisions: Mapped[list[ExpertiseDecision]] = relationship(order_by="ExpertiseDecision.id")


class ExpertiseDecision(Base):
    """A reviewer's decision on one flag of a draft's expertise: confirmed or rejected, with a comment. Every
    decision is kept; the latest one on a flag counts (the precision of each factor is measured from them)."""

    __tablename__ = "expertise_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("expertise_drafts.id"), index=True)
    flag_id: Mapped[str] = mapped_column(String(200))
    factor: Mapped[str] = mapped_column(String(20), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    reviewer: Mapped[User] = relationship()


class AuditEntry(Base):
    """One change, in an append-only, hash-chained log: `hash` = SHA-256 of the previous entry's hash and this
    entry's content, so an edit, an insertion or a deletion anywhere but the end breaks the chain
    (`aiqyn audit verify`); the head hash, published elsewhere, covers the end."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO 8601 UTC, hashed as written
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(200))
    data: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Meeting(Base):
    """An official's meeting with a business, recorded in the application by a compliance officer of the
    official's organisation (or an analyst). The analytics store receives it through the meetings register
    importer (`aiqyn meetings import --app-db`, its meeting_id is `register_id`); `aiqyn meetings check` finds the
    rule violations there, and the pages read them back. `starts_at`/`ends_at` are local time (Astana), without a
    zone, as the register keeps them; `commission_members` the IINs present besides the official, JSON."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    official_iin: Mapped[str] = mapped_column(String(12), index=True)
    official_name: Mapped[str] = mapped_column(String(300), default="")
    company_bin: Mapped[str | None] = mapped_column(String(12))
    company_name: Mapped[str] = mapped_column(String(500), default="")
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), index=True)
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    place: Mapped[str] = mapped_column(String(300))
    recorded: Mapped[bool] = mapped_column(Boolean)
    recording_ref: Mapped[str | None] = mapped_column(String(200))
    commission_members: Mapped[str] = mapped_column(Text, default="[]")
    subject: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    recorded_by: Mapped[User] = relationship()

    @property
    def register_id(self) -> str:
        """The meeting's id in the analytics store's register (meetings.meeting_id)."""
        return f"app-{self.id}"
