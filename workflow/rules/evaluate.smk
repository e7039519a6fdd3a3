# Evaluation: every model on the same validation and test examples, with plots for the report.


rule evaluate:
    output:
        metrics=report(f"{OUT}/evaluation/metrics.md", caption="../report/metrics.rst", category="Evaluation"),
        metrics_json=f"{OUT}/evaluation/metrics.json",
        pr=report(f"{OUT}/evaluation/pr_curves.png", caption="../report/pr_curves.rst", category="Evaluation"),
        reliability=report(f"{OUT}/evaluation/reliability.png", caption="../report/reliability.rst", category="Evaluation"),
        curves=report(f"{OUT}/evaluation/training_curves.png", caption="../report/training_curves.rst", category="Training"),
    input:
        gnn=f"{OUT}/train/predictions.parquet",
        train_log=f"{OUT}/train/train_log.csv",
        baselines=rules.baselines.output,
        accounting=f"{OUT}/ingest/accounting.json",
        split=f"{OUT}/split/split.json",
        code=src("evaluate.py"),
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
        "hotseller evaluate --gnn {input.gnn} --baselines {input.baselines} --train-log {input.train_log}"
        " --accounting {input.accounting} --split {input.split} --out-dir {params.out_dir} > {log} 2>&1"
