"""notifications: people told that someone else gave them a task, took one from them, or cancelled it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-20 09:00:00.000000

- notifications: recipient, kind (assigned / unassigned / cancelled), task, actor, created_at, read_at.
- ix_notifications_user_id_id: one person's list, newest first.
- ix_notifications_unread: one person's unread ones by age (partial, WHERE read_at IS NULL; id included on
  PostgreSQL): the unread count and newest unread id that every page and every live poll read.

Downgrading drops the table and its notifications with it.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

UNREAD = "read_at IS NULL"


def upgrade():
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('assigned', 'unassigned', 'cancelled')", name=op.f('ck_notifications_kind')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_notifications_actor_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_notifications_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_index('ix_notifications_user_id_id', 'notifications', ['user_id', 'id'])
    op.create_index(
        'ix_notifications_unread', 'notifications', ['user_id', 'created_at'],
        postgresql_include=['id'], postgresql_where=sa.text(UNREAD), sqlite_where=sa.text(UNREAD),
    )


def downgrade():
    op.drop_index('ix_notifications_unread', table_name='notifications')
    op.drop_index('ix_notifications_user_id_id', table_name='notifications')
    op.drop_table('notifications')
