"""The package's source files each stage runs, read from the imports themselves.

A rule lists them as inputs, so editing a module reruns exactly the stages whose command can reach it: `hotseller
<stage>` runs cli.py, what cli.py imports at its top, and what `cmd_<stage>` imports, each followed through the
package, imports inside functions included (a lazy import still runs when the stage does). Read with `ast` rather
than kept by hand, so the lists cannot drift from the code.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
NAME = PACKAGE.name


def module_file(dotted: str) -> Path | None:
    """The file of a `hotseller...` module or package (its __init__.py); None for a name that is no module."""
    parts = dotted.split(".")[1:]
    if not parts:
        return PACKAGE / "__init__.py"
    for candidate in (PACKAGE.joinpath(*parts).with_suffix(".py"), PACKAGE.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def with_packages(path: Path) -> set[Path]:
    """A module and the __init__.py of every package above it in hotseller: importing it runs them all."""
    files = {path}
    for folder in path.relative_to(PACKAGE).parents:
        files.add(PACKAGE / folder / "__init__.py")
    return files


def imported(nodes: list[ast.stmt]) -> set[Path]:
    """The hotseller files that these statements import, anywhere in them (`from hotseller.x import y` may name a
    module y or an attribute of x)."""
    names: list[str] = []
    for node in (n for stmt in nodes for n in ast.walk(stmt)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == NAME:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names if alias.name.split(".")[0] == NAME]
    files = {module_file(name) for name in names}
    return set().union(*(with_packages(f) for f in files if f is not None))


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def reachable(start: set[Path]) -> set[Path]:
    """`start` and every hotseller file their imports reach."""
    seen: set[Path] = set()
    todo = list(start)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imported(tree(path).body) - seen
    return seen


def relative(files: set[Path]) -> list[str]:
    return sorted(str(f.relative_to(PACKAGE)) for f in files)


def stage_sources(stage: str) -> list[str]:
    """Files (relative to the package) that `hotseller <stage>` runs: cli.py's top-level imports and cmd_<stage>'s."""
    cli = PACKAGE / "cli.py"
    top = [n for n in tree(cli).body if isinstance(n, (ast.Import, ast.ImportFrom))]
    command = next((n for n in tree(cli).body if isinstance(n, ast.FunctionDef) and n.name == f"cmd_{stage}"), None)
    if command is None:
        raise ValueError(f"cli.py has no cmd_{stage}: `hotseller {stage}` is not a stage")
    return relative(reachable(imported(top) | imported(command.body)) | with_packages(cli))


def module_sources(module: str) -> list[str]:
    """Files (relative to the package) that `python -m hotseller.<module>` runs."""
    path = module_file(f"{NAME}.{module}")
    if path is None:
        raise ValueError(f"hotseller.{module} is not a module")
    return relative(reachable(with_packages(path)))
