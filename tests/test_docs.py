"""Every relative link of the README and docs/ reaches a file, and every #anchor a heading of it (GitHub's slugs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (hyphens and underscores kept), spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings; a repeated heading gets -1, -2, ... as GitHub numbers them."""
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}\s+(.*)$", strip_code(page.read_text()), flags=re.M):
        base = slug(heading)
        seen[base] = seen.get(base, -1) + 1
    return set(seen) | {f"{base}-{k}" for base, n in seen.items() for k in range(1, n + 1)}


def strip_code(text: str) -> str:
    return re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.S | re.M)


def test_the_slugs_are_githubs():
    assert slug("Reproducing a figure") == "reproducing-a-figure"
    assert slug("Preemption, time limits and resuming `train`") == "preemption-time-limits-and-resuming-train"
    assert slug("Panel: one row per product and week") == "panel-one-row-per-product-and-week"
    assert slug("`panel` — one row per product and week") == "panel--one-row-per-product-and-week"
    assert slug("What's new in v1.2") == "whats-new-in-v12"


def test_a_repeated_heading_is_numbered_from_1(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# A\n## A\n### A\n~~~\n# B\n~~~\n")
    assert anchors(page) == {"a", "a-1", "a-2"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(strip_code(page.read_text())):
        if re.match(r"[a-z]+://|mailto:", target):
            continue
        path, _, fragment = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            broken.append(f"{target}: no such heading")
    assert broken == []
