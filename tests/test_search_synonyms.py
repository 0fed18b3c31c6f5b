"""Synonyms the admin keeps (issue 18): the table in the database, the default as before, an admin
page beside the zero-result queries, a change re-indexes what it touches and is audited."""

from __future__ import annotations

import pytest

from app.audit import AuditEntry
from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.search import analysis, synonyms
from app.search import services as search
from app.search.models import SynonymGroup
from tests.conftest import login, post
from tests.helpers import make_manual, user

pytestmark = pytest.mark.usefixtures("demo_users")

BODY = """# 障害者手帳の手引き

## 1 交付

身体障害者手帳を交付する。

## 2 国保

国民健康保険の資格を確認する。
"""


@pytest.fixture
def indexed():
    manual = make_manual("techou", "障害者手帳の手引き", body=BODY)
    search.index_manual(db.session, manual)
    return manual


@pytest.fixture(autouse=True)
def default_table():
    yield
    analysis.set_synonyms(analysis.SYNONYMS)  # the next test starts from the default table
    synonyms._loaded[0] = None


def anchors(text: str) -> list[str]:
    return [r.hit.anchor for r in search.search(db.session, None, text, record=False).results]


def test_default_table_applies_until_the_admin_keeps_one(indexed) -> None:
    assert anchors("国保")[:1] == ["2-国保"]
    assert "国民健康保険" in [g.canonical for g in synonyms.groups(db.session)]


def test_admin_adds_a_group_and_documents_and_queries_use_it(indexed) -> None:
    assert anchors("身障手帳") == []
    admin = user("admin")
    synonyms.save(db.session, admin, "身体障害者手帳", "身障手帳、身体手帳")
    db.session.commit()  # the reaction re-indexes the manuals that hold one of the words
    assert anchors("身障手帳")[:1] == ["1-交付"]
    assert db.session.query(SynonymGroup).count() == len(analysis.SYNONYMS) + 1  # the defaults kept
    assert anchors("国保")[:1] == ["2-国保"]
    entry = db.session.query(AuditEntry).filter_by(action="search.synonyms").one()
    assert entry.actor_id == admin.id and entry.details_dict["variants"] == ["身障手帳", "身体手帳"]


def test_deleting_a_group_stops_it(indexed) -> None:
    admin = user("admin")
    group = synonyms.save(db.session, admin, "身体障害者手帳", "身障手帳")
    db.session.commit()
    synonyms.delete(db.session, admin, group.id)
    db.session.commit()
    assert anchors("身障手帳") == []
    assert db.session.query(AuditEntry).filter_by(action="search.synonyms_delete").count() == 1


def test_other_processes_pick_up_the_change(indexed) -> None:
    db.session.add(SynonymGroup(canonical="身体障害者手帳", variants="身障手帳"))
    db.session.commit()
    search.reindex(db.session)
    assert anchors("身障手帳")[:1] == ["1-交付"]


def test_checks(indexed) -> None:
    admin = user("admin")
    with pytest.raises(PermissionDenied):
        synonyms.save(db.session, user("hq.tanto"), "身体障害者手帳", "身障手帳")
    with pytest.raises(ValidationError, match="1つ以上"):
        synonyms.save(db.session, admin, "身体障害者手帳", "身体障害者手帳")
    with pytest.raises(ValidationError, match="国民健康保険"):
        synonyms.save(db.session, admin, "国民保険", "国保")  # already a word of another group


def test_admin_page_shows_zero_result_queries_with_one_click_to_add(app, client, indexed) -> None:
    search.search(db.session, user("aoba.tanto"), "身障手帳")
    db.session.commit()
    login(client, "admin")
    page = client.get("/admin/search/synonyms").get_data(as_text=True)
    assert "国民健康保険" in page and "身障手帳" in page
    assert "/admin/search/synonyms?variant=%E8%BA%AB%E9%9A%9C%E6%89%8B%E5%B8%B3" in page
    prefilled = client.get("/admin/search/synonyms?variant=身障手帳").get_data(as_text=True)
    assert 'name="variants" value="身障手帳"' in prefilled
    response = post(client, "/admin/search/synonyms", {"canonical": "身体障害者手帳", "variants": "身障手帳",
                                                        "kind": "synonym"})
    assert response.status_code == 302
    assert anchors("身障手帳")[:1] == ["1-交付"]
    other = app.test_client()
    login(other, "hq.tanto")
    assert other.get("/admin/search/synonyms").status_code == 403
    assert post(other, "/admin/search/synonyms", {"canonical": "X", "variants": "Y"}).status_code in (302, 403)
    assert db.session.query(SynonymGroup).filter_by(canonical="X").count() == 0
