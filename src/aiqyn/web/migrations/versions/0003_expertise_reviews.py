"""Expertise of draft legal acts: uploaded drafts with their analysis, reviewers' decisions on each flag.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expertise_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=100), nullable=False),
        sa.Column("fmt", sa.String(length=10), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"],
                                name=op.f("fk_expertise_drafts_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_drafts")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_expertise_drafts_stored_name")),
    )
    op.create_table(
        "expertise_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("flag_id", sa.String(length=200), nullable=False),
        sa.Column("factor", sa.String(length=20), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["expertise_drafts.id"],
                                name=op.f("fk_expertise_decisions_draft_id_expertise_drafts")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_expertise_decisions_reviewer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expertise_decisions")),
    )
    with op.batch_alter_table("expertise_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expertise_decisions_draft_id"), ["draft_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expertise_decisions_factor"), ["factor"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("expertise_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expertise_decisions_factor"))
        batch_op.drop_index(batch_op.f("ix_expertise_decisions_draft_id"))

    op.drop_table("expertise_decisions")
    op.drop_table("expertise_drafts")
