# Data stages: synthetic market -> ingest -> features / graph -> split.


rule synth:
    output:
        **{t: f"{OUT}/raw/{f}" for t, f in SYNTH_FILES.items()},
    input:
        code=stage_code("synth"),
    params:
        out_dir=out_dir,
        flags=command_flags({k: DATA.get(k) for k in ("products", "weeks", "categories", "sellers")} | SYNTHETIC
                            | {"market": json.dumps(DATA.get("market", {}), sort_keys=True)}),
    resources:
        **CPU,
    log:
        f"{OUT}/logs/synth.log",
    benchmark:
        f"{OUT}/benchmarks/synth.tsv"
    conda:
        ENV
    shell:
        "hotseller synth --out-dir {params.out_dir} {params.flags} > {log} 2>&1"


rule ingest:
    output:
        **STANDARD,
        accounting=f"{OUT}/ingest/accounting.json",
        quarantine=expand(f"{OUT}/ingest/quarantine_{{t}}.parquet", t=STANDARD),
    input:
        **raw_files(),
        code=stage_code("ingest"),
    params:
        out_dir=out_dir,
        flags=f"{ingest_locations()} {command_flags({'columns': json.dumps(DATA.get('columns', {}), sort_keys=True)})}",
    resources:
        **CPU,
    log:
        f"{OUT}/logs/ingest.log",
    benchmark:
        f"{OUT}/benchmarks/ingest.tsv"
    conda:
        ENV
    shell:
        "hotseller ingest {params.flags} --out-dir {params.out_dir} > {log} 2>&1"


rule features:
    output:
        examples=f"{OUT}/features/examples.parquet",
        forecast=f"{OUT}/features/forecast.parquet",
    input:
        panel=STANDARD["panel"],
        reviews=STANDARD["reviews"],
        products=STANDARD["products"],
        code=stage_code("features"),
    params:
        flags=command_flags(FEATURES),
    resources:
        **CPU,
    log:
        f"{OUT}/logs/features.log",
    benchmark:
        f"{OUT}/benchmarks/features.tsv"
    conda:
        ENV
    shell:
        "hotseller features --panel {input.panel} --reviews {input.reviews} --products {input.products}"
        " {params.flags} --out {output.examples} --forecast-out {output.forecast} > {log} 2>&1"


rule graph:
    output:
        edges=f"{OUT}/graph/edges.parquet",
        forecast=f"{OUT}/graph/forecast_edges.parquet",
    input:
        panel=STANDARD["panel"],
        products=STANDARD["products"],
        relations=STANDARD["relations"],
        code=stage_code("graph"),
    params:
        # The cutoffs are shared with features: the same four values decide them.
        flags=command_flags({k: FEATURES[k] for k in ("window_weeks", "horizon_weeks", "stride_weeks", "train_stride_weeks")} | GRAPH),
    resources:
        **CPU,
    log:
        f"{OUT}/logs/graph.log",
    benchmark:
        f"{OUT}/benchmarks/graph.tsv"
    conda:
        ENV
    shell:
        "hotseller graph --panel {input.panel} --products {input.products} --relations {input.relations}"
        " {params.flags} --out {output.edges} --forecast-out {output.forecast} > {log} 2>&1"


# A job of a few seconds (0.2 s on the default market, 3.2 s at a million products): it runs where Snakemake runs
# (on a cluster it would otherwise wait in the queue and the executor's polling), in the transfer source's module too.
rule split:
    localrule: True
    output:
        f"{OUT}/split/split.json",
    input:
        examples=f"{OUT}/features/examples.parquet",
        code=stage_code("split"),
    params:
        flags=command_flags({k: FEATURES[k] for k in ("horizon_weeks", "stride_weeks")} | SPLIT),
    resources:
        **CPU,
    log:
        f"{OUT}/logs/split.log",
    benchmark:
        f"{OUT}/benchmarks/split.tsv"
    conda:
        ENV
    shell:
        "hotseller split --examples {input.examples} {params.flags} --out {output} > {log} 2>&1"
