"""The only code that talks to git (GitPython + the git CLI plumbing)."""

from __future__ import annotations

from pathlib import Path

import git


def init_repo(path: str | Path) -> git.Repo:
    """Open the bare manuals repository, creating it (empty, branch main) if missing."""
    path = Path(path)
    if (path / "HEAD").exists():
        return git.Repo(path)
    path.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path, bare=True, initial_branch="main")
    return repo


def check_repo(path: str | Path) -> str | None:
    """None when the repository is usable, else what is wrong (for /healthz and doctor)."""
    path = Path(path)
    if not (path / "HEAD").exists():
        return f"マニュアルのgitリポジトリがありません: {path}"
    try:
        repo = git.Repo(path)
        if not repo.bare:
            return f"マニュアルのリポジトリがbareではありません: {path}"
        repo.git.rev_parse("--git-dir")
    except (git.GitError, OSError) as exc:
        return f"マニュアルのgitリポジトリを開けません: {exc}"
    return None
