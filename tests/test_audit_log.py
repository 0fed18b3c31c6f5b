"""The audit log reads in Japanese: every action labelled and filterable, targets named."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app import audit
from app.extensions import db
from app.rulings import services as rulings
from tests.conftest import login
from tests.helpers import approve_all, make_manual, revise, user

pytestmark = pytest.mark.usefixtures("demo_users")
APP = Path(__file__).resolve().parents[1] / "app"


def recorded_actions() -> set[tuple[str, str]]:
    """Every (action, object type) the source writes with audit.record."""
    found = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "record" \
                    and getattr(node.func.value, "id", None) == "audit" and len(node.args) >= 4:
                kinds = [c.value for c in ast.walk(node.args[3]) if isinstance(c, ast.Constant)]
                for c in ast.walk(node.args[2]):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str):
                        found.update((c.value, k) for k in kinds)
    return found


def test_every_action_and_target_kind_has_a_label() -> None:
    found = recorded_actions()
    assert len(found) > 50  # the scan sees the calls
    assert sorted(a for a, _ in found if a not in audit.ACTION_LABELS) == []
    assert sorted(k for _, k in found if k not in audit.OBJECT_LABELS) == []


def test_page_names_actions_and_targets(client) -> None:
    manual = make_manual(title="住民票の写しの交付事務")
    revision = revise(manual, "hq.tanto", "14日以内", "10日以内")
    approve_all(revision)
    rulings.file_inquiry(db.session, user("aoba.tanto"), kind="疑義照会", subject="委任状の日付",
                         body="日付がない。", manual=manual, anchor="3-審査")
    db.session.commit()
    login(client, "admin")
    html = client.get("/admin/audit").get_data(as_text=True)
    for label in ("承認（決裁）", "承認（審査）", "公布", "決裁への回付", "改正案の起案", "照会の登録", "ログイン"):
        assert label in html, label
    assert "「住民票の写しの交付事務」の改正案" in html and "照会「委任状の日付」" in html
    assert "職員 システム管理者" in html or user("admin").name in html
    text = re.sub(r"<[^>]+>", " ", html)
    assert not re.search(r"\b(revision|inquiry|user|manual)\.[a-z_]+|\buser #\d|\brevision #\d", text)
    # The filter offers every action (決裁 and 公布 too) and narrows the list to it.
    assert '<option value="revision.publish"' in html and '<option value="notice.confirm"' in html
    only = client.get("/admin/audit?action=revision.publish").get_data(as_text=True)
    assert only.count("<tr>") == 2 and "公布" in only  # the header row and the one 公布
    by_kind = client.get("/admin/audit?object_type=inquiry").get_data(as_text=True)
    assert "照会の登録" in by_kind and "改正案の起案" not in by_kind.split("<table")[1]


def test_detail_values_in_words_by_their_key() -> None:
    from app.audit import AuditEntry
    from app.audit_names import _details

    entry = AuditEntry(action="revision.create", object_type="revision", object_id="1",
                       details='{"kind": "revise", "manual": "x"}')
    assert ("種別", "改正") in _details(entry, {})
    review = AuditEntry(action="manual.review", object_type="manual", object_id="1", details='{"verdict": "revise"}')
    assert _details(review, {}) == [("見直しの結果", "改正が必要")]
    moved = AuditEntry(action="user.update", object_type="user", object_id="1",
                       details='{"changes": {"unit_id": [3, 5], "is_admin": [false, true]}, "source": "roster"}')
    assert _details(moved, {3: "青葉区 総務課", 5: "泉区 総務課"}) == [
        ("変更内容", "所属: 青葉区 総務課 → 泉区 総務課、システム管理者: いいえ → はい"), ("取込元", "職員名簿")]
