# Ablation: the full model and each variant with one technique changed (removed, or added), over several seeds. Every
# (variant, seed) is an independent train job (run in parallel on a cluster); `ablation` aggregates them.
from hotseller.settings import FULL, ablation_runs, chosen_variants, variant_settings

ABLATION = stage_params(config, "ablation")
VARIANTS = chosen_variants(ABLATION)  # every variant, or those ablation.rows names
# (variant, seed, predictions path) of every run, each one network; the full model at train.seed is the `train` rule's
# own run when that is one network too.
ABLATION_RUNS = ablation_runs(OUT, VARIANTS, ABLATION["seeds"], TRAIN)
# One run's training settings: its flags, and its transfer source's files as inputs.
run_settings = lambda wildcards: variant_settings(TRAIN_FLAGS, VARIANTS, wildcards.variant, int(wildcards.seed))
# Every variant's settings checked before any job, those ablation.rows leaves out too: a variant the transfer's start
# cannot take is named now.
for variant in ABLATION["variants"]:
    variant_settings(TRAIN_FLAGS, ABLATION["variants"], variant, TRAIN["seed"])


rule ablation_train:
    output:
        predictions=f"{OUT}/ablation/{{variant}}/seed{{seed}}/predictions.parquet",
        metrics=f"{OUT}/ablation/{{variant}}/seed{{seed}}/metrics.json",
    input:
        examples=f"{OUT}/features/examples.parquet",
        edges=f"{OUT}/graph/edges.parquet",
        split=f"{OUT}/split/split.json",
        code=stage_code("train"),
        init=lambda wildcards: init_inputs(run_settings(wildcards)["init_from"]),
    params:
        out_dir=out_dir,
        flags=lambda wildcards: command_flags(run_settings(wildcards)),
        launcher=train_launcher(config["slurm"]["gpus"]),
    wildcard_constraints:
        variant="|".join([FULL, *VARIANTS]),
        seed=r"\d+",
    # As the train rule (whose run is the full model at train.seed): the same threads give the same numbers.
    threads: THREADS
    resources:
        slurm_partition=config["slurm"]["gpu_partition"],
        gpu=config["slurm"]["gpus"],
        gpu_model=config["slurm"]["gpu_model"] or None,
        runtime=NETWORK_RUNTIME_MIN,  # one network a run
        mem_mb=config["slurm"]["train_mem_mb"],
        cpus_per_task=config["slurm"]["train_cpus"],
    log:
        f"{OUT}/logs/ablation/{{variant}}_seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/ablation/{{variant}}_seed{{seed}}.tsv"
    conda:
        ENV
    shell:
        "{params.launcher} train --examples {input.examples} --edges {input.edges} --split {input.split}"
        " --out {params.out_dir} {params.flags} --resume > {log} 2>&1"


rule ablation:
    output:
        table=report(f"{OUT}/ablation/ablation.html", caption="../report/ablation.rst", category="Ablation"),
        plot=report(f"{OUT}/ablation/ablation.png", caption="../report/ablation_plot.rst", category="Ablation"),
        markdown=f"{OUT}/ablation/ablation.md",
        summary=f"{OUT}/ablation/ablation.json",
    input:
        runs=[path for _, _, path in ABLATION_RUNS],
        code=stage_code("ablation"),
    params:
        out_dir=out_dir,
        flags=" ".join([*(f"--run {variant} {seed} {path}" for variant, seed, path in ABLATION_RUNS),
                        command_flags({"variants": json.dumps(VARIANTS)})]),
    resources:
        **CPU,
    log:
        f"{OUT}/logs/ablation.log",
    benchmark:
        f"{OUT}/benchmarks/ablation.tsv"
    conda:
        ENV
    shell:
        "hotseller ablation {params.flags} --out-dir {params.out_dir} > {log} 2>&1"
