"""user language: the language each person chose for the board (en, zh_CN), empty until they choose

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-21 09:00:00.000000

- users.language: NULL until the user picks one in the top bar; the browser's Accept-Language decides until
  then. The allowed values are checked by the service (workorders/users/service.py set_language), not by a CHECK
  constraint: adding one on SQLite rebuilds `users`, and dropping the old table would cascade to the rows that
  point at it.

Downgrading drops the column and everyone's choice with it.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column without a default: no table rewrite on either database, existing users get NULL.
    op.add_column('users', sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    # ALTER TABLE … DROP COLUMN on both (SQLite ≥ 3.35), not a batch rebuild: with foreign keys on, dropping the
    # rebuilt `users` would cascade to every row that points at a user.
    op.drop_column('users', 'language')
