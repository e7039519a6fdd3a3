"""The model card (results/<dataset>/model_card.md, and an HTML copy for the report), written from the run's
own outputs: data accounting, label definition, split dates, audit, metrics with intervals, calibration,
baselines, ablation and known limits. Nothing in it is typed by hand, so it cannot claim what was not measured.

Run as `hotseller model_card` (workflow/rules/evaluate.smk, rule model_card).
"""

from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path

from hotseller import atomic
from hotseller.evaluate import balance_rows, comparison_rows, data_rows, fmt_share, test_rows
from hotseller.recency import searched_half_lives
from hotseller.render import HTML_STYLE, fmt, html_table, markdown_table, with_ci

log = logging.getLogger("hotseller.model_card")

Block = tuple[str, object]  # ("h1" | "h2" | "p" | "ul" | "table", content)


def early_stopping_line(summary: dict) -> str:
    """Which epoch early stopping kept: one network's, or each ensemble member's."""
    best, run = summary.get("member_best_epochs", [summary["best_epoch"]]), summary.get("member_epochs_run", [summary["epochs_run"]])
    if len(best) == 1:
        return f"Early stopping kept epoch {best[0]} of {run[0]} run."
    kept = ", ".join(f"{b} of {r}" for b, r in zip(best, run))
    return f"An ensemble of {len(best)} networks (seeds seed + 1000 * member), logits averaged; early stopping kept epochs {kept}."


def training_grid(features: dict) -> str:
    """The finer grid of training cutoffs, when one is set (features.train_stride_weeks)."""
    fine = features.get("train_stride_weeks") or 0
    if fine in (0, features.get("stride_weeks")):
        return ""
    return f" (training cutoffs every {fine} week{'s' if fine > 1 else ''}: more, overlapping windows)"


def verdict(metrics: dict) -> str:
    """Plain sentences: does the best model with a GNN inside beat the best without, and the GNN itself the best
    baseline, on test PR-AUC, measurably?"""
    from hotseller.evaluate import headline_sentence

    lead = headline_sentence(metrics) + " " if metrics.get("headline") else ""
    return lead + gnn_verdict(metrics)


def gnn_verdict(metrics: dict) -> str:
    comp = metrics.get("comparison") or {}
    if not comp:
        return "No baseline was evaluated."
    best = comp["best_baseline"]
    d = comp["vs"][best]
    lo, hi = d["ci"]
    gnn, base = metrics["models"]["gnn"]["test"]["pr_auc"], metrics["models"][best]["test"]["pr_auc"]
    if lo is None:
        return f"The network's test PR-AUC is {fmt(gnn)} against {fmt(base)} for the best baseline ({best}); no interval could be computed."
    head = f"The network's (gnn) test PR-AUC is {fmt(gnn)}; the best baseline on validation, {best}, has {fmt(base)}: difference {with_ci(d['difference'], d['ci'])}. "
    if not comp.get("enough_hot", True):
        return head + (f"The test cutoffs hold {metrics['hot']['test']} hot examples, fewer than {comp['min_hot']}: too few to "
                       "tell the two apart, whatever the interval says.")
    if lo > 0:
        return head + "The network is better, and the paired interval excludes 0."
    if hi < 0:
        return head + f"The network is worse than {best}, and the paired interval excludes 0."
    return head + "The interval contains 0: on this test set the network does not measurably beat the best baseline."


def calibration_rows(metrics: dict) -> tuple[list[str], list[list[str]]]:
    header = ["model", "temperature", "bias", "test ECE before", "test ECE after", "test Brier before", "test Brier after"]
    rows = []
    for name, m in metrics["models"].items():
        t, ci = m["test"], m["test_ci"]
        rows.append([name, fmt(m["temperature"], 2), fmt(m.get("bias"), 2), with_ci(t.get("ece"), ci.get("ece")),
                     with_ci(t.get("ece_ts"), ci.get("ece_ts")),
                     with_ci(t.get("brier"), ci.get("brier")), with_ci(t.get("brier_ts"), ci.get("brier_ts"))])
    return header, rows


