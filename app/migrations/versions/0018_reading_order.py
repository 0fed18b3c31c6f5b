"""50音順 keys for manual titles and people; units renumbered in the city's order

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-01 13:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('manuals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_kana', sa.String(length=200), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_manuals_title_kana'), ['title_kana'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_kana', sa.String(length=200), server_default='', nullable=False))

    # Existing rows get their keys now (new ones get them as their title / name is set).
    from app.ordering import kana_key, unit_rank

    bind = op.get_bind()
    manuals = sa.table('manuals', sa.column('id'), sa.column('title'), sa.column('title_kana'))
    users = sa.table('users', sa.column('id'), sa.column('name'), sa.column('name_kana'))
    units = sa.table('units', sa.column('id'), sa.column('kind'), sa.column('group_name'), sa.column('section'),
                     sa.column('sort_order'))
    for row in bind.execute(sa.select(manuals.c.id, manuals.c.title)).all():
        bind.execute(manuals.update().where(manuals.c.id == row.id).values(title_kana=kana_key(row.title or '')))
    for row in bind.execute(sa.select(users.c.id, users.c.name)).all():
        bind.execute(users.update().where(users.c.id == row.id).values(name_kana=kana_key(row.name or '')))
    rows = bind.execute(sa.select(units.c.id, units.c.kind, units.c.group_name, units.c.section)).all()
    for n, row in enumerate(sorted(rows, key=lambda r: unit_rank(r.kind, r.group_name, r.section)), start=1):
        bind.execute(units.update().where(units.c.id == row.id).values(sort_order=n))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('name_kana')
    with op.batch_alter_table('manuals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manuals_title_kana'))
        batch_op.drop_column('title_kana')
