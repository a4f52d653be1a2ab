"""county level (issue 14): counties, a township's county, a user's display name and county

Every township that exists gets a county: the default county 默认县, made here when needed.

Revision ID: 0003
Revises: 0002
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DEFAULT_COUNTY = "默认县"


def upgrade() -> None:
    op.create_table(
        "counties",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
    )
    # plain columns, no foreign key: SQLite cannot add one to an existing table (admin.py
    # checks the county exists before it writes one)
    op.add_column("townships", sa.Column("county", sa.String(36), nullable=True))
    op.add_column("users", sa.Column("display_name", sa.String(200), nullable=True))
    op.add_column("users", sa.Column("county", sa.String(36), nullable=True))
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT count(*) FROM townships")).scalar():
        # a fixed id: the same on every server migrated from the same data
        cid = str(uuid.uuid5(uuid.NAMESPACE_URL, "gridwall:county:default"))
        conn.execute(sa.text("INSERT INTO counties (id, name) VALUES (:i, :n)"), {"i": cid, "n": DEFAULT_COUNTY})
        conn.execute(sa.text("UPDATE townships SET county = :i WHERE county IS NULL"), {"i": cid})


def downgrade() -> None:
    with op.batch_alter_table("users") as b:
        b.drop_column("county")
        b.drop_column("display_name")
    with op.batch_alter_table("townships") as b:
        b.drop_column("county")
    op.drop_table("counties")
