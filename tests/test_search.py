"""Search over manual sections: Japanese analysis, variants, indexing on publish, CLI and API."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from app.extensions import db
from app.revisions import drafting
from app.search import analysis
from app.search import services as search
from app.usage.models import SearchLog
from tests.conftest import TEST_DATABASE_URL, login
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")

VARIANT_BODY = """# 窓口事務の手引き

## 1 事務の引継ぎ

異動の際は、担当事務を後任者に引継ぎ、引継書を作成する。

## 2 申込みの受付

利用の申込みは、窓口又は郵送で受け付ける。申込書の取扱いに注意する。

## 3 本人確認

マイナンバーカード又は運転免許証で本人確認を行う。子どもの手続きは保護者が行う。

## 4 期限

届出は１４日以内に行う。課税証明書を添付する。
"""


@pytest.fixture
def indexed():
    manual = make_manual("madoguchi", "窓口事務の手引き", body=VARIANT_BODY)
    search.index_manual(db.session, manual)
    return manual


def anchors(text: str, **kw) -> list[str]:
    return [r.hit.anchor for r in search.search(db.session, None, text, record=False, **kw).results]


@pytest.mark.parametrize(("query", "anchor"), [
    ("引き継ぎ", "1-事務の引継ぎ"), ("引継", "1-事務の引継ぎ"),
    ("申し込み", "2-申込みの受付"), ("申込", "2-申込みの受付"),
    ("取り扱い", "2-申込みの受付"),
    ("個人番号カード", "3-本人確認"), ("子供", "3-本人確認"), ("手続", "3-本人確認"),
    ("14日以内", "4-期限"), ("１４日", "4-期限"),
])
def test_spelling_variants_find_each_other(indexed, query: str, anchor: str) -> None:
    assert anchors(query)[:1] == [anchor]


def test_one_character_query_finds_something(indexed) -> None:
    assert "4-期限" in anchors("課")
    assert "4-期限" in anchors("届")


def test_sentence_query_ranks_the_right_section_first(indexed) -> None:
    assert anchors("郵送で申し込みをしたい場合はどうするか")[0] == "2-申込みの受付"


def test_snippet_highlights_the_variant_as_written() -> None:
    html = str(analysis.snippet("担当事務を後任者に引継ぎ、引継書を作成する。", set(analysis.terms("引き継ぎ"))))
    assert "<mark>引継ぎ</mark>" in html
    assert str(analysis.snippet("<b>危険</b>な文字", set(analysis.terms("文字")))).startswith("&lt;b&gt;")


def test_index_follows_publishing_and_drafts_are_never_found(indexed) -> None:
    revision = revise(indexed, "hq.tanto", "窓口又は郵送で", "窓口、郵送又は電子申請で")
    db.session.commit()
    assert anchors("電子申請") == []  # a draft is not searchable
    approve_all(revision)  # publishing updates the index (its reaction runs after the commit)
    assert anchors("電子申請") == ["2-申込みの受付"]
    abolish = drafting.open_revision(db.session, user("hq.tanto"), indexed, kind="obsolete")
    abolish.reason = "廃止"
    approve_all(abolish)
    assert anchors("電子申請") == []  # obsolete manuals are excluded …
    assert anchors("電子申請", include_obsolete=True) == ["2-申込みの受付"]  # … unless asked for


def test_zero_result_queries_are_logged_per_unit(indexed) -> None:
    aoba = user("aoba.tanto")
    search.search(db.session, aoba, "存在しない制度")
    search.search(db.session, aoba, "引継ぎ")
    rows = db.session.query(SearchLog).all()
    assert [(r.query, r.unit_id, r.results) for r in rows] == [("存在しない制度", aoba.unit_id, 0)]


def test_reindex_and_json_cli(app: Flask, indexed) -> None:
    from tests.test_foundation import _flask

    search.get_index().clear()
    db.session.commit()
    res = _flask(app, "search", "reindex")
    assert res.returncode == 0, res.stderr
    assert "マニュアルの節" in res.stdout
    res = _flask(app, "search", "申し込み", "--kind", "manual", "--limit", "2", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert rows[0]["kind"] == "manual" and rows[0]["id"] == "madoguchi" and rows[0]["anchor"] == "2-申込みの受付"
    assert set(rows[0]) == {"kind", "id", "anchor", "title", "snippet", "score"}
    assert "<mark>申込み</mark>" in rows[0]["snippet"]


def test_api_and_page_require_login(client, indexed) -> None:
    assert client.get("/api/search?q=引継ぎ").status_code in (302, 401)
    login(client, "aoba.tanto")
    data = client.get("/api/search?q=引き継ぎ&limit=3").json
    assert isinstance(data, list) and len(data) <= 3
    assert data[0]["anchor"] == "1-事務の引継ぎ" and data[0]["id"] == "madoguchi" and data[0]["kind"] == "manual"
    assert client.get("/api/search?q=").status_code == 400
    assert client.get("/api/search?q=x&kind=bad").status_code == 400
    page = client.get("/search?q=申し込み").get_data(as_text=True)
    assert "窓口事務の手引き" in page and "<mark>申込み</mark>" in page and 'href="/manuals/madoguchi#2-申込みの受付"' in page
    page = client.get("/search?q=該当しない語句").get_data(as_text=True)
    assert "見つかりませんでした" in page


@pytest.fixture
def whoosh(app: Flask):
    app.config["SEARCH_BACKEND"] = "whoosh"
    yield
    app.config["SEARCH_BACKEND"] = "fts"


@pytest.mark.usefixtures("whoosh")
def test_whoosh_backend_answers_the_same_way(app: Flask) -> None:
    from app.search.whoosh_backend import WhooshIndex

    assert isinstance(search.get_index().engine, WhooshIndex)
    manual = make_manual("madoguchi", "窓口事務の手引き", body=VARIANT_BODY)
    search.reindex(db.session)
    for query, anchor in [("引き継ぎ", "1-事務の引継ぎ"), ("申し込み", "2-申込みの受付"), ("個人番号カード", "3-本人確認"),
                          ("１４日", "4-期限")]:
        assert anchors(query)[:1] == [anchor], query
    assert "4-期限" in anchors("課")
    assert anchors("郵送で申し込みをしたい場合はどうするか")[0] == "2-申込みの受付"
    revision = revise(manual, "hq.tanto", "窓口又は郵送で", "窓口、郵送又は電子申請で")
    approve_all(revision)
    assert anchors("電子申請") == ["2-申込みの受付"]
    assert search.get_index().count() == 4


def test_the_index_lives_where_the_database_is(app: Flask, indexed) -> None:
    """PostgreSQL: the index is in the database (one for every host), written in the caller's
    transaction; SQLite: the FTS5 file. A rolled-back write leaves the index as it was."""
    index = search.get_index()
    postgres = db.engine.dialect.name == "postgresql"
    assert app.config["SEARCH_BACKEND"] == ("postgres" if postgres else "fts")
    assert type(index.engine).__name__ == ("PgIndex" if postgres else "FtsIndex")
    db.session.commit()
    assert index.count() == 4
    if postgres:
        index.delete("manual:madoguchi#")
        assert search.get_index().count() == 0  # the same transaction sees it …
        db.session.rollback()
        assert search.get_index().count() == 4  # … and a rollback undoes it
        (term,) = analysis.terms("郵送")
        assert index.term_df([term]) == {term: 1}


def test_doctor_finds_and_rebuilds_a_vocabulary_out_of_step(indexed) -> None:
    """Readings and 「もしかして」 come from the index's vocabulary; one that describes another index
    (after an upgrade, or a vocabulary file lost) is reported and rebuilt by `doctor --repair`."""
    from app.doctor import check

    db.session.commit()
    assert anchors("まどぐち") == anchors("窓口") != []  # the reading is known
    search.get_index().vocab.clear()
    db.session.commit()
    assert anchors("まどぐち") == []  # no vocabulary: the reading finds nothing
    assert [f.kind for f in check(db.session)] == ["index_vocab"]
    assert [f.repaired for f in check(db.session, repair=True)] == [True]
    db.session.commit()
    assert check(db.session) == []
    assert anchors("まどぐち") == anchors("窓口") != []


# The PostgreSQL index exists only in the PostgreSQL pass (TEST_DATABASE_URL); SQLite has FTS5 alone.
@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL の索引は PostgreSQL の回でのみ比べられる")
def test_postgres_ranks_as_fts5_does(app: Flask, tmp_path) -> None:
    """The same documents in both engines: the same hits in the same order, bm25 scores alike."""
    from app.gitstore import store
    from app.search.backend import FtsIndex, Query

    manuals = [make_manual("madoguchi", "窓口事務の手引き", body=VARIANT_BODY),
               make_manual("hoken", "国民健康保険の手引き"), make_manual("kaigo", "介護保険の手引き")]
    db.session.commit()
    fts = FtsIndex(tmp_path / "fts")
    for m in manuals:
        fts.upsert(search.manual_docs(m, store().read(m.current_commit, m.path) or ""))
    pg = search.get_index()
    for text in ["申請書", "本人確認書類 有効期限", "郵送で申し込みをしたい場合はどうするか", "手引き", "課", "保険 審査 決定"]:
        terms, prefix = search.parse_query(text)
        q = Query(terms=terms, prefix=prefix, limit=10)
        want, got = fts.search(q), pg.search(q)
        assert [h.key for h in got] == [h.key for h in want], text
        if not prefix:
            assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=0.02), text
    fts.close()
