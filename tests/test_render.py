"""The shared Markdown and HTML rendering, against strings written out by hand."""

from __future__ import annotations

import subprocess
import sys

from hotseller.render import fmt, html_page, html_table, markdown_table, with_ci


def test_numbers_round_to_the_digits_asked_and_missing_values_read_n_a():
    assert fmt(0.12345) == "0.123" and fmt(2.0, 2) == "2.00"
    assert fmt(None) == fmt(float("nan")) == fmt(float("inf")) == "n/a"
    assert with_ci(0.1234, [0.1, 0.15]) == "0.123 [0.100, 0.150]"
    assert with_ci(0.5, None) == with_ci(0.5, [None, None]) == "0.500"
    assert with_ci(float("nan"), [0.1, 0.2]) == "n/a"


def test_markdown_table_has_a_header_rule_and_one_line_per_row():
    assert markdown_table(["model", "PR-AUC"], [["gnn", "0.330"], ["gbt", "0.320"]]) == (
        "| model | PR-AUC |\n|---|---|\n| gnn | 0.330 |\n| gbt | 0.320 |\n")


def test_html_escapes_every_header_cell_and_title():
    table = html_table(["a<b"], [["x & y"]])
    assert table == "<table><thead><tr><th>a&lt;b</th></tr></thead><tbody><tr><td>x &amp; y</td></tr></tbody></table>\n"
    page = html_page("P&L", [("h<1>", "a \"note\"", table)])
    assert "<title>P&amp;L</title>" in page and "<h3>h&lt;1&gt;</h3>" in page and "a &quot;note&quot;" in page
    assert page.count(table) == 1 and page.endswith("</body></html>\n")


def test_rendering_imports_no_numerical_library():
    # The audit, profile and forecast pages render through this module; it must stay light to import.
    heavy = ("numpy", "polars", "pandas", "scipy", "sklearn", "matplotlib", "torch")
    code = f"import sys, hotseller.render; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
