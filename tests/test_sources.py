"""The source files each stage runs (hotseller.sources), against the standard library's own import finder and the
workflow's rules."""

from __future__ import annotations

import modulefinder
import re
from pathlib import Path

import pytest

from hotseller.sources import PACKAGE, module_sources, reachable, relative, stage_sources, with_packages

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(PACKAGE.rglob("*.py"))


def dotted(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_reachable_files_are_what_modulefinder_finds(path):
    # modulefinder reads the bytecode, imports inside functions included, and imports each package above a module.
    finder = modulefinder.ModuleFinder(path=[str(PACKAGE.parent)])
    finder.import_hook(dotted(path))  # no fromlist: "*" would import every submodule of a package
    found = {Path(m.__file__).resolve() for name, m in finder.modules.items() if name.split(".")[0] == "hotseller" and m.__file__}
    assert relative(reachable(with_packages(path))) == relative(found)


def test_split_stage_runs_cli_its_top_imports_and_split_by_hand():
    # cli.py imports atomic (which raises hotseller.errors) and train.config at its top; cmd_split imports split,
    # which imports weeks.
    assert stage_sources("split") == ["__init__.py", "atomic.py", "cli.py", "errors.py", "split.py", "train/__init__.py",
                                      "train/config.py", "weeks.py"]


def test_a_lazy_import_in_the_command_counts_and_other_commands_do_not():
    assert "profile.py" in stage_sources("profile") and "profile.py" not in stage_sources("split")
    assert "torch" not in " ".join(stage_sources("split")) and "train/loop.py" in stage_sources("train")


def test_a_name_that_is_no_stage_or_module_is_refused():
    with pytest.raises(ValueError, match="no cmd_nonsense"):
        stage_sources("nonsense")
    with pytest.raises(ValueError, match="not a module"):
        module_sources("nonsense")


def test_every_rule_lists_the_sources_its_command_runs():
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DeploymentSettings, OutputSettings, ResourceSettings, StorageSettings, WorkflowSettings

    with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
        workflow = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(config={"dataset": "tiny"}),
                                snakefile=ROOT / "Snakefile", workdir=ROOT, storage_settings=StorageSettings(),
                                workflow_settings=WorkflowSettings(), deployment_settings=DeploymentSettings())._workflow
        checked = set()
        for rule in workflow.rules:
            command = re.search(r"(?:hotseller|\{params\.launcher\}) ([a-z_]+)|-m hotseller\.([a-z_]+)", rule.shellcmd or "")
            if command is None:
                continue
            stage, module = command.groups()
            expected = stage_sources(stage) if stage else module_sources(module)
            listed = {str(Path(f).relative_to("workflow/hotseller")) for f in rule.input if str(f).startswith("workflow/hotseller/")}
            assert listed == set(expected), rule.name
            checked.add(rule.name)
    assert {"synth", "ingest", "train", "forecast", "model_card", "tune", "ablation_train"} <= checked
