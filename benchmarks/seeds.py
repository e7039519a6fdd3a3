"""The headline of finished runs side by side: run a dataset under other GNN seeds (benchmarks/seeds.yaml) and read here
whether its verdict is the pipeline's or one seed's. Reads results/<name>/evaluation/metrics.json; writes JSON and
prints a Markdown table.

    .venv/bin/python benchmarks/seeds.py olist olist_seed1 olist_seed2 --out benchmarks/results/seeds.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from records import report_runs  # noqa: E402 - benchmarks/records.py, beside this script


def headline_row(name: str) -> dict:
    """The run's headline (best graph model and best baseline, chosen on validation) and the GNN alone against that baseline."""
    metrics = json.loads((Path("results") / name / "evaluation/metrics.json").read_text())
    head, models = metrics["headline"], metrics["models"]
    graph, base = head["graph_model"], head["baseline"]
    alone = metrics["comparison"]["vs"][base]
    return {"run": name, "graph_model": graph, "graph_val": models[graph]["val"]["pr_auc"], "graph_test": models[graph]["test"]["pr_auc"],
            "baseline": base, "baseline_val": models[base]["val"]["pr_auc"], "baseline_test": models[base]["test"]["pr_auc"],
            "difference": head["difference"], "ci": head["ci"], "verdict": head["verdict"],
            "gnn_test": models["gnn"]["test"]["pr_auc"], "gnn_minus_baseline": alone["difference"], "gnn_ci": alone["ci"]}


def markdown(rows: list[dict]) -> str:
    lines = ["| run | best graph model: val / test PR-AUC | best baseline: val / test | graph - baseline [95% CI] | verdict | GNN alone: test, minus the baseline [95% CI] |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['graph_model']}: {r['graph_val']:.3f} / {r['graph_test']:.3f} | {r['baseline']}: {r['baseline_val']:.3f} / "
                     f"{r['baseline_test']:.3f} | {r['difference']:+.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] | {r['verdict']} | "
                     f"{r['gnn_test']:.3f}, {r['gnn_minus_baseline']:+.3f} [{r['gnn_ci'][0]:.3f}, {r['gnn_ci'][1]:.3f}] |")
    return "\n".join(lines)


if __name__ == "__main__":
    report_runs(__doc__.split("\n\n")[0], lambda name: [headline_row(name)], markdown)
