"""pull lanes: an index that reads a township's reference records (grid NULL) in feed order

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_records_township_grid_seq", "records", ["township", "grid", "seq"])


def downgrade() -> None:
    op.drop_index("ix_records_township_grid_seq", "records")
