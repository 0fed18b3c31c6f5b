"""gunicorn settings of `make serve`: `gunicorn -c python:app.gunicorn_conf app.wsgi:app`.

The application is loaded once, in the master, and the workers are forked from it (preload_app):
the imported code, the compiled templates and the SudachiPy dictionary (a 200 MB file mapping)
are then one copy shared by every worker instead of one per worker. `gc.freeze()` keeps the
collector from touching — and so copying — those shared objects in each worker.

What must not be shared is reset in each worker after the fork: database connections (a socket
used by two processes corrupts both). Git is not opened before the fork (each request opens the
repository it uses) and usage counts start empty in each worker.

A preloaded master does not reload the code on SIGHUP: a new version is deployed by restarting the
service (docs/operations.md).
"""

from __future__ import annotations

import gc
from typing import Any

preload_app = True


def when_ready(server: Any) -> None:
    """In the master, once the app is loaded and before the first worker is forked."""
    from app.web import warm_up
    from app.wsgi import app

    warm_up(app)
    gc.collect()
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    from app.extensions import db
    from app.wsgi import app

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)  # the master's connections stay the master's
