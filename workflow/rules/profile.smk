# Profile: what the dataset is like (sparsity, autocorrelation, how persistent and how new the hot products are,
# what the recent level alone predicts, review and graph signals), measured; its own page in the report.


rule profile:
    output:
        summary=f"{OUT}/profile/profile.json",
        markdown=f"{OUT}/profile/profile.md",
        page=report(f"{OUT}/profile/profile.html", caption="../report/profile.rst", category="Data"),
        plot=report(f"{OUT}/profile/profile.png", caption="../report/profile_plot.rst", category="Data"),
    input:
        examples=f"{OUT}/features/examples.parquet",
        edges=f"{OUT}/graph/edges.parquet",
        panel=STANDARD["panel"],
        reviews=STANDARD["reviews"],
        products=STANDARD["products"],
        code=stage_code("profile"),
    params:
        out_dir=out_dir,
        flags=command_flags({"dataset": DATASET} | {k: v for k, v in FEATURES.items() if k not in ("text_embeddings", "text_dims")}),
    resources:
        **CPU,
    log:
        f"{OUT}/logs/profile.log",
    benchmark:
        f"{OUT}/benchmarks/profile.tsv"
    conda:
        ENV
    shell:
        "hotseller profile --panel {input.panel} --reviews {input.reviews} --products {input.products} --examples {input.examples}"
        " --edges {input.edges} {params.flags} --out-dir {params.out_dir} > {log} 2>&1"
