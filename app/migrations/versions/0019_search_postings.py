"""search index in PostgreSQL: the vocabulary in the database too, and a postings table (one row per term and document, with its weighted
frequency) instead of ranking with ts_rank_cd over a stored tsvector. Only on PostgreSQL.

Why: ts_rank_cd decompresses every candidate's tsvector and ranks one term at a time; a query
with common terms ranked tens of thousands of documents that way (p95 316 ms at 2,000 manuals +
20,000 rulings). With postings the ranking reads only the query terms' entries from one covering
index and joins documents that have every term on their ids. The weighted frequencies are the
same numbers ts_rank_cd gave (title 8, heading 4, body 1 per occurrence), so ranking is unchanged.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 16:30:00

"""
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# The weighted terms of a document, as the tsvector of migration 0016 had them.
WEIGHTED = ("setweight(to_tsvector('simple', d.title_terms), 'A') || setweight(to_tsvector('simple', d.heading_terms), 'B')"
            " || setweight(to_tsvector('simple', d.body_terms), 'C')")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # live = not obsolete: the default filter, read from the index without visiting the document.
    op.execute("""
        CREATE TABLE search_postings (
            doc_id bigint NOT NULL REFERENCES search_docs(id) ON DELETE CASCADE,
            term text COLLATE "C" NOT NULL,
            wtf real NOT NULL,
            dl integer NOT NULL,
            live boolean NOT NULL
        )""")
    op.execute(f"""
        INSERT INTO search_postings (doc_id, term, wtf, dl, live)
        SELECT d.id, u.lexeme, (SELECT sum(CASE w WHEN 'A' THEN 8 WHEN 'B' THEN 4 ELSE 1 END) FROM unnest(u.weights) w),
               d.doclen, NOT d.obsolete
        FROM search_docs d, unnest({WEIGHTED}) u""")
    op.execute("CREATE INDEX search_postings_term ON search_postings (term, doc_id) INCLUDE (wtf, dl, live)")
    op.execute("CREATE INDEX search_postings_doc ON search_postings (doc_id)")  # a document's rows go with it
    # The vocabulary of readings and 「もしかして」 (app/search/pg_vocab.py): one for every host, like the
    # index. Filled by the next `flask search reindex` (doctor says so until then).
    op.execute('CREATE TABLE search_vocab (phrase text COLLATE "C" PRIMARY KEY, reading text NOT NULL,'
               ' rev text COLLATE "C" NOT NULL, df integer NOT NULL)')
    op.execute("CREATE INDEX search_vocab_reading ON search_vocab (reading)")
    op.execute("CREATE INDEX search_vocab_rev ON search_vocab (rev)")
    op.execute('CREATE TABLE search_doc_phrases (key text COLLATE "C" PRIMARY KEY, phrases text NOT NULL)')
    # A publication replaces a manual's rows; an import adds thousands. Autovacuum comes after 2% of
    # the rows changed (not the default 20%), so the planner's statistics and the visibility map the
    # index-only scans rely on stay fresh (`flask search reindex` vacuums at once: app/search/commands.py).
    for table in ("search_postings", "search_docs", "search_vocab", "search_doc_phrases", "search_terms"):
        op.execute(f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02,"
                   " autovacuum_vacuum_insert_scale_factor = 0.02)")
    # The tsvector and its GIN index are no longer read (facets use the postings too).
    op.execute("DROP INDEX IF EXISTS search_docs_tsv")
    op.execute("ALTER TABLE search_docs DROP COLUMN tsv")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS search_postings")
    op.execute("DROP TABLE IF EXISTS search_doc_phrases")
    op.execute("DROP TABLE IF EXISTS search_vocab")
    op.execute("""
        ALTER TABLE search_docs ADD COLUMN tsv tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', title_terms), 'A')
            || setweight(to_tsvector('simple', heading_terms), 'B')
            || setweight(to_tsvector('simple', body_terms), 'C')) STORED""")
    op.execute("ALTER TABLE search_docs ALTER COLUMN tsv SET STORAGE MAIN")
    op.execute("CREATE INDEX search_docs_tsv ON search_docs USING gin (tsv)")
