"""indexes for the log page's keyset paging: (at, id), (kind, at, id), (actor, at, id), (recorded_by, at, id)

The first two replace the single-column indexes on ``at`` and ``kind``: a
composite index serves every query the single one did, and on PostgreSQL the
id in it is what lets "newest first, before (at, id)" read a page straight
from the index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_events_at_id', 'events', ['at', 'id'])
    op.create_index('ix_events_kind_at_id', 'events', ['kind', 'at', 'id'])
    op.create_index('ix_events_actor_at_id', 'events', ['actor', 'at', 'id'])
    op.create_index('ix_events_recorded_by_at_id', 'events', ['recorded_by', 'at', 'id'])
    op.drop_index('ix_events_at', table_name='events')
    op.drop_index('ix_events_kind', table_name='events')


def downgrade() -> None:
    op.create_index('ix_events_kind', 'events', ['kind'])
    op.create_index('ix_events_at', 'events', ['at'])
    op.drop_index('ix_events_recorded_by_at_id', table_name='events')
    op.drop_index('ix_events_actor_at_id', table_name='events')
    op.drop_index('ix_events_kind_at_id', table_name='events')
    op.drop_index('ix_events_at_id', table_name='events')
