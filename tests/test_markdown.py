from __future__ import annotations

import re

from app.markdown import render, slugify, split_sections


def test_raw_html_and_scripts_never_reach_the_page() -> None:
    html = render(
        "## 見出し<script>alert(1)</script>\n\n"
        "<img src=x onerror=alert(1)>\n\n"
        "[link](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) [ok](https://city.example/)\n\n"
        '<a href="#" onclick="alert(1)">x</a>\n'
    ).html
    tags = re.findall(r"<([a-z0-9]+)([^>]*)>", html)
    names = {name for name, _ in tags}
    assert not names & {"script", "img", "iframe", "object"}
    for _name, attrs in tags:
        assert not re.search(r"\son\w+=", attrs), attrs
        assert "javascript:" not in attrs and "data:" not in attrs
    assert '<a href="https://city.example/" rel="noopener noreferrer">ok</a>' in html
    assert "&lt;script&gt;" in html  # shown as text, harmless


def test_headings_get_unique_anchors_and_toc() -> None:
    r = render("# 表題\n\n## 第1章 総則\n\n### 1 目的\n\n## 第1章 総則\n")
    assert [h.anchor for h in r.headings] == ["表題", "第1章-総則", "1-目的", "第1章-総則-2"]
    assert [h.text for h in r.toc] == ["第1章 総則", "1 目的", "第1章 総則"]
    assert 'id="第1章-総則-2"' in r.html


def test_tables_render_with_alignment_classes_not_styles() -> None:
    html = render("| 書類 | 枚数 |\n|---|--:|\n| 申請書 | 1 |\n").html
    assert "<table>" in html and 'class="align-right"' in html and "style=" not in html


def test_sections_match_render_anchors() -> None:
    body = "前文\n\n## Ａ　全角\n本文\n```\n## 見出しではない\n```\n## Ａ　全角\n"
    sections = split_sections(body)
    assert [s.anchor for s in sections] == ["", "a-全角", "a-全角-2"]
    assert [h.anchor for h in render(body).headings] == ["a-全角", "a-全角-2"]
    assert "## 見出しではない" in sections[1].text
    assert slugify("  ") == "section"
