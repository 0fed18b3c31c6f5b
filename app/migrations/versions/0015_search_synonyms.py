"""search synonyms the admin keeps (seeded with the table that was hard-coded)

Revision ID: 0015
Revises: 0014
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# The table as it stood in app/search/analysis.py (canonical, variants, kind).
DEFAULTS = [
    ("マイナンバーカード", "個人番号カード\nマイナカード", "synonym"),
    ("マイナンバー", "個人番号", "synonym"),
    ("国民健康保険", "国保", "synonym"),
    ("後期高齢者医療", "後期高齢", "synonym"),
    ("住民票の写し", "住民票写し", "variant"),
    ("生活保護", "生保", "synonym"),
    ("児童手当", "児手", "synonym"),
]


def upgrade():
    table = op.create_table(
        'search_synonyms',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('canonical', sa.String(length=100), nullable=False),
        sa.Column('variants', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_search_synonyms_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_synonyms')),
        sa.UniqueConstraint('canonical', name=op.f('uq_search_synonyms_canonical')),
    )
    now = datetime.now(timezone.utc)
    op.bulk_insert(table, [{"canonical": c, "variants": v, "kind": k, "updated_at": now} for c, v, k in DEFAULTS])


def downgrade():
    op.drop_table('search_synonyms')