def known_limits(settings: dict, metrics: dict, split: dict) -> list[str]:
    test_hot = metrics["hot"]["test"]
    weeks = split["cutoff_weeks"]["test"]
    limits = [
        f"The backtest pools {len(weeks)} test cutoffs ({weeks[0]} .. {weeks[-1]}): the intervals resample products (each with "
        "all its cutoffs), so they cover which products happen to be in the test set, not how the models would rank at "
        "another time of year; the per-cutoff table in metrics.md shows how much a model moves from one cutoff to the next.",
        f"The test cutoffs hold {metrics['examples']['test']} examples of which {test_hot} are hot: every metric rests on those "
        f"{test_hot} hot examples, which is why the intervals are as wide as they are.",
        "The validation cutoffs chose the GNN's early-stopping epoch, every F1 threshold, every calibration (temperature and bias), the GBT's settings "
        "and the forecast's model; "
        "validation metrics are optimistic for that reason and only test metrics are reported as results.",
        "Hot is relative: the top share of the products listed at a cutoff. A product that sells nothing in the label window is "
        "never hot, and a newly listed product's history is zero-padded.",
        f"ECE with 15 equal-width bins on a few hundred or thousand hot products ({fmt_share(metrics)} of the test examples) is "
        "noisy; read it with its interval.",
        "The GNN's hyperparameters are config values, not the result of a search; the GBT had a small grid search on validation.",
        "The ablation removes one technique at a time; interactions between techniques are not measured.",
    ]
    if settings.get("source") == "synthetic":
        limits.insert(0, "The data are synthetic (a seeded generator, docs/synthetic-market.md): the numbers say how the methods "
                      "compare on that market, not on a real shop.")
    return limits


GRAPH_INPUTS = (("neighbour_inputs", "its neighbours' aggregates per relation group"),
                ("neighbour_sequences", "its neighbours' weekly units as sequence channels"))  # train options -> how the card says them


def loss_text(train: dict) -> str:
    """The hot loss as the card names it: alpha and gamma only mean something for the focal loss."""
    loss = train.get("loss")
    return f"{loss} (alpha {train.get('focal_alpha')}, gamma {train.get('focal_gamma')})" if loss == "focal" else str(loss)


def architecture_line(train: dict, window: int | None) -> str:
    """What the network is. With train.gnn none (the default since the twenty-second round's ablation) it has no graph
    layers, and the card must not call it a graph network."""
    inputs = " and ".join(name for key, name in GRAPH_INPUTS if train.get(key))
    if train.get("gnn") == "none":
        graph = "no graph layers (train.gnn none; " + (f"the graph reaches it only as inputs: {inputs})" if inputs else "it sees no graph)")
    else:
        graph = (f"{train.get('gnn_layers', '?')} {train.get('gnn', '?')} graph layers over the cutoff's product graph"
                 + (f" (and as inputs: {inputs})" if inputs else ""))
    return (f"Multi-task network: {train.get('encoder', '?')} encoder over {window} weeks of history, static features and a category "
            f"embedding (hidden {train.get('hidden_dim', '?')}), then {graph}; heads for hot (logit), future sales, rating and "
            "engagement; a projection for the contrastive term.")


def start_lines(train: dict) -> list[str]:
    """Where the networks started from: another market's network (transfer), or nothing to say for a fresh start."""
    if not train.get("init_from"):
        return []
    what = "the sequence encoder" if train.get("init_parts") == "encoder" else "every weight but the static-input layer and category embedding"
    return [f"Start (transfer): each network took {what} of the network in {train['init_from']} (member by member), then trained as above."]


