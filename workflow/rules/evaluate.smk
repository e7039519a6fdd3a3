# Evaluation: every model on the same validation and test examples (only after the leakage audit passed),
# bootstrap intervals, calibration, plots for the report, and the model card.


# evaluate needs the audit rule: included here unless the Snakefile already did (include it before this file).
if not rules.has("audit"):

    include: "audit.smk"


rule evaluate:
    output:
        metrics=report(f"{OUT}/evaluation/metrics.html", caption="../report/metrics.rst", category="Evaluation"),
        metrics_md=f"{OUT}/evaluation/metrics.md",
        metrics_json=f"{OUT}/evaluation/metrics.json",
        data=report(f"{OUT}/evaluation/data.html", caption="../report/data.rst", category="Data"),
        pr=report(f"{OUT}/evaluation/pr_curves.png", caption="../report/pr_curves.rst", category="Evaluation"),
        reliability=report(f"{OUT}/evaluation/reliability.png", caption="../report/reliability.rst", category="Evaluation"),
        backtest=report(f"{OUT}/evaluation/backtest.png", caption="../report/backtest.rst", category="Evaluation"),
        curves=report(f"{OUT}/evaluation/training_curves.png", caption="../report/training_curves.rst", category="Training"),
    input:
        gnn=f"{OUT}/train/predictions.parquet",
        train_log=f"{OUT}/train/train_log.csv",
        baselines=expand(f"{OUT}/baselines/{{model}}.parquet", model=BASELINE_MODELS),
        graph_models=[rules.hybrid.output.gnn_gbt, rules.hybrid.output.blend],
        accounting=f"{OUT}/ingest/accounting.json",
        split=f"{OUT}/split/split.json",
        # Not read by the command: no metric exists unless the leakage audit passed.
        audit=f"{OUT}/audit/audit.json",
        code=stage_code("evaluate"),
    params:
        out_dir=out_dir,
    resources:
        **CPU,
    log:
        f"{OUT}/logs/evaluate.log",
    benchmark:
        f"{OUT}/benchmarks/evaluate.tsv"
    conda:
        ENV
    shell:
        "hotseller evaluate --gnn {input.gnn} --baselines {input.baselines} --graph-models {input.graph_models} --train-log {input.train_log}"
        " --accounting {input.accounting} --split {input.split} --out-dir {params.out_dir} > {log} 2>&1"


rule model_card:
    output:
        card=f"{OUT}/model_card.md",
        page=report(f"{OUT}/evaluation/model_card.html", caption="../report/model_card.rst", category="Model card"),
    input:
        metrics=f"{OUT}/evaluation/metrics.json",
        split=f"{OUT}/split/split.json",
        accounting=f"{OUT}/ingest/accounting.json",
        audit=f"{OUT}/audit/audit.json",
        train_summary=f"{OUT}/train/metrics.json",
        ablation=f"{OUT}/ablation/ablation.json",
        # The GBT's search record, once the baselines rule declares it as an output.
        gbt_search=[p for p in rules.baselines.output if p.endswith("gbt_search.json")],
        code=stage_code("model_card"),
    params:
        flags=command_flags({"settings": json.dumps({"dataset": DATASET, "source": DATA["source"], "features": FEATURES, "train": TRAIN},
                                                    sort_keys=True)}),
        gbt_search=lambda wildcards, input: f"--gbt-search {input.gbt_search}" if input.gbt_search else "",
    resources:
        **CPU,
    log:
        f"{OUT}/logs/model_card.log",
    benchmark:
        f"{OUT}/benchmarks/model_card.tsv"
    conda:
        ENV
    shell:
        "hotseller model_card --metrics {input.metrics} --split {input.split} --accounting {input.accounting}"
        " --audit {input.audit} --train-summary {input.train_summary} --ablation {input.ablation} {params.gbt_search}"
        " {params.flags} --out {output.card} --html {output.page} > {log} 2>&1"
