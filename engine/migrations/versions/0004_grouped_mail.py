"""one mail per recipient per sweep: outbox rows remember their kind, a held rung's context and its message

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A rung due for a recipient is first written ``held`` with its render
context; the sweep then folds every held rung of a recipient into one
message and marks the rungs ``bundled`` with that message's id.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False,
                                      server_default=''))
    op.add_column('outbox', sa.Column('context', sa.JSON(), nullable=True))
    op.add_column('outbox', sa.Column('bundle_id', sa.Integer(), nullable=True))
    op.create_index('ix_outbox_bundle_id', 'outbox', ['bundle_id'])


def downgrade() -> None:
    op.drop_index('ix_outbox_bundle_id', table_name='outbox')
    with op.batch_alter_table('outbox') as batch_op:
        batch_op.drop_column('bundle_id')
        batch_op.drop_column('context')
        batch_op.drop_column('kind')
