"""`hotseller <stage>`: one subcommand per pipeline stage, each with explicit inputs, outputs and parameters.

The Snakemake rules call these; nothing here reads config.yaml, so every value reaches a stage through
its command line and Snakemake sees it as a param.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

from hotseller import atomic
from hotseller.train.config import CHOICES, TrainConfig

log = logging.getLogger("hotseller")


def add_recency_flag(parser: argparse.ArgumentParser) -> None:
    """The trees' candidate recency weights (baselines.recency_half_life), for the baselines and the hybrid's trees alike."""
    parser.add_argument("--recency-half-life", type=float, nargs="+", default=[0.0],
                        help="weight each training example 0.5 ** (training cutoffs after its own / h) (0 = all alike); with several h, "
                             "logreg and the GBT each keep the one best on validation")


def add_train_flags(parser: argparse.ArgumentParser) -> None:
    """Every TrainConfig field as a flag, in the seed's underscore spelling and a dash spelling."""
    defaults = TrainConfig()
    for name in TrainConfig.names():
        default = getattr(defaults, name)
        spellings = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
        if isinstance(default, bool):
            parser.add_argument(*spellings, dest=name, action=argparse.BooleanOptionalAction, default=default)
        elif isinstance(default, list):
            parser.add_argument(*spellings, dest=name, type=int, nargs="+", default=default)
        else:
            kwargs = {"choices": CHOICES[name]} if name in CHOICES else {}
            parser.add_argument(*spellings, dest=name, type=type(default), default=default, **kwargs)


def command_flags(values: dict) -> str:
    """A stage's parameters as one command-line string, e.g. {"window_weeks": 12} -> "--window-weeks 12".

    Rules pass this as a single param on purpose: Snakemake records params as a set of values without
    their names, so two params swapping values, or one taking a value another already has, would not
    trigger a rerun; one string holding every name and value always changes when any of them does.
    """
    parts = []
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{name.replace('_', '-')}")
        elif isinstance(value, (list, tuple)):
            parts.append(" ".join([flag, *map(str, value)]))
        else:
            parts.append(f"{flag} {shlex.quote(str(value))}")  # quoted: an empty string is still a value
    return " ".join(parts)


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_synth(args: argparse.Namespace) -> None:
    from hotseller.synth import market_spec, write_market

    spec = market_spec(args.products, args.weeks, args.categories, args.sellers, args.seed, args.bad_row_rate, json.loads(args.market))
    paths = write_market(spec, Path(args.out_dir))
    log.info("synthetic market %s written: %s", spec, {k: str(v) for k, v in paths.items()})


def columns_option(text: str) -> dict:
    """The --columns JSON, or one line saying what shape it must have."""
    from hotseller.ingest.contract import IngestError

    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise IngestError(f"--columns is not valid JSON ({err}): give {{table: {{contract_column: your_column}}}}") from None


def cmd_ingest(args: argparse.Namespace) -> None:
    from hotseller.ingest import read_source, write_outputs

    files = {"panel": args.panel, "reviews": args.reviews, "products": args.products, "relations": args.relations}
    tables, rejected, accounting = read_source(args.source, files, args.path, columns_option(args.columns))
    write_outputs(Path(args.out_dir), tables, rejected, accounting)


def label_spec(args: argparse.Namespace):
    """The example definition from the flags that features and audit share (the audit rebuilds with the same)."""
    from hotseller.specs import LabelSpec

    return LabelSpec(args.window_weeks, args.horizon_weeks, args.hot_quantile, args.stride_weeks, args.text_embeddings, args.text_dims,
                     args.train_stride_weeks)


def cmd_features(args: argparse.Namespace) -> None:
    from hotseller.features import all_examples, forecast_frame, market_from_files

    market = market_from_files(Path(args.panel), Path(args.reviews), Path(args.products), label_spec(args))
    examples = all_examples(market)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_parquet(examples, args.out)
    log.info("%d examples over %d cutoffs, hot rate %.4f", examples.height, examples["cutoff"].n_unique(), examples["hot"].mean())
    if args.forecast_out:
        forecast = forecast_frame(market)
        atomic.write_parquet(forecast, args.forecast_out)
        log.info("forecast inputs: %d products listed at the last week (%s)", forecast.height, forecast["cutoff_week"].max())


