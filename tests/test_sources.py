"""The source files each stage runs (hotseller.sources), against the standard library's own import finder and the
workflow's rules."""

from __future__ import annotations

import modulefinder
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hotseller.sources import PACKAGE, reachable, relative, stage_sources, with_packages

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


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "hotseller"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    return package


def test_a_stage_runs_the_entry_point_its_command_and_the_helpers_it_calls_by_hand(tmp_path):
    package = write_package(tmp_path, {
        "__init__.py": "",
        "cli.py": ("from hotseller import core\n"
                   "def helper():\n    from hotseller import extra\n"
                   "def unused():\n    from hotseller import never\n"
                   "def cmd_one(args):\n    helper()\n"
                   "def cmd_two(args):\n    from hotseller import two\n"
                   "def build_parser():\n    from hotseller.parsing import flags\n"
                   "def main():\n    build_parser()\n"),
        "core.py": "", "two.py": "", "never.py": "", "parsing.py": "",
        "extra.py": "def later():\n    from hotseller.sub.deep import x\n",
        "sub/__init__.py": "", "sub/deep.py": "x = 1\n",
    })
    # cmd_one calls helper (extra, and through a lazy import sub.deep with its package); unused and cmd_two never run.
    assert stage_sources("one", package) == ["__init__.py", "cli.py", "core.py", "extra.py", "parsing.py", "sub/__init__.py",
                                             "sub/deep.py"]
    assert stage_sources("two", package) == ["__init__.py", "cli.py", "core.py", "parsing.py", "two.py"]
    assert relative(reachable({package / "extra.py"}, package), package) == ["__init__.py", "extra.py", "sub/__init__.py", "sub/deep.py"]


def test_a_relative_import_is_refused_rather_than_missed(tmp_path):
    package = write_package(tmp_path, {"__init__.py": "", "a.py": "from . import b\n", "b.py": ""})
    with pytest.raises(ValueError, match="relative import"):
        reachable({package / "a.py"}, package)


def test_what_the_parser_loads_is_inside_every_stage():
    # Python's own imports as the reference: cli.py with its parser built, in a fresh interpreter.
    code = ("import sys, hotseller.cli as c; c.build_parser(); "
            "print(' '.join(sorted(m.__file__ for n, m in sys.modules.items() if n.split('.')[0] == 'hotseller')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    loaded = {str(Path(f).resolve().relative_to(PACKAGE)) for f in loaded}
    for stage in ("synth", "ingest", "split", "evaluate", "train", "forecast"):
        assert loaded <= set(stage_sources(stage)), stage
    assert "train/loop.py" in stage_sources("train") and "train/loop.py" not in stage_sources("split")
    # The parser's defaults come from specs.py, so the data stages do not hang on the later stages' modules.
    for stage in ("synth", "ingest", "split"):
        assert not {"features.py", "graph.py"} & set(stage_sources(stage)), stage


def test_a_name_that_is_no_stage_is_refused():
    with pytest.raises(ValueError, match="no cmd_nonsense"):
        stage_sources("nonsense")


def test_every_rule_lists_the_sources_its_command_runs(tmp_path):
    """Read from a dry run of every job (`-n -p -F`: each job's input line and shell command), Snakemake's public
    output, for the default target and the explicit ones (tune, model_card and the ablation it runs)."""
    from conftest import copy_workflow, snakemake

    workdir = copy_workflow(tmp_path / "wf")
    out = snakemake(workdir, "-n", "-p", "-F", "--config", "dataset=tiny", "--", "all", "tune", "model_card").stdout
    checked = set()
    for block in re.split(r"^(?=(?:local)?rule \w+:)", out, flags=re.M)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block).group(1)
        shell = re.search(r"^Shell command: (.*)$", block, flags=re.M)
        command = re.search(r"(?:^|\s)hotseller ([a-z_]+)|-m hotseller\.cli ([a-z_]+)", shell.group(1) if shell else "")
        if command is None:
            continue
        expected = stage_sources(command.group(1) or command.group(2))
        inputs = re.search(r"^\s+input: (.*)$", block, flags=re.M).group(1).split(", ")
        listed = {str(Path(f).relative_to("workflow/hotseller")) for f in inputs if f.startswith("workflow/hotseller/")}
        assert listed == set(expected), rule
        checked.add(rule)
        if rule == "forecast":  # the forecast page reads the workflow's description: not an import
            assert "workflow/report/workflow.rst" in inputs
    assert {"synth", "ingest", "train", "forecast", "model_card", "tune", "ablation_train"} <= checked
