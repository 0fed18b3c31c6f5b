"""Crafted URLs never give a 500 (issue 12): every route of the URL map, as the admin and as a ward
user, with its path parameters replaced by huge, negative, zero, malformed and far-date values and its
query string stuffed with the same for the parameters the app reads (and ones it does not)."""

from __future__ import annotations

import re
from itertools import product

import pytest
from flask import Flask

from tests.conftest import login
from tests.helpers import make_manual

pytestmark = pytest.mark.usefixtures("demo_users")

HUGE = "9" * 30
VALUES = [HUGE, "-1", "0", "2147483648", "abc", "..%2F..%2Fetc", "9999-12-31"]
# Query parameters the pages read, plus ones that routing or frameworks sometimes act on.
QUERY_KEYS = ["page", "owner", "unit", "target", "tag", "sort", "q", "kind", "date", "since", "until", "new", "old",
              "revision", "ruling", "round", "status", "scope", "format", "limit", "manual", "anchor", "asof",
              "endpoint", "_method", "next", "back", "action", "obsolete", "inactive", "ward", "actor", "object_type"]


def real_path(rule: str) -> str:
    """The rule filled with values that exist (the test manual, id 1), so the query string is read."""
    def fill(m: re.Match[str]) -> str:
        conv, name = m.group(1) or "", m.group(2)
        if conv.startswith("any("):
            return conv[4:-1].split(",")[0].strip()
        if conv == "int":
            return "1"
        return "kokuho-test" if name == "slug" else "x"
    return re.sub(r"<(?:([^:>]+):)?([^>]+)>", fill, rule)


def path_variants(rule: str) -> list[str]:
    """The rule with each converter filled by each bad value (ints only where ints are expected)."""
    params = re.findall(r"<(?:([^:>]+):)?([^>]+)>", rule)
    if not params:
        return [rule]
    out = []
    for value in VALUES:
        url = rule
        for conv, _name in params:
            if conv == "int" and not re.fullmatch(r"-?\d+", value):
                filler = HUGE
            elif conv.startswith("any("):
                filler = conv[4:-1].split(",")[0].strip()
            else:
                filler = value or "x"
            url = re.sub(r"<[^>]+>", filler, url, count=1)
        out.append(url)
    return sorted(set(out))


@pytest.mark.parametrize("role", ["admin", "aoba.tanto"])
def test_no_route_answers_500_to_crafted_input(app: Flask, client, role: str) -> None:
    make_manual("kokuho-test")
    login(client, role)
    failures = []
    rules = [r for r in app.url_map.iter_rules() if "GET" in (r.methods or set()) and r.endpoint != "static"]
    for rule in rules:
        for url in path_variants(rule.rule):
            res = client.get(url)
            if res.status_code >= 500:
                failures.append(f"{res.status_code} GET {url}")
        url = real_path(rule.rule)
        for key, value in product(QUERY_KEYS, [HUGE, "-5", "9999-12-31", "0000-00-00", "%ff"]):
            if key not in ("page", "date", "until", "since", "endpoint", "_method", "new", "old") and value != HUGE:
                continue  # every key with a huge value; the dangerous keys with every value
            res = client.get(f"{url}?{key}={value}")
            if res.status_code >= 500:
                failures.append(f"{res.status_code} GET {url}?{key}={value}")
    posts = [r for r in app.url_map.iter_rules() if "POST" in (r.methods or set())]
    for rule in posts:
        for url in path_variants(rule.rule)[:4]:
            res = client.post(url, data={"page": HUGE, "user_id": HUGE, "manager_id": HUGE, "consult_unit": HUGE,
                                         "notice_due_days": HUGE, "version": HUGE})
            if res.status_code >= 500:
                failures.append(f"{res.status_code} POST {url}")
    kinds = sorted({re.sub(r"=.*", "=…", re.sub(r"/[^/?]*\d[^/?]*", "/N", f)) for f in failures})
    assert failures == [], "\n".join(kinds[:200])
