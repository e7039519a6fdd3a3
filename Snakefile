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


# transfer.source: the source dataset's own run, built by this same workflow with its config (common.smk), its rules
# named transfer_source_* and its files under results/<source>/ as when it is run alone.
if SOURCE:

    module transfer_source:
        snakefile:
            "Snakefile"
        config:
            source_config(config, SOURCE)

    use rule * from transfer_source exclude all as transfer_source_*


# The report opens on the dataset, the forecast and the headline backtest once the forecast stage has written them
# (`snakemake --report` runs after the workflow); before that, on the workflow's description.
report: OVERVIEW if os.path.exists(OVERVIEW) else "workflow/report/workflow.rst"


rule all:
    input:
        f"{OUT}/evaluation/metrics.json",
        f"{OUT}/evaluation/pr_curves.png",
        rules.forecast.output.table,
        rules.profile.output.summary,
