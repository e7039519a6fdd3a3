# Data stages: synthetic market -> ingest -> features / graph -> split.


rule synth:
    output:
        **{t: f"{OUT}/raw/{f}" for t, f in SYNTH_FILES.items()},
    input:
        src("synth.py"),
    params:
        products=DATA.get("products"),
        weeks=DATA.get("weeks"),
        categories=DATA.get("categories"),
        sellers=DATA.get("sellers"),
        seed=config["synthetic"]["seed"],
        bad_row_rate=config["synthetic"]["bad_row_rate"],
    log:
        f"{OUT}/logs/synth.log",
    benchmark:
        f"{OUT}/benchmarks/synth.tsv"
    conda:
        ENV
    shell:
        "hotseller synth --out-dir {OUT}/raw --products {params.products} --weeks {params.weeks}"
        " --categories {params.categories} --sellers {params.sellers} --seed {params.seed}"
        " --bad-row-rate {params.bad_row_rate} > {log} 2>&1"


rule ingest:
    output:
        **STANDARD,
        accounting=f"{OUT}/ingest/accounting.json",
        quarantine=expand(f"{OUT}/ingest/quarantine_{{t}}.parquet", t=STANDARD),
    input:
        **raw_files(),
        code=src("ingest/__init__.py", "ingest/contract.py", "ingest/generic.py", "weeks.py"),
    params:
        locations=ingest_locations(),
        columns=json.dumps(DATA.get("columns", {}), sort_keys=True),
    log:
        f"{OUT}/logs/ingest.log",
    benchmark:
        f"{OUT}/benchmarks/ingest.tsv"
    conda:
        ENV
    shell:
        "hotseller ingest {params.locations} --columns '{params.columns}'"
        " --out-dir {OUT}/ingest > {log} 2>&1"


rule features:
    output:
        f"{OUT}/features/examples.parquet",
    input:
        panel=STANDARD["panel"],
        reviews=STANDARD["reviews"],
        products=STANDARD["products"],
        code=src("features.py", "tables.py", "weeks.py"),
    params:
        window_weeks=FEATURES["window_weeks"],
        horizon_weeks=FEATURES["horizon_weeks"],
        hot_quantile=FEATURES["hot_quantile"],
        stride_weeks=FEATURES["stride_weeks"],
    log:
        f"{OUT}/logs/features.log",
    benchmark:
        f"{OUT}/benchmarks/features.tsv"
    conda:
        ENV
    shell:
        "hotseller features --panel {input.panel} --reviews {input.reviews} --products {input.products}"
        " --window-weeks {params.window_weeks} --horizon-weeks {params.horizon_weeks}"
        " --hot-quantile {params.hot_quantile} --stride-weeks {params.stride_weeks} --out {output} > {log} 2>&1"


rule graph:
    output:
        f"{OUT}/graph/edges.parquet",
    input:
        panel=STANDARD["panel"],
        products=STANDARD["products"],
        relations=STANDARD["relations"],
        code=src("graph.py", "tables.py", "weeks.py"),
    params:
        # The cutoffs are shared with features: the same three values decide them.
        window_weeks=FEATURES["window_weeks"],
        horizon_weeks=FEATURES["horizon_weeks"],
        stride_weeks=FEATURES["stride_weeks"],
        relation_kinds=" ".join(GRAPH["relation_kinds"]),
        min_weight=GRAPH["min_weight"],
        category_degree=GRAPH["category_degree"],
        seller_degree=GRAPH["seller_degree"],
        seed=GRAPH["seed"],
    log:
        f"{OUT}/logs/graph.log",
    benchmark:
        f"{OUT}/benchmarks/graph.tsv"
    conda:
        ENV
    shell:
        "hotseller graph --panel {input.panel} --products {input.products} --relations {input.relations}"
        " --window-weeks {params.window_weeks} --horizon-weeks {params.horizon_weeks} --stride-weeks {params.stride_weeks}"
        " --relation-kinds {params.relation_kinds} --min-weight {params.min_weight}"
        " --category-degree {params.category_degree} --seller-degree {params.seller_degree} --seed {params.seed}"
        " --out {output} > {log} 2>&1"


rule split:
    output:
        f"{OUT}/split/split.json",
    input:
        examples=f"{OUT}/features/examples.parquet",
        code=src("split.py"),
    params:
        horizon_weeks=FEATURES["horizon_weeks"],
        max_train_cutoffs=SPLIT["max_train_cutoffs"],
    log:
        f"{OUT}/logs/split.log",
    benchmark:
        f"{OUT}/benchmarks/split.tsv"
    conda:
        ENV
    shell:
        "hotseller split --examples {input.examples} --horizon-weeks {params.horizon_weeks}"
        " --max-train-cutoffs {params.max_train_cutoffs} --out {output} > {log} 2>&1"
