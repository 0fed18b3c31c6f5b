"""Ranking a clerk trusts (issue 18): the governing section first, one-line sections do not win,
rulings first for questions, every query term scores, junk returns nothing and is logged."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.search import analysis, ranking
from app.search import services as search
from app.search.backend import FtsIndex, Hit, IndexDoc
from app.usage.models import SearchLog
from tests.helpers import make_manual, user

pytestmark = pytest.mark.usefixtures("demo_users")

KOKUHO = """# 国民健康保険 資格取得・喪失事務の手引き

## 第1章 総則

### 1 目的

この手引きは、国民健康保険の資格の取得及び喪失の届出について、受付及び審査の手続を定める。

## 第2章 資格の喪失

### 1 資格喪失の時期

社会保険に加入した日の翌日に資格を喪失する。

### 2 資格喪失届の受付手続

資格喪失届を受け付けるときは、社会保険の資格確認書又は資格情報のお知らせで加入日を確認する。
喪失日は加入日の翌日とし、喪失事由を届書に記載させる。世帯主以外の者が届け出る場合は委任状を求める。

## 第3章 附則

この手引きは、令和9年4月1日から施行する。
"""


def ruling(number: str, subject: str, body: str) -> IndexDoc:
    return IndexDoc(key=f"ruling:{number}", kind="ruling", ref=number, title=subject,
                    title_terms=analysis.index_text(subject), body=body, body_terms=analysis.index_text(body))


@pytest.fixture
def corpus():
    manual = make_manual("kokuho", "国民健康保険 資格取得・喪失事務の手引き", body=KOKUHO)
    search.index_manual(db.session, manual)
    search.get_index().upsert([
        ruling("R1", "喪失届が1年遅れた場合の保険料", "国民健康保険の喪失届が1年以上遅れて提出された。"
               "二重に納めた保険料は還付できるか。還付できる。"),
        ruling("R2", "住民票の写しの郵送請求", "郵送で住民票の写しを請求された。"),
    ])
    return manual


def keys(text: str, **kw) -> list[str]:
    return [f"{r.hit.kind}:{r.hit.ref}#{r.hit.anchor}" for r in search.search(db.session, None, text, record=False,
                                                                                **kw).results]


def test_one_line_section_does_not_win_and_the_governing_section_is_first(corpus) -> None:
    found = keys("国保 喪失")
    assert found[0] in ("manual:kokuho#2-資格喪失届の受付手続", "manual:kokuho#1-資格喪失の時期")
    assert found.index("manual:kokuho#第3章-附則") > found.index("ruling:R1#")


def test_question_puts_the_matching_ruling_first(corpus) -> None:
    assert keys("喪失届が1年遅れたときに保険料は還付できるか")[0] == "ruling:R1#"


def test_query_style() -> None:
    assert ranking.query_style("国保 喪失", ["国民", "健康", "保険", "喪失"]) == "keyword"
    assert ranking.query_style("委任状がない場合はどうするか", ["委任", "状", "場合"]) == "question"
    assert ranking.query_style("代理人に渡してよいか", ["代理", "人", "渡す"]) == "question"


def test_junk_returns_nothing_and_is_logged_as_not_found(corpus) -> None:
    aoba = user("aoba.tanto")
    assert search.search(db.session, aoba, "ほげほげ存在しない語").results == []
    assert search.search(db.session, aoba, "喪失 ほげほげ 宇宙旅行").results == []
    assert search.search(db.session, aoba, "火星の天気はどうなるか").results == []
    assert search.search(db.session, aoba, "資格喪失届").results
    logged = [r.query for r in db.session.query(SearchLog).order_by(SearchLog.id)]
    assert logged == ["ほげほげ存在しない語", "喪失 ほげほげ 宇宙旅行", "火星の天気はどうなるか"]


def hit(key: str, body: str, kind: str = "manual", heading: str = "") -> Hit:
    return Hit(key, kind, key, "", "題名", heading, "", [], "", body, 0.0, analysis.index_text("題名"), "",
               analysis.index_text(body))


def test_every_query_term_scores_even_a_common_one() -> None:
    """The engine may look candidates up by the rare term alone; the ranking still uses both."""
    hits = [hit("a", "児童の手当について定める。"), hit("b", "児童の手当の認定について定める。")]
    terms = analysis.terms("児童手当 認定")
    stats = ranking.Stats(total=1000, df={"児童": 10, "手当": 10, "認定": 400})
    ranked = ranking.score_hits(hits, terms, stats, "keyword").results
    assert [s.hit.key for s in ranked] == ["b", "a"]


def test_short_bodies_gain_nothing_from_being_short() -> None:
    long = "資格喪失届を受け付けるときは加入日を確認する。喪失日は加入日の翌日とし、届書に記載させる。" * 2
    hits = [hit("short", "喪失。"), hit("long", long)]
    stats = ranking.Stats(total=100, df={"喪失": 5}, avg={"body": 40.0})
    assert ranking.score_hits(hits, ["喪失"], stats, "keyword").results[0].hit.key == "long"


def test_engine_looks_up_documents_with_every_term_first(tmp_path, monkeypatch) -> None:
    from app.search import backend

    monkeypatch.setattr(backend, "COMMON_MIN_DOCS", 10)
    index = FtsIndex(tmp_path)
    docs = [IndexDoc(key=f"d{i}", kind="manual", ref=f"d{i}", title="t", title_terms="t",
                     body_terms="児童 " + ("認定" if i % 2 else "手続き")) for i in range(40)]
    docs.append(IndexDoc(key="both", kind="manual", ref="both", title="t", title_terms="t", body_terms="希少 認定"))
    docs += [IndexDoc(key=f"r{i}", kind="manual", ref=f"r{i}", title="t", title_terms="t", body_terms="希少 別")
             for i in range(5)]
    index.upsert(docs)
    from app.search.backend import Query

    assert index.plan(Query(terms=["希少", "認定"])) == ["希少"]  # 認定 is common: left out of the lookup
    assert [h.key for h in index.search(Query(terms=["希少", "認定"], limit=1))] == ["both"]
    total, df, avg = index.term_stats(["希少", "認定", "無い"])
    assert (total, df) == (46, {"希少": 6, "認定": 21}) and avg["body"] == pytest.approx(2.0)


def test_a_manual_whose_newest_version_is_not_yet_in_force_is_marked(corpus) -> None:
    from datetime import timedelta

    from app.manuals.models import ManualVersion
    from app.wareki import today_jst

    res = search.search(db.session, None, "資格喪失届", record=False).results
    assert res[0].scheduled is None and "scheduled" not in res[0].as_json()
    version = db.session.query(ManualVersion).filter_by(manual_id=corpus.id, number=corpus.current_version).one()
    version.effective_date = today_jst() + timedelta(days=30)
    db.session.commit()
    res = search.search(db.session, None, "資格喪失届", record=False).results
    assert res[0].scheduled == version.effective_date
    assert res[0].as_json()["scheduled"] == version.effective_date.isoformat()
