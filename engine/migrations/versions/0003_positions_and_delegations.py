"""positions of people in units, how they are addressed, and delegations of authority

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as batch_op:
        batch_op.add_column(sa.Column('positions', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
    op.create_table('delegations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('principal', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('delegate', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('document', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_delegations_principal', 'delegations', ['principal'])
    op.create_index('ix_delegations_delegate', 'delegations', ['delegate'])


def downgrade() -> None:
    op.drop_index('ix_delegations_delegate', table_name='delegations')
    op.drop_index('ix_delegations_principal', table_name='delegations')
    op.drop_table('delegations')
    with op.batch_alter_table('people') as batch_op:
        batch_op.drop_column('phone')
        batch_op.drop_column('title')
        batch_op.drop_column('positions')
