# Leakage audit: on the path to `evaluate` (its output is an input there), so no metric exists unless it passed.


rule audit:
    output:
        summary=f"{OUT}/audit/audit.json",
        page=report(f"{OUT}/audit/audit.html", caption="../report/audit.rst", category="Data"),
    input:
        examples=f"{OUT}/features/examples.parquet",
        edges=f"{OUT}/graph/edges.parquet",
        split=f"{OUT}/split/split.json",
        **STANDARD,
        code=stage_code("audit"),
    params:
        out_dir=out_dir,
        # The same label settings as the features rule (the audit rebuilds examples with them), and its own.
        flags=command_flags(FEATURES | config["audit"]),
    resources:
        **CPU,
    log:
        f"{OUT}/logs/audit.log",
    benchmark:
        f"{OUT}/benchmarks/audit.tsv"
    conda:
        ENV
    shell:
        "hotseller audit --examples {input.examples} --edges {input.edges} --split {input.split} --panel {input.panel}"
        " --reviews {input.reviews} --products {input.products} --relations {input.relations} {params.flags}"
        " --out-dir {params.out_dir} > {log} 2>&1"
