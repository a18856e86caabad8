"""Accounts, roles and what each role may do; passwords hashed with argon2; sessions in a signed cookie; CSRF.

Roles: `analyst` and `supervisor` of the Agency, `compliance` (a compliance officer of one organisation, who
sees only that organisation), `ngo_reviewer` (a reviewer of a non-governmental organisation, who uses only the
expertise of draft legal acts), and `public` (no account). PERMISSIONS is the one table of who may do what; the
authorization-matrix test checks every route against it.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from aiqyn.web.models import ROLES, Organisation, User

PUBLIC = "public"
STAFF = frozenset({"analyst", "supervisor"})
SIGNED_IN = frozenset(ROLES)
WORKBENCH = frozenset({"analyst", "supervisor", "compliance"})  # the procurement workbench's roles
REVIEWERS = frozenset({*STAFF, "ngo_reviewer"})  # who uploads drafts for expertise and reviews their flags
EVERYONE = frozenset({*ROLES, PUBLIC})

PERMISSIONS: dict[str, frozenset[str]] = {
    "portal.view": EVERYONE,
    "report.submit": EVERYONE,
    "queue.view": WORKBENCH,  # a compliance officer sees only the organisation's processes
    "process.view": WORKBENCH,
    "party.view": WORKBENCH,
    "case.view": WORKBENCH,  # a compliance officer sees only the organisation's cases
    "case.create": STAFF,
    "recommendation.create": STAFF,
    "recommendation.issue": frozenset({"supervisor"}),
    "recommendation.respond": WORKBENCH,  # accepted, in execution, executed, rejected
    "recommendation.close": frozenset({"supervisor"}),
    "saving.record": STAFF,
    "dashboard.view": WORKBENCH,
    "reports.triage": STAFF,
    "audit.view": frozenset({"supervisor"}),
    "plan.view": WORKBENCH,  # a compliance officer sees only the organisation's items
    "plan.edit": frozenset({"supervisor"}),
    "plan.update": WORKBENCH,  # the status of an item (a compliance officer: the organisation's)
    "accountability.view": frozenset({"supervisor"}),  # the accountability register, public-control findings
    "expertise.review": REVIEWERS,  # upload a draft, read its report, confirm or reject its flags, the summary
    "meeting.view": WORKBENCH,  # the meetings register (a compliance officer: the organisation's meetings)
    "meeting.record": frozenset({"compliance"}),  # the official's organisation records its meetings
}

_hasher = PasswordHasher()  # argon2id, RFC 9106's second recommended profile: t=3, m=64 MiB, p=4


def set_hash_cost(time_cost: int, memory_kib: int, parallelism: int = 1) -> None:
    """Cheaper argon2 parameters (for the test suite, which signs in hundreds of times); hashes made with other
    parameters still verify, and are rehashed on the next sign-in."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(user: User) -> bool:
    return _hasher.check_needs_rehash(user.password_hash)


# A hash to verify against when the user does not exist, so that the answer takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def authenticate(db: Session, username: str, password: str) -> User | None:
    user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    return user if check_password(user, password) else None


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user or the public."""

    user: User | None

    @property
    def role(self) -> str:
        return self.user.role if self.user else PUBLIC

    @property
    def organisation_id(self) -> int | None:
        """The one organisation a compliance officer is confined to; None for everyone else."""
        return self.user.organisation_id if self.user and self.user.role == "compliance" else None

    @property
    def name(self) -> str:
        return self.user.username if self.user else "anonymous"

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def create_user(db: Session, username: str, password: str, role: str, full_name: str = "",
                organisation: Organisation | None = None) -> User:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role == "compliance" and organisation is None:
        raise ValueError("a compliance officer belongs to one organisation (--org BIN or subject id)")
    if len(password) < 10:
        raise ValueError("a password needs at least 10 characters")
    if db.execute(select(User).where(User.username == username)).scalar_one_or_none() is not None:
        raise ValueError(f"user {username!r} exists already")
    user = User(username=username, password_hash=hash_password(password), role=role, full_name=full_name,
                organisation=organisation if role == "compliance" else None, active=True, session_version=1)
    db.add(user)
    db.flush()
    return user
