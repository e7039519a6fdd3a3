"""benchmarks/records.py: runs that add to one JSON record keep each other's entries."""

from __future__ import annotations

import json
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))


def test_updates_nest_and_keep_the_other_entries(tmp_path):
    from records import update_record

    path = tmp_path / "deep" / "record.json"
    update_record(path, ["olist", "defaults"], {"mean": 0.24})
    update_record(path, ["olist", "ema"], {"mean": 0.25})
    update_record(path, ["realistic"], 1)
    document = update_record(path, ["olist", "defaults"], {"mean": 0.23})  # a rerun replaces its own entry only
    expected = {"olist": {"defaults": {"mean": 0.23}, "ema": {"mean": 0.25}}, "realistic": 1}
    assert document == expected
    assert json.loads(path.read_text()) == expected


def test_a_report_of_runs_writes_every_runs_rows_in_order_and_prints_them(tmp_path, monkeypatch, capsys):
    from records import report_runs

    out = tmp_path / "report.json"
    monkeypatch.setattr(sys, "argv", ["script", "a", "b", "--out", str(out)])
    report_runs("test", lambda name: [{"run": name, "k": 1}, {"run": name, "k": 2}],
                lambda rows: "\n".join(f"{r['run']}{r['k']}" for r in rows))
    assert json.loads(out.read_text()) == [{"run": "a", "k": 1}, {"run": "a", "k": 2}, {"run": "b", "k": 1}, {"run": "b", "k": 2}]
    assert capsys.readouterr().out == "a1\na2\nb1\nb2\n"
