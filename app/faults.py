"""Named fault points for the crash tests: `TEBIKI_FAULT=<name>` kills the process (SIGKILL) when
it reaches that point, as a power cut would; `TEBIKI_FAIL=<name>` makes a point raise. Unset in
production: each point is one dict lookup."""

from __future__ import annotations

import os
import signal


def point(name: str) -> None:
    if os.environ.get("TEBIKI_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


class InjectedFault(RuntimeError):
    pass


def fail(name: str) -> None:
    """`TEBIKI_FAIL=<name>` makes this point raise, as a broken dependency would (e.g. the index)."""
    if os.environ.get("TEBIKI_FAIL") == name:
        raise InjectedFault(f"fault injected at {name}")
