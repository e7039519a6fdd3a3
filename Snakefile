# hotseller: from a product panel and reviews to a trained multi-task GNN and an evaluation report.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/ablation.smk"
include: "workflow/rules/forecast.smk"
include: "workflow/rules/profile.smk"
include: "workflow/rules/tune.smk"


# Jobs of a few seconds (split 0.2 s on the default market, 3.2 s at a million products; package 5 s, 0.5 GB: it loads
# the weights to check them) run where Snakemake runs: on a cluster each would otherwise wait in the queue and the
# executor's polling.
localrules:
    split,
    package,


# transfer.source: the source dataset's own run, built by this same workflow with its config (common.smk), its rules
# named transfer_source_* and its files under results/<source>/ as when it is run alone.
if SOURCE:

    module transfer_source:
        snakefile:
            "Snakefile"
        config:
            source_config(config, SOURCE)

    use rule * from transfer_source exclude all as transfer_source_*

    # The module's own localrules keep their names there: these are its split and package, renamed.
    localrules:
        transfer_source_split,
        transfer_source_package,


# The report opens on the dataset, the forecast and the headline backtest once the forecast stage has written them
# (`snakemake --report` runs after the workflow); before that, on the workflow's description.
report: OVERVIEW if os.path.exists(OVERVIEW) else "workflow/report/workflow.rst"


rule all:
    input:
        f"{OUT}/evaluation/metrics.json",
        f"{OUT}/evaluation/pr_curves.png",
        rules.forecast.output.table,
        rules.profile.output.summary,
