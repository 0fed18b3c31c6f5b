from __future__ import annotations

from app.manuals.diff import compare

OLD = "## 1 目的\n\n目的を定める。\n\n## 2 期限\n\n申請は14日以内に行う。\n1. 受付\n2. 審査\n\n## 3 その他\n\n変更なし。\n"


def test_changed_characters_only_are_underlined() -> None:
    new = OLD.replace("14日以内", "30日以内")
    sections = compare(OLD, new)
    changed = [s for s in sections if s.changed]
    assert [s.heading for s in changed] == ["2 期限"]
    row = next(r for r in changed[0].rows if r.changed)
    assert str(row.new) == '申請は<u class="chg">30</u>日以内に行う。'
    assert str(row.old) == '申請は<u class="chg">14</u>日以内に行う。'
    assert not sections[0].changed and not sections[2].changed


def test_inserted_step_sits_beside_the_right_line() -> None:
    new = OLD.replace("1. 受付\n2. 審査\n", "1. 受付\n2. 本人確認\n3. 審査\n")
    rows = [r for s in compare(OLD, new) for r in s.rows if r.changed]
    assert str(rows[0].new) == '<u class="chg">2. 本人確認</u>' and str(rows[0].old) == ""
    assert str(rows[1].new) == '<u class="chg">3</u>. 審査' and str(rows[1].old) == '<u class="chg">2</u>. 審査'


def test_added_and_removed_sections_and_escaping() -> None:
    new = OLD.replace("## 3 その他\n\n変更なし。\n", "## 4 新設\n\n<script>x</script>\n")
    sections = compare(OLD, new)
    status = {s.heading: s.status for s in sections}
    assert status["4 新設"] == "new" and status["3 その他"] == "removed"
    html = "".join(str(r.new) for s in sections for r in s.rows)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_display_folds_unchanged_rows() -> None:
    body = "## 節\n" + "".join(f"行{i}\n" for i in range(20))
    new = body.replace("行10\n", "行10改\n")
    (sec,) = compare(body, new)
    shown = sec.display()
    assert shown[0] is not None and shown[1] is None  # heading, then (略)
    assert sum(1 for r in shown if r is not None and r.changed) == 1
    assert shown[-1] is None
