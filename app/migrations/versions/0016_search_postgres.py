"""search index in PostgreSQL (SEARCH_BACKEND=postgres): documents with weighted tsvectors, term
document frequencies and corpus statistics. Only on PostgreSQL: on SQLite the index is the FTS5
file of app/search/backend.py, so this revision does nothing there.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-01 13:00:00

"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # key and term in "C" collation: byte order, so LIKE 'prefix%' uses the unique index.
    # tsv is derived from the Sudachi terms stored as text (title A, heading B, body C); the
    # 'simple' configuration only splits on spaces and lower-cases — the analysis is Sudachi's.
    op.execute("""
        CREATE TABLE search_docs (
            id bigserial PRIMARY KEY,
            key text COLLATE "C" NOT NULL UNIQUE,
            kind text NOT NULL,
            ref text NOT NULL,
            anchor text NOT NULL DEFAULT '',
            title text NOT NULL,
            heading text NOT NULL DEFAULT '',
            owner text NOT NULL DEFAULT '',
            tags text[] NOT NULL DEFAULT '{}',
            ward text NOT NULL DEFAULT '',
            obsolete boolean NOT NULL DEFAULT false,
            body text NOT NULL DEFAULT '',
            version text NOT NULL DEFAULT '',
            title_terms text NOT NULL DEFAULT '',
            heading_terms text NOT NULL DEFAULT '',
            body_terms text NOT NULL DEFAULT '',
            doclen integer NOT NULL DEFAULT 0,
            tsv tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('simple', title_terms), 'A')
                || setweight(to_tsvector('simple', heading_terms), 'B')
                || setweight(to_tsvector('simple', body_terms), 'C')) STORED
        )""")
    # Ranking reads tsv for every candidate: kept in the row (compressed if need be), not in TOAST
    # chunks, which cost several extra page reads per candidate.
    op.execute("ALTER TABLE search_docs ALTER COLUMN tsv SET STORAGE MAIN")
    op.execute("CREATE INDEX search_docs_tsv ON search_docs USING gin (tsv)")
    op.execute("CREATE INDEX search_docs_kind_ref ON search_docs (kind, ref)")
    op.execute('CREATE TABLE search_terms (term text COLLATE "C" PRIMARY KEY, df integer NOT NULL)')
    op.execute("CREATE TABLE search_stats (id integer PRIMARY KEY, docs bigint NOT NULL, tokens bigint NOT NULL,"
               " body_tokens bigint NOT NULL DEFAULT 0)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS search_stats")
    op.execute("DROP TABLE IF EXISTS search_terms")
    op.execute("DROP TABLE IF EXISTS search_docs")
