"""Readings and 「もしかして」 (issue 18): kana queries find words by their reading, a mistyped
compound gets the indexed one suggested; both come from the index's own vocabulary."""

from __future__ import annotations

import json

import pytest

from app.extensions import db
from app.search import query as querying
from app.search import services as search
from tests.conftest import login
from tests.helpers import approve_all, make_manual, revise

pytestmark = pytest.mark.usefixtures("demo_users")

BODY = """# 窓口事務の手引き

## 1 委任状の確認

代理人が来庁したときは委任状を確認する。委任状には作成日の記載が必要である。

## 2 事務の引継ぎ

異動の際は、担当事務を後任者に引継ぎ、引継書を作成する。

## 3 国民健康保険の届出

国民健康保険の資格喪失届を受け付ける。扶養照会は行わない。

## 4 手帳

療育手帳の交付申請を受け付ける。
"""


@pytest.fixture
def indexed():
    manual = make_manual("madoguchi", "窓口事務の手引き", body=BODY)
    search.index_manual(db.session, manual)
    return manual


def found(text: str) -> tuple[list[str], search.Results]:
    res = search.search(db.session, None, text, record=False)
    return [r.hit.anchor for r in res.results], res


@pytest.mark.parametrize("query", ["いにんじょう", "イニンジョウ", "ｲﾆﾝｼﾞｮｳ", "いにんじょう　代理人"])
def test_kana_queries_find_words_by_their_reading(indexed, query: str) -> None:
    anchors, res = found(query)
    assert anchors[:1] == ["1-委任状の確認"]
    assert res.rewritten.startswith("委任状")


def test_hiragana_finds_the_word_and_not_unrelated_sections(indexed) -> None:
    anchors, res = found("ひきつぎ")
    assert anchors == ["2-事務の引継ぎ"] and res.rewritten.startswith("引継")
    assert found("ほげほげ")[0] == []  # a reading nothing has is not forced onto a word


@pytest.mark.parametrize(("typed", "meant"), [
    ("国民健康保健", "国民健康保険"),  # the IME chose other kanji: same reading
    ("扶養紹介", "扶養照会"),
    ("療育手張", "療育手帳"),  # one character off
    ("国民健康保健 資格喪失届", "国民健康保険 資格喪失届"),
])
def test_typos_get_the_indexed_word_suggested(indexed, typed: str, meant: str) -> None:
    _anchors, res = found(typed)
    assert res.suggestion == meant
    assert found(meant)[0]  # one click finds something


def test_known_words_get_no_suggestion(indexed) -> None:
    for text in ("国民健康保険", "扶養照会", "委任状 作成日", "代理人が来庁した場合はどうするか"):
        assert found(text)[1].suggestion is None, text


def test_vocabulary_follows_the_index(indexed) -> None:
    vocab = search.get_index().vocab
    assert vocab.by_reading("りょういくてちょう") == [("療育手帳", 1)]
    approve_all(revise(indexed, "hq.tanto", "療育手帳の交付申請", "身体障害者手帳の交付申請"))
    db.session.commit()
    assert vocab.by_reading("りょういくてちょう") == []
    search.get_index().clear()
    assert vocab.by_reading("いにん") == []


def test_distance() -> None:
    assert querying.distance("扶養紹介", "扶養照会") == 2
    assert querying.distance("療育手張", "療育手帳") == 1
    assert querying.distance("婚因届", "婚姻届") == 1


def test_page_offers_one_click_and_api_tells_it(client, indexed) -> None:
    login(client, "aoba.tanto")
    page = client.get("/search?q=国民健康保健").get_data(as_text=True)
    assert "もしかして" in page and "/search?q=%E5%9B%BD%E6%B0%91%E5%81%A5%E5%BA%B7%E4%BF%9D%E9%99%BA" in page
    page = client.get("/search?q=いにんじょう").get_data(as_text=True)
    assert "「委任状」として検索しました" in page and "委任状の確認" in page
    data = json.loads(client.get("/api/search?q=扶養紹介&format=full").get_data(as_text=True))
    assert data["suggestion"] == "扶養照会" and data["searched"] == "扶養紹介"
    assert isinstance(json.loads(client.get("/api/search?q=扶養照会").get_data(as_text=True)), list)
