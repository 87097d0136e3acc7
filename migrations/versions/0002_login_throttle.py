"""login throttle: failed log-in attempts per username and per client address

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-14 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('failures >= 0', name=op.f('ck_login_throttle_failures_non_negative')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttle_window_start'), ['window_start'], unique=False)


def downgrade():
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_window_start'))

    op.drop_table('login_throttle')
