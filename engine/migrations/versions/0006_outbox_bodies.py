"""a queued message's bodies in a table of their own: outbox_bodies

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

The dispatcher updates each outbox row three times (claimed, delivered,
sent), once inside the gate every message passes through.  SQLite rewrites
the whole row on each update; with its text and HTML a row spans overflow
pages.  The bodies move to ``outbox_bodies`` (same id); held and skipped
rungs, which never had any, get no row there.

Stop every node (serve) before upgrading: a node still running the code of
before reads and writes the bodies in the outbox row, and fails on every
claim and queue once they are gone.  For later migrations: outbox_bodies
points at outbox, so a batch operation on ``outbox`` under SQLite (copy the
table, drop the old one) fails while foreign keys are on, as they are in
``agreeflow init``; use plain ALTER TABLE, as here, or move the bodies aside.
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_bodies',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('body_text', sa.Text(), nullable=False),
                    sa.Column('body_html', sa.Text(), nullable=False),
                    sa.ForeignKeyConstraint(['id'], ['outbox.id']),
                    sa.PrimaryKeyConstraint('id'))
    op.execute("INSERT INTO outbox_bodies (id, body_text, body_html) "
               "SELECT id, body_text, body_html FROM outbox WHERE body_text <> '' OR body_html <> ''")
    # ALTER TABLE … DROP COLUMN, on SQLite too (3.35 and later): a batch would copy the table and drop the
    # old one, which the rows of outbox_bodies, pointing at it, forbid.
    op.drop_column('outbox', 'body_html')
    op.drop_column('outbox', 'body_text')


def downgrade() -> None:
    op.add_column('outbox', sa.Column('body_text', sa.Text(), nullable=False, server_default=''))
    op.add_column('outbox', sa.Column('body_html', sa.Text(), nullable=False, server_default=''))
    op.execute("UPDATE outbox SET body_text = (SELECT b.body_text FROM outbox_bodies b WHERE b.id = outbox.id), "
               "body_html = (SELECT b.body_html FROM outbox_bodies b WHERE b.id = outbox.id) "
               "WHERE id IN (SELECT id FROM outbox_bodies)")
    op.drop_table('outbox_bodies')
