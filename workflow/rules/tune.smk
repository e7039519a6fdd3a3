# Hyperparameter search of the GNN on validation (an explicit target: `snakemake --cores 2 tune --config dataset=<name>`).
# Its best values become a config file: --configfile config.yaml results/<name>/tune/best.yaml; holdout.json says whether
# they beat the configured settings on validation cutoffs the search never saw (tune.holdout).

TUNE = config["tune"]


rule tune:
    output:
        best=f"{OUT}/tune/best.yaml",
        trials=f"{OUT}/tune/trials.csv",
        summary=f"{OUT}/tune/tune.md",
        holdout=f"{OUT}/tune/holdout.json",
    input:
        examples=f"{OUT}/features/examples.parquet",
        edges=f"{OUT}/graph/edges.parquet",
        split=f"{OUT}/split/split.json",
        code=stage_code("tune"),
        init=init_inputs(TRAIN["init_from"]),
    params:
        out_dir=out_dir,
        flags=command_flags({"dataset": DATASET} | TRAIN_FLAGS | {"trials": TUNE["trials"], "tune_seed": TUNE["seed"], "holdout": TUNE["holdout"],
                                                              "confirm_seeds": TUNE["confirm_seeds"],
                                                              "space": json.dumps(TUNE["space"], sort_keys=True)}),
    threads: THREADS
    resources:
        slurm_partition=config["slurm"]["gpu_partition"],
        gpu=min(config["slurm"]["gpus"], 1),  # one process: its trials train one after the other
        gpu_model=config["slurm"]["gpu_model"] or None,
        runtime=NETWORK_RUNTIME_MIN * (TUNE["trials"] + 2 * TUNE["confirm_seeds"] * TUNE["holdout"]),  # one network a trial
        mem_mb=config["slurm"]["train_mem_mb"],
        cpus_per_task=config["slurm"]["train_cpus"],
    log:
        f"{OUT}/logs/tune.log",
    benchmark:
        f"{OUT}/benchmarks/tune.tsv"
    conda:
        ENV
    shell:
        "hotseller tune --examples {input.examples} --edges {input.edges} --split {input.split}"
        " {params.flags} --out-dir {params.out_dir} > {log} 2>&1"
