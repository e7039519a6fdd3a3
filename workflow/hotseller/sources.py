"""The package's source files each stage can run, read from the imports themselves.

A rule lists them as inputs, so editing a module reruns every stage whose command can reach it. `hotseller <stage>`
runs cli.py: its top-level imports, its entry point and parser, `cmd_<stage>` and the cli functions these call; each
import is followed through the package, imports inside functions included (a lazy import runs when its function
does). That is a superset of what a given run executes: an import in a branch the run never takes still counts, so an
edit may rerun a stage it cannot change, never the reverse. Read with `ast` rather than kept by hand, so the lists
follow the code.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
NAME = PACKAGE.name
COMMAND_PREFIX = "cmd_"
ENTRY = ("main", "build_parser")  # what every `hotseller <stage>` runs before its command


def module_file(dotted: str, root: Path = PACKAGE) -> Path | None:
    """The file of a `hotseller...` module or package (its __init__.py); None for a name that is no module."""
    parts = dotted.split(".")[1:]
    if not parts:
        return root / "__init__.py"
    for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def with_packages(path: Path, root: Path = PACKAGE) -> set[Path]:
    """A module and the __init__.py of every package above it in hotseller: importing it runs them all."""
    inits = (root / folder / "__init__.py" for folder in path.relative_to(root).parents)
    return {path, *(init for init in inits if init.is_file())}


def imported(nodes: list[ast.stmt], root: Path = PACKAGE) -> set[Path]:
    """The hotseller files that these statements import, anywhere in them (`from hotseller.x import y` may name a
    module y or an attribute of x)."""
    names: list[str] = []
    for node in (n for stmt in nodes for n in ast.walk(stmt)):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise ValueError(f"line {node.lineno}: a relative import; the package imports absolutely (from hotseller...)")
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == NAME:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names if alias.name.split(".")[0] == NAME]
    files = {module_file(name, root) for name in names}
    return set().union(*(with_packages(f, root) for f in files if f is not None))


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_bytes(), filename=str(path))


@cache
def imports_of(path: Path, root: Path) -> frozenset[Path]:
    """What one file imports, read once: Snakemake asks for every rule at each start."""
    return frozenset(imported(tree(path).body, root))


def reachable(start: set[Path], root: Path = PACKAGE) -> set[Path]:
    """`start` and every hotseller file their imports reach."""
    seen: set[Path] = set()
    todo = list(start)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imports_of(path, root) - seen
    return seen


def relative(files: set[Path], root: Path = PACKAGE) -> list[str]:
    return sorted(str(f.relative_to(root)) for f in files)


def called(function: ast.FunctionDef, functions: dict[str, ast.FunctionDef]) -> set[str]:
    """The names of cli.py's functions that `function` calls, directly or through them."""
    seen: set[str] = set()
    todo = [function]
    while todo:
        for node in ast.walk(todo.pop()):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions.keys() - seen:
                seen.add(node.func.id)
                todo.append(functions[node.func.id])
    return seen


def stage_sources(stage: str, root: Path = PACKAGE) -> list[str]:
    """Files (relative to `root`, the package folder) that `hotseller <stage>` can run: cli.py's top level, its entry
    point and parser, `cmd_<stage>`, and the cli functions these call."""
    cli = root / "cli.py"
    body = tree(cli).body
    functions = {n.name: n for n in body if isinstance(n, ast.FunctionDef)}
    command = functions.get(f"{COMMAND_PREFIX}{stage}")
    if command is None:
        raise ValueError(f"cli.py has no {COMMAND_PREFIX}{stage}: `hotseller {stage}` is not a stage")
    entry = {command.name, *ENTRY}
    names = entry.union(*(called(functions[name], functions) for name in entry))
    runs = [n for n in body if not isinstance(n, ast.FunctionDef)] + [functions[name] for name in sorted(names)]
    # cli.py itself is added, not followed: following it would take in every other command's imports.
    return relative(reachable(imported(runs, root), root) | with_packages(cli, root), root)
