"""The code version for lineage: the git commit of the working directory, when there is one."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def code_version(directory: Path | None = None) -> str | None:
    """``<commit>`` or ``<commit>-dirty`` for the checkout containing ``directory``; else None."""
    git = shutil.which("git")
    if git is None:
        return None
    cwd = str(directory or Path.cwd())
    try:
        commit = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [git, "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if commit.returncode != 0:
            return None
        status = subprocess.run(  # noqa: S603
            [git, "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = commit.stdout.strip()
    return f"{sha}-dirty" if status.stdout.strip() else sha
