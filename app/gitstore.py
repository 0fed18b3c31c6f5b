"""The only code that talks to git.

The manuals repository is bare. Writes never use a working tree or the shared index: a blob,
a tree built in a temporary index file, a commit from its parent, and then `update-ref NEW OLD`
— a compare-and-swap, so two processes (or hosts sharing the repository) can never lose each
other's commit. Reads go through GitPython's persistent `cat-file` process, one per thread.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import git
from flask import current_app
from gitdb.exc import BadName, BadObject

from app.cache import BoundedCache
from app.errors import TebikiError

MAIN = "refs/heads/main"
ZERO = "0" * 40
COMMITTER = ("Tebiki", "tebiki@city.example.lg.jp")
FileChanges = Mapping[str, "str | bytes | Path | None"]  # path → text, bytes, a file to stream in, None = delete


class GitStoreError(TebikiError):
    status = 503


class RefMoved(Exception):
    """update-ref refused: the branch moved since we read it (someone else committed)."""


class Busy(TebikiError):
    status = 409


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: Person
    authored_at: datetime
    message: str
    trailers: dict[str, list[str]]


def store() -> GitStore:
    """The manuals repository of the running app."""
    return GitStore(current_app.config["MANUALS_REPO"])


def init_repo(path: str | Path) -> git.Repo:
    """Open the bare manuals repository, creating it (empty, branch main) if missing."""
    path = Path(path)
    if (path / "HEAD").exists():
        return git.Repo(path)
    path.mkdir(parents=True, exist_ok=True)
    return git.Repo.init(path, bare=True, initial_branch="main")


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


_local = threading.local()
_BLOBS: BoundedCache[str] = BoundedCache(4 * 1024 * 1024, lambda text: 2 * len(text) + 100)


def parse_trailers(message: str) -> dict[str, list[str]]:
    """Trailers of the last paragraph (`Key: value` lines)."""
    paragraphs = message.strip().split("\n\n")
    found: dict[str, list[str]] = {}
    if len(paragraphs) < 2:
        return found
    for line in paragraphs[-1].splitlines():
        m = re.match(r"^([A-Za-z][A-Za-z0-9-]*): (.*)$", line)
        if not m:
            return {}
        found.setdefault(m.group(1), []).append(m.group(2).strip())
    return found


class GitStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    # --- reading --------------------------------------------------------------------------

    @property
    def repo(self) -> git.Repo:
        repos = getattr(_local, "repos", None)
        if repos is None:
            repos = _local.repos = {}
        repo = repos.get(self.path)
        if repo is None:
            if not Path(self.path, "HEAD").exists():
                raise GitStoreError(f"マニュアルのgitリポジトリがありません: {self.path}（flask --app app init で作成）")
            repo = repos[self.path] = git.Repo(self.path)
        return repo

    def ref(self, ref: str = MAIN) -> str | None:
        try:
            return self.repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
        except git.GitCommandError:
            return None

    def refs(self, prefix: str) -> dict[str, str]:
        out = self.repo.git.for_each_ref("--format=%(refname) %(objectname)", prefix)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def blob_id(self, commit: str, path: str) -> str | None:
        try:
            return self.repo.commit(commit).tree[path].hexsha
        except (KeyError, ValueError, BadName, BadObject):
            return None

    def read(self, commit: str | None, path: str) -> str | None:
        """The file at a commit, or None when it is not there."""
        if not commit:
            return None
        try:
            blob = self.repo.commit(commit).tree[path]
        except (KeyError, ValueError, BadName, BadObject):
            return None
        return blob.data_stream.read().decode("utf-8")

    def read_blob(self, blob_sha: str) -> str:
        """A blob's text. Content addressed, so it is kept (bounded): a page view asks git nothing."""
        return _BLOBS.get(blob_sha, lambda: self.repo.odb.stream(bytes.fromhex(blob_sha)).read().decode("utf-8"))

    def commit_info(self, sha: str) -> CommitInfo:
        c = self.repo.commit(sha)
        return CommitInfo(
            sha=c.hexsha,
            author=Person(c.author.name or "", c.author.email or ""),
            authored_at=c.authored_datetime,
            message=c.message if isinstance(c.message, str) else c.message.decode(),
            trailers=parse_trailers(c.message if isinstance(c.message, str) else c.message.decode()),
        )

    def log(self, ref: str = MAIN, *, path: str | None = None, limit: int | None = None) -> list[str]:
        """Commit ids, newest first (first parent only: main is a straight line)."""
        if self.ref(ref) is None:
            return []
        args = ["--first-parent", "--format=%H"]
        if limit:
            args.append(f"-n{limit}")
        args.append(ref)
        if path:
            args += ["--", path]
        return self.repo.git.log(*args).split()

    def trailer_values(self, key: str, tip: str, since: str | None = None) -> list[tuple[str, list[str]]]:
        """(commit, values of trailer `key`) for the first-parent commits after `since` up to `tip`,
        newest first — git's own trailer parser, compared exactly by the caller (never grepped)."""
        spec = f"{since}..{tip}" if since else tip
        out = self.repo.git.log("--first-parent", f"--format=%H%x1f%(trailers:key={key},valueonly,separator=%x1f)",
                                spec)
        rows = []
        for line in out.splitlines():
            if not line.strip():
                continue
            sha, *values = line.split("\x1f")
            rows.append((sha, [v.strip() for v in values if v.strip()]))
        return rows

    def find_by_trailer(self, key: str, value: str, tip: str | None = None, since: str | None = None) -> str | None:
        """The newest commit after `since` on `tip` (main) whose trailer `key` is exactly `value`."""
        tip = tip or self.ref(MAIN)
        if tip is None:
            return None
        for sha, values in self.trailer_values(key, tip, since):
            if value in values:
                return sha
        return None

    def is_ancestor(self, commit: str, tip: str) -> bool:
        status, _out, _err = self.repo.git.execute(["git", "merge-base", "--is-ancestor", commit, tip],
                                                   with_extended_output=True, with_exceptions=False)
        return status == 0

    def read_bytes(self, commit: str | None, path: str) -> bytes | None:
        if not commit:
            return None
        try:
            blob = self.repo.commit(commit).tree[path]
        except (KeyError, ValueError, BadName, BadObject):
            return None
        return blob.data_stream.read()

    def tree_files(self, commit: str | None, prefix: str) -> dict[str, str]:
        """{path: blob id} of the files under `prefix/` at `commit` (a manual's 様式 and images)."""
        if not commit:
            return {}
        out = self.repo.git.ls_tree("-r", "--format=%(objectname) %(path)", commit, "--", prefix.rstrip("/") + "/")
        return {path: sha for sha, path in (line.split(" ", 1) for line in out.splitlines() if line)}

    def tree_entries(self, commit: str | None, prefix: str) -> dict[str, tuple[str, int]]:
        """{path: (blob id, size in bytes)} of the files under `prefix/` at `commit`."""
        if not commit:
            return {}
        # `-z` without --format: paths come unquoted (Japanese names stay as they are).
        out = self.repo.git.ls_tree("-r", "-l", "-z", commit, "--", prefix.rstrip("/") + "/")
        entries = {}
        for line in out.split("\0"):
            if line:
                meta, path = line.split("\t", 1)
                _mode, _type, sha, size = meta.split()
                entries[path] = (sha, int(size))
        return entries

    # --- writing --------------------------------------------------------------------------

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        try:
            return self.repo.git.execute(["git", *args], env=env, strip_newline_in_stdout=True)
        except git.GitCommandError as exc:
            raise GitStoreError(_explain(exc)) from exc

    def write_commit(
        self,
        parent: str | None,
        files: FileChanges,
        message: str,
        author: Person,
        when: datetime,
    ) -> str:
        """A commit = `parent`'s tree with `files` written (None deletes). Moves no ref."""
        return self.write_chain(parent, [(files, message, author, when)])[-1]

    def write_chain(
        self, parent: str | None, commits: list[tuple[FileChanges, str, Person, datetime]]
    ) -> list[str]:
        """A line of commits on top of `parent`, sharing one temporary index. Moves no ref, so
        the caller publishes all of them with a single update_ref (all or nothing)."""
        shas: list[str] = []
        with tempfile.TemporaryDirectory(prefix="tebiki-index-") as tmp:
            index_env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
            if parent:
                self._git("read-tree", parent, env=index_env)
            for files, message, author, when in commits:
                for path, content in files.items():
                    if content is None:
                        # --force-remove needs a work tree; --index-info with mode 0 removes in a bare one.
                        self._remove_from_index(path, tmp, index_env)
                        continue
                    blob = self._hash_object(content, tmp)
                    self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index_env)
                tree = self._git("write-tree", env=index_env)
                stamp = f"{int(when.timestamp())} {when.strftime('%z') or '+0000'}"
                env = {
                    "GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email, "GIT_AUTHOR_DATE": stamp,
                    "GIT_COMMITTER_NAME": COMMITTER[0], "GIT_COMMITTER_EMAIL": COMMITTER[1],
                    "GIT_COMMITTER_DATE": stamp,
                }
                msg_path = os.path.join(tmp, "message")
                Path(msg_path).write_text(message, encoding="utf-8")
                parents = ["-p", parent] if parent else []
                parent = self._git("commit-tree", tree, *parents, "-F", msg_path, env=env)
                shas.append(parent)
        return shas

    def _remove_from_index(self, path: str, tmp: str, env: dict[str, str]) -> None:
        info = os.path.join(tmp, "index-info")
        Path(info).write_bytes(f"0 {ZERO}\t{path}\n".encode())
        with open(info, "rb") as stdin:
            try:
                self.repo.git.execute(["git", "update-index", "--index-info"], env=env, istream=stdin)
            except git.GitCommandError as exc:
                raise GitStoreError(_explain(exc)) from exc

    def _hash_object(self, content: str | bytes | Path, tmp: str) -> str:
        if isinstance(content, Path):  # a staged file (a bulk import's images): git reads it itself
            return self._git("hash-object", "-w", "--", str(content))
        name = os.path.join(tmp, "blob")
        Path(name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return self._git("hash-object", "-w", "--", name)

    def update_ref(self, ref: str, new: str, expected_old: str | None, reason: str = "tebiki") -> None:
        """Compare-and-swap: move `ref` to `new` only if it is still `expected_old` (None: must not exist)."""
        try:
            self.repo.git.update_ref("-m", reason, ref, new, expected_old or ZERO)
        except git.GitCommandError as exc:
            current = self.ref(ref)
            if current != (expected_old or None):
                raise RefMoved(f"{ref} is {current}, expected {expected_old}") from exc
            raise GitStoreError(_explain(exc)) from exc

    # --- upkeep ---------------------------------------------------------------------------------

    def object_counts(self) -> dict[str, int]:
        """`git count-objects -v`: loose objects (count, size-kib), packs …"""
        out = self.repo.git.count_objects("-v")
        counts = {}
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if value.strip().isdigit():
                counts[key.strip()] = int(value.strip())
        return counts

    def maintain(self) -> dict[str, int]:
        """Pack loose objects and refs. Safe while others write: an incremental repack packs the loose
        objects reachable from the refs and deletes nothing else (a commit written a moment ago and
        not yet swapped onto a ref stays as it is); `gc --auto` then merges packs past its thresholds,
        never pruning objects younger than two weeks, under its own lock (one host at a time)."""
        before = self.object_counts()
        self._git("repack", "-d", "-q")
        self._git("gc", "--auto", "--quiet")
        self._git("pack-refs", "--all")
        after = self.object_counts()
        return {"loose_before": before.get("count", 0), "loose_after": after.get("count", 0),
                "packs": after.get("packs", 0)}

    def merge_text(self, base: str, ours: str, theirs: str, labels: tuple[str, str, str]) -> tuple[str, bool]:
        """Three-way merge of one file's text: (result, conflicted). Conflicts carry markers."""
        with tempfile.TemporaryDirectory(prefix="tebiki-merge-") as tmp:
            paths = []
            for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
                p = os.path.join(tmp, name)
                Path(p).write_text(text, encoding="utf-8")
                paths.append(p)
            args = ["git", "merge-file", "-p", "-L", labels[0], "-L", labels[1], "-L", labels[2], *paths]
            status, out, err = self.repo.git.execute(args, with_extended_output=True, with_exceptions=False,
                                                     strip_newline_in_stdout=False)
        if status < 0 or status > 127:
            raise GitStoreError(f"差分の統合に失敗しました: {err}")
        return out, status > 0


@dataclass(frozen=True)
class Landed:
    """A commit that is on the branch: written now, or found there already (a retry)."""

    sha: str
    parent: str | None
    already: bool


class Candidate:
    """What the caller wants on top of a given tip: files, message and author (see `commit_onto`)."""

    def __init__(self, files: FileChanges, message: str, author: Person, when: datetime) -> None:
        self.files, self.message, self.author, self.when = files, message, author, when


def commit_onto(
    gs: GitStore,
    *,
    key: tuple[str, str],
    since: str | None,
    build: Callable[[str | None], Candidate],
    before_move: Callable[[str | None, str], None],
    prepared: tuple[str | None, str] | None = None,
    ref: str = MAIN,
    attempts: int = 30,
) -> Landed:
    """Put one commit on `ref` exactly once, under compare-and-swap.

    `key` is a trailer (e.g. Revision-Id: 42) that only this change carries. Before every attempt
    the commits after `since` (the tip when the change was decided) are scanned for it, so a retry —
    after a crash, or after losing the swap to another process completing the same change — finds
    its own commit instead of writing a second one. `prepared` is (tip, commit) already written and
    recorded by the caller for the tip it read; otherwise `build(tip)` returns what to commit on top
    of the current tip (merging there) and `before_move(tip, sha)` records the intent durably before
    the ref moves (the point of no return)."""
    for _attempt in range(attempts):
        tip = gs.ref(ref)
        if prepared is not None and prepared[0] == tip:
            sha = prepared[1]
        else:
            found = gs.find_by_trailer(key[0], key[1], tip=tip, since=since) if tip else None
            if found:
                return Landed(found, None, already=True)
            candidate = build(tip)
            sha = gs.write_commit(tip, candidate.files, candidate.message, candidate.author, candidate.when)
            before_move(tip, sha)
        prepared = None
        try:
            gs.update_ref(ref, sha, tip, reason=f"{key[0]} {key[1]}")
        except RefMoved:
            continue  # someone else moved it: merge again on top of theirs (or find ours there)
        return Landed(sha, tip, already=False)
    raise Busy("マニュアルリポジトリが混み合っています。しばらくしてから再度操作してください。")


def _explain(exc: git.GitCommandError) -> str:
    err = str(exc.stderr or exc)
    if "No space left" in err:
        return "マニュアルリポジトリのディスクがいっぱいのため保存できませんでした。何も変更されていません。管理者に連絡してください。"
    if "Permission denied" in err or "Read-only" in err or "read-only" in err:
        return "マニュアルリポジトリに書き込めないため保存できませんでした（読み取り専用）。何も変更されていません。管理者に連絡してください。"
    return f"マニュアルリポジトリの操作に失敗しました。何も変更されていません。（{err.strip()[:200]}）"


def trailer_block(pairs: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in pairs)
