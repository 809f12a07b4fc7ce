"""two times on every event, who recorded it and from where; the security log; sign-in accounts and sessions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

Events written before this revision keep ``recorded_at`` NULL: they are shown
as "recorded before this field existed" and their hashes (which never covered
these columns) still verify.  The security log is append-only like ``events``.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

import agreeflow.engine.core.store

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

UTC = agreeflow.engine.core.store.UTCDateTime


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN (no batch copy): the append-only triggers on events stay as they are.
    op.add_column('events', sa.Column('recorded_at', UTC(), nullable=True))
    op.add_column('events', sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default=''))
    op.add_column('events', sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False,
                                      server_default=''))
    op.create_table('security_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('recorded_at', UTC(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq')
    )
    op.create_index('ix_security_log_recorded_at', 'security_log', ['recorded_at'])
    op.create_index('ix_security_log_kind', 'security_log', ['kind'])
    op.create_table('accounts',
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', UTC(), nullable=True),
    sa.Column('changed_at', UTC(), nullable=False),
    sa.PrimaryKeyConstraint('email')
    )
    op.create_table('sign_ins',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', UTC(), nullable=False),
    sa.Column('expires_at', UTC(), nullable=False),
    sa.Column('used_at', UTC(), nullable=True),
    sa.Column('revoked_at', UTC(), nullable=True),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_sign_ins_email', 'sign_ins', ['email'])
    dialect = op.get_bind().dialect.name
    for stmt in _SQLITE_TRIGGERS if dialect == "sqlite" else _PG_TRIGGERS:
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for stmt in _SQLITE_DROP if dialect == "sqlite" else _PG_DROP:
        op.execute(stmt)
    op.drop_index('ix_sign_ins_email', table_name='sign_ins')
    op.drop_table('sign_ins')
    op.drop_table('accounts')
    op.drop_index('ix_security_log_kind', table_name='security_log')
    op.drop_index('ix_security_log_recorded_at', table_name='security_log')
    op.drop_table('security_log')
    # SQLite cannot drop a column of a table with triggers without copying it; the copy would lose them.
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")
    with op.batch_alter_table('events') as batch_op:
        batch_op.drop_column('origin')
        batch_op.drop_column('recorded_by')
        batch_op.drop_column('recorded_at')
    if dialect == "sqlite":
        op.execute("""CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only (agreeflow audit log)'); END""")
        op.execute("""CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only (agreeflow audit log)'); END""")


# The security log is evidence too: the database refuses to rewrite it.
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER security_log_no_update BEFORE UPDATE ON security_log
       BEGIN SELECT RAISE(ABORT, 'the security log is append-only (agreeflow)'); END""",
    """CREATE TRIGGER security_log_no_delete BEFORE DELETE ON security_log
       BEGIN SELECT RAISE(ABORT, 'the security log is append-only (agreeflow)'); END""",
]
_PG_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION agreeflow_security_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the security log is append-only (agreeflow)'; END $$""",
    """CREATE TRIGGER security_log_no_update_delete BEFORE UPDATE OR DELETE ON security_log
       FOR EACH ROW EXECUTE FUNCTION agreeflow_security_log_append_only()""",
    """CREATE TRIGGER security_log_no_truncate BEFORE TRUNCATE ON security_log
       FOR EACH STATEMENT EXECUTE FUNCTION agreeflow_security_log_append_only()""",
]
_SQLITE_DROP = ["DROP TRIGGER IF EXISTS security_log_no_update", "DROP TRIGGER IF EXISTS security_log_no_delete"]
_PG_DROP = ["DROP TRIGGER IF EXISTS security_log_no_update_delete ON security_log",
            "DROP TRIGGER IF EXISTS security_log_no_truncate ON security_log",
            "DROP FUNCTION IF EXISTS agreeflow_security_log_append_only()"]
