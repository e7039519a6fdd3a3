"""Tables and pages as text: Markdown for files and the README, self-contained HTML for the report's pages.

Every stage that writes a page renders through these, so the evaluation, forecast, audit, profile and model card
look alike; kept apart from the metrics so that a page needs no numerical library.
"""

from __future__ import annotations

import html
import math


def fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def percent(share: float | None) -> str:
    """A share as a percentage with one decimal, for prose ("n/a" when unknown)."""
    return "n/a" if share is None else f"{100 * share:.1f}%"


def with_ci(value, ci, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if not ci or ci[0] is None:
        return fmt(value, digits)
    return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n"


HTML_STYLE = """<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
p.note { color: #555; max-width: 60em; }
</style>"""


def html_page(title: str, sections: list[tuple[str, str, str]]) -> str:
    """A self-contained page: per section a heading, a note on how to read it, and a table (already HTML)."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{HTML_STYLE}</head><body>",
             f"<h2>{html.escape(title)}</h2>"]
    for heading, note, table in sections:
        parts.append(f"<h3>{html.escape(heading)}</h3><p class='note'>{html.escape(note)}</p>{table}")
    return "".join(parts) + "</body></html>\n"