def cmd_graph(args: argparse.Namespace) -> None:
    from hotseller.graph import GraphSpec, build_edges, last_week, warn_unread_kinds
    from hotseller.weeks import example_stride

    spec = GraphSpec(tuple(args.relation_kinds), args.min_weight, args.category_degree, args.seller_degree, args.seed)
    warn_unread_kinds(spec.relation_kinds, Path(args.relations))
    edges = build_edges(Path(args.products), Path(args.relations), Path(args.panel), args.window_weeks, args.horizon_weeks,
                        example_stride(args.stride_weeks, args.train_stride_weeks), spec)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_parquet(edges, args.out)
    log.info("%d edges over %d cutoffs by kind %s", edges.height, edges["cutoff"].n_unique(),
             dict(edges.group_by("kind").len().sort("kind").iter_rows()))
    if args.forecast_out:
        forecast = build_edges(Path(args.products), Path(args.relations), Path(args.panel), args.window_weeks, args.horizon_weeks,
                               args.stride_weeks, spec, cutoffs=[last_week(Path(args.panel))])
        atomic.write_parquet(forecast, args.forecast_out)
        log.info("forecast graph at the last week: %d edges", forecast.height)


def cmd_split(args: argparse.Namespace) -> None:
    from hotseller.split import make_split

    document = make_split(Path(args.examples), args.horizon_weeks, args.max_train_cutoffs, args.test_cutoffs, args.val_cutoffs,
                          args.stride_weeks)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic.write_json(document, args.out)
    log.info("split: %s", document["cutoff_weeks"])


def cmd_train(args: argparse.Namespace) -> None:
    from hotseller.train.loop import train

    cfg = TrainConfig(**{name: getattr(args, name) for name in TrainConfig.names()})
    if args.data:
        examples, edges, split = prepare_from_files(args)
    else:
        missing = [f for f in ("examples", "edges", "split") if not getattr(args, f)]
        if missing:
            raise SystemExit(f"hotseller train: give --data (and --reviews_file) or all of --examples --edges --split; missing {missing}")
        examples, edges, split = Path(args.examples), Path(args.edges), Path(args.split)
    train(cfg, examples, edges, split, Path(args.out), resume=args.resume)


def prepare_from_files(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """The seed-compatible path: run ingest -> features -> graph -> split on --data/--reviews_file."""
    from hotseller.features import LabelSpec, build_examples
    from hotseller.graph import GraphSpec, build_edges
    from hotseller.ingest import generic, write_outputs
    from hotseller.split import make_split

    work = Path(args.out) / "prepared"
    tables, rejected, accounting = generic.ingest({"panel": args.data, "reviews": args.reviews_file}, {})
    write_outputs(work, tables, rejected, accounting)
    spec = LabelSpec()
    examples = work / "examples.parquet"
    atomic.write_parquet(build_examples(work / "panel.parquet", work / "reviews.parquet", work / "products.parquet", spec), examples)
    edges = work / "edges.parquet"
    atomic.write_parquet(build_edges(work / "products.parquet", work / "relations.parquet", work / "panel.parquet", spec.window_weeks,
                                     spec.horizon_weeks, spec.stride_weeks, GraphSpec()), edges)
    split = work / "split.json"
    split.write_text(json.dumps(make_split(examples, spec.horizon_weeks, 0), indent=2) + "\n")
    return examples, edges, split


def cmd_tune(args: argparse.Namespace) -> None:
    """The GNN's hyperparameter search on validation; best values as a config override file."""
    from hotseller.tune import run_tune

    base = TrainConfig(**{name: getattr(args, name) for name in TrainConfig.names()})
    run_tune(base, json.loads(args.space), Path(args.examples), Path(args.edges), Path(args.split), args.dataset, args.trials,
             args.tune_seed, Path(args.out_dir), args.holdout, args.confirm_seeds)


def cmd_baselines(args: argparse.Namespace) -> None:
    from hotseller.baselines import run_baselines

    forecast = (Path(args.forecast_examples), Path(args.forecast_edges)) if args.forecast_examples else None
    run_baselines(Path(args.examples), Path(args.edges), Path(args.split), Path(args.out), args.seed, args.threads, args.max_train_rows,
                  forecast, args.recency_half_life, tuple(map(Path, args.source)) if args.source else None)


def cmd_hybrid(args: argparse.Namespace) -> None:
    """GBT on tabular features + the GNN's embeddings, and the validation-weighted blend of the GNN and a baseline."""
    from threadpoolctl import threadpool_limits

    from hotseller.errors import UserError
    from hotseller.hybrid import BLEND_PARTNERS, run_hybrid
    from hotseller.recency import searched_half_lives

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads or None):
        gbt_search = json.loads(Path(args.gbt_search).read_text())
        partners = {Path(path).stem: Path(path) for path in args.partners}
        if sorted(partners) != sorted(BLEND_PARTNERS):
            raise UserError(f"hotseller hybrid --partners: give the predictions of {', '.join(BLEND_PARTNERS)} as "
                            f"<name>.parquet (the baselines stage's files); got {sorted(partners)}")
        _, searched = searched_half_lives(gbt_search["training"])
        if searched != args.recency_half_life:
            raise UserError(f"hotseller hybrid --recency-half-life {' '.join(f'{h:g}' for h in args.recency_half_life)}: "
                            f"{args.gbt_search} was searched over {' '.join(f'{h:g}' for h in searched)}; rerun the baselines stage "
                            "with the same baselines.recency_half_life")
        trees = gbt_search["hybrid_trees"]  # the baselines' best fit on this market's rows alone
        run_hybrid(Path(args.model), Path(args.examples), Path(args.edges), Path(args.split), partners, trees["chosen"],
                   (Path(args.forecast_examples), Path(args.forecast_edges)), Path(args.baseline_forecast), Path(args.out),
                   args.seed, args.max_train_rows, trees["recency_half_life"])


