"""imported stock

The stock figure each product's last catalog import gave, so that a re-import which does not
change it leaves the live stock (lowered by orders since) alone.

Revision ID: 0003_imported_stock
Revises: 0002_retention
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0003_imported_stock"
down_revision = "0002_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("products", sa.Column("imported_stock", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("imported_stock")
