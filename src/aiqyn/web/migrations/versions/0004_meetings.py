"""Officials' meetings with businesses recorded in the application (the meetings register's application side).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("official_iin", sa.String(length=12), nullable=False),
        sa.Column("official_name", sa.String(length=300), nullable=False),
        sa.Column("company_bin", sa.String(length=12), nullable=True),
        sa.Column("company_name", sa.String(length=500), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("recorded", sa.Boolean(), nullable=False),
        sa.Column("recording_ref", sa.String(length=200), nullable=True),
        sa.Column("commission_members", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_meetings_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_meetings_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetings_official_iin"), ["official_iin"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_starts_at"), ["starts_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetings_starts_at"))
        batch_op.drop_index(batch_op.f("ix_meetings_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_meetings_official_iin"))

    op.drop_table("meetings")