def cmd_evaluate(args: argparse.Namespace) -> None:
    from hotseller.evaluate import evaluate

    graph_models = {p.stem: p for p in map(Path, args.graph_models)}
    predictions = {"gnn": Path(args.gnn), **{p.stem: p for p in map(Path, args.baselines)}, **graph_models}
    evaluate(predictions, Path(args.out_dir), Path(args.train_log), Path(args.accounting), Path(args.split),
             graph_models={"gnn", *graph_models})


def cmd_model_card(args: argparse.Namespace) -> None:
    from hotseller.model_card import CARD_FILES, write_card

    files = {name: getattr(args, name) for name in CARD_FILES}
    write_card(json.loads(args.settings), files, Path(args.out), Path(args.html))


def cmd_audit(args: argparse.Namespace) -> None:
    """The leakage audit: fails (exit 1) naming the offending rows when any example could see its future."""
    from hotseller.audit import run_audit, write_audit

    spec = label_spec(args)
    summary, offending = run_audit(Path(args.examples), Path(args.edges), Path(args.panel), Path(args.reviews), Path(args.products),
                                   Path(args.relations), Path(args.split), spec, args.seed, args.scramble_products)
    write_audit(summary, offending, Path(args.out_dir))


def cmd_ablation(args: argparse.Namespace) -> None:
    """The ablation table from every (variant, seed) run's predictions."""
    from hotseller.ablation import parse_runs, summarise, write_ablation

    doc = summarise(parse_runs(args.run), json.loads(args.variants), args.resamples, args.seed)
    write_ablation(doc, Path(args.out_dir))


def cmd_package(args: argparse.Namespace) -> None:
    """The portable model folder: the trained weights and one model.json with everything a forecast needs."""
    from hotseller.specs import GraphSpec
    from hotseller.package import package

    graph = GraphSpec(tuple(args.relation_kinds), args.min_weight, args.category_degree, args.seller_degree, args.graph_seed)
    package(Path(args.trained), Path(args.products), Path(args.metrics), Path(args.split), label_spec(args), graph, args.dataset,
            Path(args.out))


def cmd_profile(args: argparse.Namespace) -> None:
    """The dataset's profile, or (--compare) the side-by-side table of several profile.json files."""
    from hotseller.profile import profile, side_by_side, write_profile

    if args.compare:
        from hotseller.render import markdown_table

        docs = {Path(p).parent.parent.name: json.loads(Path(p).read_text()) for p in args.compare}
        print(markdown_table(*side_by_side(docs)))
        return
    missing = [f"--{n.replace('_', '-')}" for n in ("panel", "reviews", "products", "examples", "edges", "out_dir") if not getattr(args, n)]
    if missing:
        raise SystemExit(f"hotseller profile: give {', '.join(missing)} (or --compare profile.json ...)")
    doc = profile(Path(args.panel), Path(args.reviews), Path(args.products), Path(args.examples), Path(args.edges), label_spec(args))
    write_profile(doc, args.dataset, Path(args.out_dir))


