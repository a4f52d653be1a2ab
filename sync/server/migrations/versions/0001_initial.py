"""initial schema: organisation, devices, records feed, idempotence, conflicts, blob refs

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "feed",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO feed (id, seq) VALUES (1, 0)")
    op.create_table(
        "townships",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
    )
    op.create_table(
        "villages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("township", sa.String(36), sa.ForeignKey("townships.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "grids",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("township", sa.String(36), sa.ForeignKey("townships.id"), nullable=False),
        sa.Column("village", sa.String(36), sa.ForeignKey("villages.id"), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("township", sa.String(36), sa.ForeignKey("townships.id"), nullable=True),
        sa.Column("phone", sa.String(64), nullable=True),
    )
    op.create_table(
        "user_grids",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("grid", sa.String(36), sa.ForeignKey("grids.id"), primary_key=True),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("enrolled_ms", sa.BigInteger, nullable=True),
        sa.Column("revoked_ms", sa.BigInteger, nullable=True),
        sa.Column("last_seen_ms", sa.BigInteger, nullable=True),
        sa.Column("code_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("code_expires_ms", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("grid", sa.String(36), nullable=True),
        sa.Column("township", sa.String(36), nullable=True),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
    )
    op.create_index("ix_records_grid_seq", "records", ["grid", "seq"])
    op.create_index("ix_records_township_seq", "records", ["township", "seq"])
    op.create_table(
        "applied_changes",
        sa.Column("change_id", sa.String(36), primary_key=True),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("device", sa.String(36), nullable=True),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("seq", sa.BigInteger, nullable=True),
        sa.Column("applied_ms", sa.BigInteger, nullable=False),
        sa.Column("clamped", sa.Boolean, nullable=False),
    )
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("kept_value", sa.Text, nullable=True),
        sa.Column("kept_stamp", sa.String(120), nullable=True),
        sa.Column("lost_value", sa.Text, nullable=True),
        sa.Column("lost_stamp", sa.String(120), nullable=True),
        sa.Column("change_id", sa.String(36), nullable=True),
        sa.Column("device", sa.String(36), nullable=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_conflicts_record_id", "conflicts", ["record_id"])
    op.create_table(
        "blob_refs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("record_id", sa.String(36), primary_key=True),
        sa.Column("grid", sa.String(36), nullable=True),
        sa.Column("township", sa.String(36), nullable=True),
    )


def downgrade() -> None:
    for name in (
        "blob_refs", "conflicts", "applied_changes", "records", "devices", "user_grids",
        "users", "grids", "villages", "townships", "feed", "settings",
    ):
        op.drop_table(name)
