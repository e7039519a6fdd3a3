# Forecast: the portable model (weights + model.json) and the list of products to bet on for the next H weeks,
# scored at the data's last week by the model best on validation (the GNN's own list is written too).

H = FEATURES["horizon_weeks"]
OVERVIEW = f"{OUT}/forecast/overview.rst"


# A job of a few seconds (5 s, 0.5 GB: it loads the weights to check them): it runs where Snakemake runs (on a
# cluster it would otherwise wait in the queue and the executor's polling), in the transfer source's module too.
rule package:
    localrule: True
    output:
        weights=f"{OUT}/model/weights.pt",
        config=f"{OUT}/model/model.json",
    input:
        weights=f"{OUT}/train/model/weights.pt",
        config=f"{OUT}/train/model/model.json",
        products=STANDARD["products"],
        metrics=f"{OUT}/evaluation/metrics.json",
        split=f"{OUT}/split/split.json",
        code=stage_code("package"),
    params:
        out_dir=out_dir,
        # How examples and graphs are made (the same values as the features and graph rules), for new data.
        flags=command_flags({"dataset": DATASET} | FEATURES | {k if k != "seed" else "graph_seed": v for k, v in GRAPH.items()}),
    resources:
        **CPU,
    log:
        f"{OUT}/logs/package.log",
    benchmark:
        f"{OUT}/benchmarks/package.tsv"
    conda:
        ENV
    shell:
        "hotseller package --trained $(dirname {input.weights}) --products {input.products} --metrics {input.metrics}"
        " --split {input.split} {params.flags} --out {params.out_dir} > {log} 2>&1"


rule forecast:
    output:
        table=f"{OUT}/forecast/hot_next_{H}_weeks.csv",
        parquet=f"{OUT}/forecast/hot_next_{H}_weeks.parquet",
        gnn_table=f"{OUT}/forecast/gnn_hot_next_{H}_weeks.csv",
        gnn_parquet=f"{OUT}/forecast/gnn_hot_next_{H}_weeks.parquet",
        markdown=f"{OUT}/forecast/forecast.md",
        summary=f"{OUT}/forecast/forecast.json",
        overview=OVERVIEW,
        page=report(f"{OUT}/forecast/forecast.html", caption="../report/forecast.rst", category="1. Forecast"),
    input:
        weights=rules.package.output.weights,
        config=rules.package.output.config,
        examples=f"{OUT}/features/forecast.parquet",
        edges=f"{OUT}/graph/forecast_edges.parquet",
        products=STANDARD["products"],
        panel=STANDARD["panel"],
        baselines=[f"{OUT}/baselines/forecast.parquet", rules.hybrid.output.forecast],
        metrics=f"{OUT}/evaluation/metrics.json",
        split=f"{OUT}/split/split.json",
        code=[*stage_code("forecast"), "workflow/report/workflow.rst"],
    params:
        out_dir=out_dir,
    resources:
        **CPU,
    log:
        f"{OUT}/logs/forecast.log",
    benchmark:
        f"{OUT}/benchmarks/forecast.tsv"
    conda:
        ENV
    shell:
        "hotseller forecast --model $(dirname {input.weights}) --examples {input.examples} --edges {input.edges}"
        " --products {input.products} --panel-table {input.panel} --baselines {input.baselines} --metrics {input.metrics}"
        " --split {input.split}"
        " --out {params.out_dir} > {log} 2>&1"
