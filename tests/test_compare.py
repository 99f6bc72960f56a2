"""The step alignment of /compare: given two tool sequences, the rows expected."""

from __future__ import annotations

import pytest

from reports.web.compare import Step, align


def steps(names: str) -> list[Step]:
    return [Step(i, 0, name, False, None, None) for i, name in enumerate(names.split())]


def shape(rows) -> list[tuple[str, str | None, str | None]]:
    return [(r.kind, r.a.tool_name if r.a else None, r.b.tool_name if r.b else None) for r in rows]


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("read grep patch", "read grep patch", [("same", "read", "read"), ("same", "grep", "grep"), ("same", "patch", "patch")]),
        ("read patch", "read grep patch", [("same", "read", "read"), ("only_b", None, "grep"), ("same", "patch", "patch")]),
        ("read grep grep patch", "read patch", [("same", "read", "read"), ("only_a", "grep", None), ("only_a", "grep", None), ("same", "patch", "patch")]),
        ("read web patch", "read terminal patch", [("same", "read", "read"), ("changed", "web", "terminal"), ("same", "patch", "patch")]),
        ("read web web", "read terminal", [("same", "read", "read"), ("changed", "web", "terminal"), ("only_a", "web", None)]),
        ("", "read", [("only_b", None, "read")]),
        ("", "", []),
    ],
)
def test_alignment_pairs_matching_steps_and_shows_the_rest(a, b, expected):
    rows = align(steps(a), steps(b))
    assert shape(rows) == expected
    # Each side's steps appear in order, each once.
    assert [r.a.tool_name for r in rows if r.a] == a.split()
    assert [r.b.tool_name for r in rows if r.b] == b.split()
