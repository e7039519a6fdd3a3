"""The machine and commit a benchmark ran on, recorded beside its figures (shared by the benchmark scripts)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def machine() -> dict:
    """CPU model, cores, RAM, Python and OS of this machine."""
    model = next((line.split(":", 1)[1].strip() for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                  if line.startswith("Model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {"cpu": model, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024**2, 1), "python": platform.python_version(),
            "os": platform.platform()}


def git_commit(root: Path) -> str:
    """The short commit of `root`, marked when tracked files differ from it (the figures then are not that commit's)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True).stdout.strip()
    return commit + (" (with uncommitted changes to tracked files)" if dirty else "")