def build(settings: dict, metrics: dict, split: dict, accounting: dict, audit: dict, train_summary: dict | None,
          ablation: dict | None, gbt_search: dict | None) -> list[Block]:
    features, train = settings.get("features", {}), settings.get("train", {})
    dataset = settings.get("dataset", "?")
    h, q, w = features.get("horizon_weeks"), features.get("hot_quantile"), features.get("window_weeks")
    blocks: list[Block] = [
        ("h1", f"Model card: hotseller's network on `{dataset}`"),
        ("p", "Written by the workflow from this run's outputs (results/" + dataset + "/); every number below was measured by it."),
        ("p", verdict(metrics)),
        ("h2", "Model"),
        ("ul", [
            architecture_line(train, w),
            f"Training: loss {loss_text(train)}, label smoothing "
            f"{train.get('label_smoothing')}, contrastive weight {train.get('w_contrast')}, rating {train.get('w_rating')}, engagement "
            f"{train.get('w_engagement')}, mixup {train.get('use_mixup')}, CutMix {train.get('use_cutmix')}, AMP {train.get('amp')}, "
            f"AdamW lr {train.get('lr')}, batch {train.get('batch_size')}, up to {train.get('epochs')} epochs, patience {train.get('patience')}, seed {train.get('seed')}.",
            *start_lines(train),
            *([early_stopping_line(train_summary)] if train_summary else []),
            "Intended use: rank the products listed at a week by their chance of being among the best sellers of the next "
            f"{h} weeks, to decide where to look first. Not for forecasting units, pricing, or judging individual sellers.",
        ]),
        ("h2", "Data"),
        ("p", f"Dataset `{dataset}` (source: {settings.get('source', '?')}). Rows read, accepted and quarantined by ingestion:"),
        ("table", data_rows(accounting)),
        ("h2", "Label definition"),
        ("p", f"One example per product listed at a cutoff week t (first seen at or before t). Inputs use weeks t-{w - 1 if w else '?'}..t only. "
              f"hot = 1 when the product's units in weeks t+1..t+{h} rank in the top {q} of the products listed at t (ties by product "
              "order; a product with no sales is never hot). Auxiliary targets: mean review rating and log1p(reviews) in the same window. "
              f"Cutoffs every {features.get('stride_weeks')} weeks" + training_grid(features) + "."),
        ("h2", "Split"),
        ("p", f"Temporal, a rolling-origin backtest: test is the last {len(split['cutoffs']['test'])} cutoffs, pooled; the "
              f"{len(split['cutoffs']['val'])} validation cutoffs' label windows end at or before the first test cutoff; training "
              f"label windows end at or before the first validation cutoff (horizon {split['horizon_weeks']} weeks)."),
        ("table", balance_rows(split)),
        ("h2", "Leakage audit"),
        ("p", "passed: " + ", ".join(f"{c['name']} ({c['checked']} rows)" for c in audit["checks"]) if audit.get("passed")
         else "FAILED (this card should not exist; see results/" + dataset + "/audit/violations.csv)"),
        ("h2", "Metrics (pooled test cutoffs, 95% bootstrap intervals)"),
        ("p", f"{metrics['bootstrap']['resamples']} resamples of the test products (each with all its cutoffs), every model on the same resamples. "
              f"PR-AUC is the headline ({fmt_share(metrics)} of the test examples are hot); precision@k takes as many products per cutoff as are hot there; "
              "F1 uses the threshold chosen on validation."),
        ("table", test_rows(metrics)),
        ("table", comparison_rows(metrics)),
        ("h2", "Calibration"),
        ("p", "Platt scaling divides each model's logit by a temperature and adds a bias, both fitted on validation (log "
              "loss): the bias undoes a shift such as logistic regression's class weights put on its probabilities. It "
              "changes probabilities, not rankings, so PR-AUC is unchanged. The heuristics' scores are not probabilities."),
        ("table", calibration_rows(metrics)),
        ("h2", "Baselines"),
        ("ul", baseline_lines(gbt_search)),
    ]
    if ablation:
        from hotseller.ablation import explanation, table_rows

        blocks += [("h2", "Ablation"), ("p", explanation(ablation)), ("table", table_rows(ablation))]
    blocks += [("h2", "Known limits"), ("ul", known_limits(settings, metrics, split)),
               ("h2", "Reproduce"), ("p", f"`snakemake --cores 2 --config dataset={dataset}` then "
                                          f"`snakemake --report results/{dataset}/report.html --config dataset={dataset}`.")]
    return blocks


def baseline_lines(gbt_search: dict | None) -> list[str]:
    lines = [
        "persistence: no learning; score = mean log units of the last 4 weeks (the recent level).",
        "momentum: no learning; score = mean log units of the last 4 weeks plus its change from the 4 weeks before.",
        "logreg: logistic regression (class-balanced, standardised) on the tabular features: the W-week sequence flattened, "
        "static features and the category index.",
        "gbt: scikit-learn HistGradientBoosting on the same features plus graph aggregates per relation group (category "
        "ring, seller ring, event relations: degree, neighbours' mean recent units and growth at the same cutoff, past edges only).",
        "logreg_gbt: sigmoid(w logit P(logreg) + (1 - w) logit P(gbt)), logistic regression's share w in {0, 0.1, .., 1} chosen "
        "on validation PR-AUC: the strongest model without the network, and the yardstick for the blend.",
        "gnn_gbt (a model with the network inside): the same trees, with the settings gbt's search chose, on the same features plus the trained "
        "network's embedding of each product (RelBench's GNN + LightGBM recipe).",
        "blend (a model with the network inside): sigmoid(w logit P(gnn) + (1 - w) logit P(b)), the partner b (logreg, gbt or logreg_gbt) and "
        "the network's share w in {0.1, .., 1} chosen together on the blend's validation PR-AUC.",
    ]
    if gbt_search:
        grid = ", ".join(f"{k} in {v}" for k, v in gbt_search["grid"].items())
        candidates = gbt_search["training"].get("recency_half_lives", [])
        if len(candidates) > 1:
            grid += f", each at recency_half_life in [{', '.join(f'{h:g}' for h in candidates)}]"
        if gbt_search["training"].get("source_rows"):
            grid += ", each without and with the transfer source's rows"
        lines.append(f"gbt search on validation PR-AUC over {len(gbt_search['search'])} settings ({grid}; fixed {gbt_search['fixed']}): "
                     f"chose {gbt_search['chosen']} (validation PR-AUC {gbt_search['chosen_val_pr_auc']:.3f}).")
        lines.extend(recency_lines(gbt_search))
        lines.extend(source_lines(gbt_search))
    return lines