PIPELINE_INPUTS = ("examples", "edges", "products", "panel_table", "baselines", "metrics", "split")


def cmd_forecast(args: argparse.Namespace) -> None:
    """Score the last week (or --as-of) with a saved model: on new files (--data), or inside the workflow."""
    from hotseller.forecast import forecast_from_files, forecast_in_pipeline

    if args.data:
        files = {"panel": args.data, "reviews": args.reviews_file, "products": args.products, "relations": args.relations}
        forecast_from_files(Path(args.model), files, columns_option(args.columns), args.as_of, Path(args.out))
        return
    missing = [f"--{name}" for name in PIPELINE_INPUTS if not getattr(args, name)]
    if missing:
        raise SystemExit(f"hotseller forecast: give --data panel.csv (new files), or all of {', '.join(missing).replace('_', '-')} (inside the workflow)")
    forecast_in_pipeline(Path(args.model), Path(args.examples), Path(args.edges), Path(args.products), Path(args.panel_table),
                         [Path(p) for p in args.baselines], Path(args.metrics), Path(args.split), Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotseller", description=__doc__)
    sub = parser.add_subparsers(dest="stage", required=True)

    p = sub.add_parser("synth", help="write a seeded synthetic market in the generic raw format")
    p.add_argument("--out-dir", required=True)
    for flag, default in (("--products", 300), ("--weeks", 60), ("--categories", 6), ("--sellers", 30), ("--seed", 7)):
        p.add_argument(flag, type=int, default=default)
    p.add_argument("--bad-row-rate", type=float, default=0.001)
    p.add_argument("--market", default="{}", help="JSON: generator knobs (MarketSpec fields), e.g. '{\"spike_rate\": 0.03}'")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("ingest", help="validate raw files into the standard tables, quarantining bad rows")
    p.add_argument("--source", default="generic", choices=["generic", "olist", "online_retail"])
    p.add_argument("--path", help="olist / online_retail: the dataset's folder or file, in its original published format")
    p.add_argument("--panel", help="generic: the panel file (required for generic)")
    p.add_argument("--reviews")
    p.add_argument("--products")
    p.add_argument("--relations")
    p.add_argument("--columns", default="{}", help="JSON: {table: {contract_column: your_column}}")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_ingest)

    from hotseller.specs import GraphSpec, LabelSpec

    label, graph = LabelSpec(), GraphSpec()  # one set of defaults for the stages a user runs by hand

    def label_flags(q: argparse.ArgumentParser) -> None:
        q.add_argument("--window-weeks", type=int, default=label.window_weeks)
        q.add_argument("--horizon-weeks", type=int, default=label.horizon_weeks)
        q.add_argument("--stride-weeks", type=int, default=label.stride_weeks)
        q.add_argument("--train-stride-weeks", type=int, default=label.train_stride_weeks,
                       help="a finer grid of examples for training cutoffs only (must divide --stride-weeks; 0: the same grid)")

    def graph_flags(q: argparse.ArgumentParser, seed_flag: str) -> None:
        """What GraphSpec reads: the graph stage and the package (which records it for the forecast) take the same flags."""
        q.add_argument("--relation-kinds", nargs="*", default=list(graph.relation_kinds))
        q.add_argument("--min-weight", type=float, default=graph.min_weight)
        q.add_argument("--category-degree", type=int, default=graph.category_degree)
        q.add_argument("--seller-degree", type=int, default=graph.seller_degree)
        q.add_argument(seed_flag, type=int, default=graph.seed)

    def example_flags(q: argparse.ArgumentParser) -> None:
        """What label_spec reads: features and the audit, which rebuilds the examples, take the same flags."""
        label_flags(q)
        q.add_argument("--hot-quantile", type=float, default=label.hot_quantile)
        q.add_argument("--text-embeddings", action=argparse.BooleanOptionalAction, default=label.text_embeddings,
                       help="add s_text_* static features: mean projected MiniLM embedding of the reviews to date (needs the text extra)")
        q.add_argument("--text-dims", type=positive_int, default=label.text_dims, help="dimensions of the fixed random projection of the 384-d embeddings")

    p = sub.add_parser("features", help="examples (product, cutoff) with past-only inputs and future labels")
    for name in ("panel", "reviews", "products", "out"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--forecast-out", help="also write the unlabelled inputs at the data's last week (what the forecast scores)")
    example_flags(p)
    p.set_defaults(func=cmd_features)

    p = sub.add_parser("graph", help="per-cutoff product graph from past events only")
    for name in ("panel", "products", "relations", "out"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--forecast-out", help="also write the graph at the data's last week (what the forecast scores on)")
    label_flags(p)
    graph_flags(p, "--seed")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("split", help="temporal train/val/test split of the cutoffs, checked for leakage")
    p.add_argument("--examples", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--horizon-weeks", type=int, default=label.horizon_weeks)
    p.add_argument("--max-train-cutoffs", type=int, default=0, help="0 keeps every eligible cutoff")
    p.add_argument("--test-cutoffs", type=positive_int, default=1, help="the last N cutoffs are test (the pooled backtest)")
    p.add_argument("--val-cutoffs", type=positive_int, default=1, help="N validation cutoffs before the first test cutoff")
    p.add_argument("--stride-weeks", type=positive_int, required=True,
                   help="validation and test cutoffs lie this many weeks apart, counted back from the last cutoff: the "
                        "features stage's --stride-weeks (no default: on a finer training grid, a default would put "
                        "validation and test on it)")
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("train", help="train the multi-task GNN (seed-compatible flags)")
    p.add_argument("--examples")
    p.add_argument("--edges")
    p.add_argument("--split")
    p.add_argument("--data", help="panel CSV/parquet: run ingest..split on it first (seed-compatible)")
    p.add_argument("--reviews_file", "--reviews-file", dest="reviews_file")
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if it exists")
    add_train_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune", help="the GNN's hyperparameter search on validation (Optuna), best values as a config file")
    for name in ("examples", "edges", "split", "out-dir"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--dataset", required=True, help="the dataset whose overrides.train the best values become")
    p.add_argument("--space", required=True, help="JSON: {train setting: {low, high, log} | {choices}}")
    p.add_argument("--trials", type=positive_int, default=20)
    p.add_argument("--tune-seed", type=int, default=0, help="seed of the sampler (each trial trains with --seed)")
    p.add_argument("--holdout", action=argparse.BooleanOptionalAction, default=True,
                   help="search on the earlier half of the validation cutoffs; the later half judges its best against the configured settings")
    p.add_argument("--confirm-seeds", type=positive_int, default=3, help="networks per side in that check")
    add_train_flags(p)
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("baselines", help="persistence and momentum heuristics, logistic regression and gradient-boosted trees")
    for name in ("examples", "edges", "split", "out"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--seed", type=int, default=0, help="seed of the GBT and of the training-row sample")
    p.add_argument("--max-train-rows", type=int, default=0, help="fit on a seeded sample of this many training examples when there are more (0 = all)")
    p.add_argument("--threads", type=int, default=0, help="cap on OpenMP/BLAS threads (0 = library default)")
    add_recency_flag(p)
    p.add_argument("--forecast-examples", help="inputs at the data's last week (features --forecast-out): also score them")
    p.add_argument("--forecast-edges", help="the graph at the data's last week (graph --forecast-out)")
    p.add_argument("--source", nargs=3, metavar=("EXAMPLES", "EDGES", "SPLIT"),
                   help="transfer.source's run: its training rows are offered to the GBT's search (an arm kept where validation prefers it)")
    p.set_defaults(func=cmd_baselines)

    p = sub.add_parser("hybrid", help="models with the GNN inside: GBT on tabular features + GNN embeddings, GNN/baseline blend")
    for name in ("model", "examples", "edges", "split", "gbt-search", "forecast-examples", "forecast-edges", "baseline-forecast", "out"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--partners", nargs="+", required=True, help="logreg.parquet, gbt.parquet and logreg_gbt.parquet: the blend takes the one it is best with on validation")
    p.add_argument("--seed", type=int, default=0, help="seed of the trees and of the training-row sample")
    p.add_argument("--max-train-rows", type=int, default=0, help="fit on a seeded sample of this many training examples (0 = all)")
    p.add_argument("--threads", type=int, default=0, help="cap on torch and OpenMP/BLAS threads (0 = library default)")
    add_recency_flag(p)
    p.set_defaults(func=cmd_hybrid)

    p = sub.add_parser("evaluate", help="metrics of every model on the same split, plots")
    p.add_argument("--gnn", required=True, help="the GNN's predictions.parquet")
    p.add_argument("--baselines", nargs="*", default=[], help="baseline predictions, one parquet per model (named by file stem)")
    p.add_argument("--graph-models", nargs="*", default=[], help="predictions of other models with the GNN inside (hybrids)")
    p.add_argument("--train-log", required=True, help="the GNN's train_log.csv (for the training curves)")
    p.add_argument("--accounting", required=True, help="ingest's accounting.json (for the report)")
    p.add_argument("--split", required=True, help="split.json (label balance for the report)")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("model_card", help="the model card (Markdown and the report's page) from a finished run's files")
    for name in ("metrics", "split", "accounting", "audit", "out", "html"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--train-summary", help="the train step's metrics.json (best epoch)")
    p.add_argument("--ablation", help="ablation.json, when the ablation ran")
    p.add_argument("--gbt-search", help="the baselines' gbt_search.json")
    p.add_argument("--settings", default="{}", help="JSON: dataset, source, features and train settings of the run")
    p.set_defaults(func=cmd_model_card)

    p = sub.add_parser("audit", help="leakage audit of examples, edges and split; fails naming the offending rows")
    for name in ("examples", "edges", "panel", "reviews", "products", "relations", "split", "out-dir"):
        p.add_argument(f"--{name}", required=True)
    example_flags(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the noise that replaces the future (and of the product sample)")
    p.add_argument("--scramble-products", type=int, default=0,
                   help="scrambled-future rebuilds use at most this many products, a seeded sample (0 = all)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("profile", help="what the dataset is like: sparsity, autocorrelation, label persistence, graph signals")
    for name in ("panel", "reviews", "products", "examples", "edges", "out-dir"):
        p.add_argument(f"--{name}")
    p.add_argument("--dataset", default="dataset", help="the name shown in the tables")
    p.add_argument("--compare", nargs="+", help="print the side-by-side table of these profile.json files instead")
    example_flags(p)
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("package", help="the portable model folder (weights + model.json) that `forecast --model` reads")
    for name in ("trained", "products", "metrics", "split", "dataset", "out"):
        p.add_argument(f"--{name}", required=True)
    example_flags(p)
    graph_flags(p, "--graph-seed")
    p.set_defaults(func=cmd_package)

    p = sub.add_parser("forecast", help="which products will be hot in the next H weeks, from the data's last week")
    p.add_argument("--model", required=True, help="a model folder (weights.pt + model.json), e.g. results/default/model")
    p.add_argument("--out", "--out-dir", dest="out", required=True, help="folder for the forecast files")
    p.add_argument("--data", "--panel-file", dest="data", help="new data: the panel file (CSV or parquet, the data contract)")
    p.add_argument("--reviews_file", "--reviews-file", dest="reviews_file", help="new data: the reviews file")
    p.add_argument("--products", help="new data: the products file; inside the workflow: ingest's products.parquet")
    p.add_argument("--relations", help="new data: the relations file")
    p.add_argument("--columns", default="{}", help="new data: JSON {table: {contract_column: your_column}}, as ingest")
    p.add_argument("--as-of", help="new data: score at the week of this date (YYYY-MM-DD) instead of the last week")
    for name in ("examples", "edges", "metrics", "split"):
        p.add_argument(f"--{name}", help="inside the workflow (see workflow/rules/forecast.smk)")
    p.add_argument("--panel-table", help="inside the workflow: ingest's panel.parquet (the forecast week's checks)")
    p.add_argument("--baselines", nargs="+", help="inside the workflow: every other model's forecast scores (wide parquet files)")
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("ablation", help="aggregate ablation runs: mean test PR-AUC over seeds, intervals, difference from full")
    p.add_argument("--run", nargs=3, action="append", required=True, metavar=("VARIANT", "SEED", "PREDICTIONS"),
                   help="one run's predictions.parquet; repeat for every (variant, seed), including variant 'full'")
    p.add_argument("--variants", default="{}", help="JSON: {variant: {train setting: value}}, for the table's 'changes' column")
    p.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (products and seeds)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_ablation)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except Exception as err:  # noqa: BLE001 - one clear line for users, full trace in the log
        from hotseller.errors import UserError

        if isinstance(err, UserError):
            log.error("%s", err)
            raise SystemExit(2) from err
        raise


if __name__ == "__main__":
    main()
