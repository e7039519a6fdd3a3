# Model stages: the multi-task GNN (GPU on a cluster) and the baselines on the same split.

BASELINE_MODELS = ("persistence", "momentum", "logreg", "gbt", "logreg_gbt")


rule train:
    output:
        predictions=f"{OUT}/train/predictions.parquet",
        weights=f"{OUT}/train/model/weights.pt",
        model_config=f"{OUT}/train/model/model.json",
        log_csv=f"{OUT}/train/train_log.csv",
        metrics=f"{OUT}/train/metrics.json",
    input:
        examples=f"{OUT}/features/examples.parquet",
        edges=f"{OUT}/graph/edges.parquet",
        split=f"{OUT}/split/split.json",
        code=stage_code("train"),
        init=init_inputs(TRAIN["init_from"]),  # train.init_from's model (transfer): a new source reruns training
    params:
        out_dir=out_dir,
        flags=command_flags(TRAIN_FLAGS),
        # More than one GPU per job: one process per GPU under torchrun (DistributedDataParallel).
        launcher=train_launcher(config["slurm"]["gpus"]),
    threads: THREADS
    resources:
        slurm_partition=config["slurm"]["gpu_partition"],
        gpu=config["slurm"]["gpus"],
        gpu_model=config["slurm"]["gpu_model"] or None,
        runtime=config["slurm"]["train_runtime_min"],
        mem_mb=config["slurm"]["train_mem_mb"],
        cpus_per_task=config["slurm"]["train_cpus"],
    log:
        f"{OUT}/logs/train.log",
    benchmark:
        f"{OUT}/benchmarks/train.tsv"
    conda:
        ENV
    shell:
        "{params.launcher} train --examples {input.examples} --edges {input.edges} --split {input.split}"
        " --out {params.out_dir} {params.flags} --resume > {log} 2>&1"


rule baselines:
    output:
        expand(f"{OUT}/baselines/{{model}}.parquet", model=BASELINE_MODELS),
        forecast=f"{OUT}/baselines/forecast.parquet",
        gbt_search=f"{OUT}/baselines/gbt_search.json",
    input:
        examples=f"{OUT}/features/examples.parquet",
        edges=f"{OUT}/graph/edges.parquet",
        split=f"{OUT}/split/split.json",
        forecast_examples=f"{OUT}/features/forecast.parquet",
        forecast_edges=f"{OUT}/graph/forecast_edges.parquet",
        source=SOURCE_ROWS,  # transfer.source's run: its training rows are offered to the GBT
        code=stage_code("baselines"),
    params:
        out_dir=out_dir,
        flags=command_flags(BASELINE_FLAGS) + (f" --source {' '.join(SOURCE_ROWS)}" if SOURCE_ROWS else ""),
    threads: THREADS
    resources:
        **CPU,
    log:
        f"{OUT}/logs/baselines.log",
    benchmark:
        f"{OUT}/benchmarks/baselines.tsv"
    conda:
        ENV
    shell:
        "hotseller baselines --examples {input.examples} --edges {input.edges} --split {input.split}"
        " --forecast-examples {input.forecast_examples} --forecast-edges {input.forecast_edges}"
        " {params.flags} --out {params.out_dir} > {log} 2>&1"


rule hybrid:
    output:
        gnn_gbt=f"{OUT}/hybrid/gnn_gbt.parquet",
        blend=f"{OUT}/hybrid/blend.parquet",
        forecast=f"{OUT}/hybrid/forecast.parquet",
        search=f"{OUT}/hybrid/hybrid.json",
    input:
        weights=f"{OUT}/train/model/weights.pt",
        model_config=f"{OUT}/train/model/model.json",
        examples=f"{OUT}/features/examples.parquet",
        edges=f"{OUT}/graph/edges.parquet",
        split=f"{OUT}/split/split.json",
        partners=[f"{OUT}/baselines/{m}.parquet" for m in BLEND_PARTNERS],
        gbt_search=f"{OUT}/baselines/gbt_search.json",
        forecast_examples=f"{OUT}/features/forecast.parquet",
        forecast_edges=f"{OUT}/graph/forecast_edges.parquet",
        baseline_forecast=f"{OUT}/baselines/forecast.parquet",
        code=stage_code("hybrid"),
    params:
        out_dir=out_dir,
        # The same sample and seed as the baselines' trees, so the two GBTs differ only by the embeddings (and by a
        # transfer source's rows where the baselines' GBT kept them: the embeddings exist for this market's rows alone).
        flags=command_flags(BASELINE_FLAGS),
    threads: THREADS
    resources:
        **CPU,
    log:
        f"{OUT}/logs/hybrid.log",
    benchmark:
        f"{OUT}/benchmarks/hybrid.tsv"
    conda:
        ENV
    shell:
        "hotseller hybrid --model $(dirname {input.weights}) --examples {input.examples} --edges {input.edges} --split {input.split}"
        " --partners {input.partners} --gbt-search {input.gbt_search} --forecast-examples {input.forecast_examples} --forecast-edges {input.forecast_edges}"
        " --baseline-forecast {input.baseline_forecast} {params.flags} --out {params.out_dir} > {log} 2>&1"