def source_lines(gbt_search: dict) -> list[str]:
    """Whether the GBT kept a transfer source's training rows it was offered (none without a source)."""
    offer = gbt_search["training"].get("source_rows")
    if not offer:
        return []
    said = {True: "kept them", False: "left them out"}
    blend = gbt_search.get("logreg_gbt", {}).get("source_rows")
    mixed = f"; logreg_gbt chose its gbt on its own validation, which {said[blend]}" if blend is not None else ""
    return [f"Transfer source (transfer.source, whose network the network starts from): gbt was offered its {offer['offered']:,} "
            f"training rows as a second arm of its search and {said[offer['kept']]} on validation{mixed}; logreg learns from this "
            "market's rows alone, and gnn_gbt takes the settings of the best fit on them (the embeddings exist for them only)."]


def recency_lines(gbt_search: dict) -> list[str]:
    """What recency weight the fitted baselines chose (none when they had only "off" to take)."""
    gbt, candidates = searched_half_lives(gbt_search["training"])
    logreg = gbt_search.get("logreg", {}).get("recency_half_life", gbt)
    if candidates == [0]:
        return []
    hybrid = gbt_search.get("hybrid_trees", {}).get("recency_half_life", gbt)  # gnn_gbt's: the best fit without a source's rows
    chosen = {"logreg": logreg, "gbt and gnn_gbt": gbt} if hybrid == gbt else {"logreg": logreg, "gbt": gbt, "gnn_gbt": hybrid}
    kept = "; ".join(f"{name} {h:g}" if h else f"{name} none" for name, h in chosen.items())
    how = "chose on validation from half-lives " + ", ".join(f"{h:g}" for h in candidates) if len(candidates) > 1 else "were given"
    return [f"Recency weight (each training example 0.5 ** (training cutoffs after its own / half-life), scaled to mean 1; "
            f"baselines.recency_half_life): the models {how}: {kept}."]


# ---------------------------------------------------------------------------------------------------------


def inline_html(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def to_markdown(blocks: list[Block]) -> str:
    out = []
    for kind, content in blocks:
        if kind == "h1":
            out.append(f"# {content}\n")
        elif kind == "h2":
            out.append(f"## {content}\n")
        elif kind == "p":
            out.append(f"{content}\n")
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in content) + "\n")
        elif kind == "table":
            out.append(markdown_table(*content))
    return "\n".join(out)


def to_html(blocks: list[Block]) -> str:
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Model card</title>{HTML_STYLE}</head><body>"]
    for kind, content in blocks:
        if kind in ("h1", "h2"):
            out.append(f"<{kind}>{inline_html(content)}</{kind}>")
        elif kind == "p":
            out.append(f"<p class='note'>{inline_html(content)}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{inline_html(item)}</li>" for item in content) + "</ul>")
        elif kind == "table":
            out.append(html_table(*content))
    return "".join(out) + "</body></html>\n"


def read_json(path: str | None) -> dict | None:
    return json.loads(Path(path).read_text()) if path else None


CARD_FILES = ("metrics", "split", "accounting", "audit", "train_summary", "ablation", "gbt_search")  # build's order


def write_card(settings: dict, files: dict[str, str | None], out: Path, page: Path) -> None:
    """The stage: the card from the run's own files (`files`, named as CARD_FILES; the last three may be None), as
    Markdown and as the report's HTML page."""
    blocks = build(settings, *(read_json(files.get(name)) for name in CARD_FILES))
    atomic.write_text(to_markdown(blocks), out)
    atomic.write_text(to_html(blocks), page)
    log.info("model card written to %s and %s", out, page)
