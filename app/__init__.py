"""Tebiki (手引): manual lifecycle management for a city government."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.config import PACKAGE_DIR, load_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application factory (`flask --app app …`)."""
    settings = load_config(config)
    app = Flask(
        __name__,
        template_folder=str(PACKAGE_DIR / "templates"),
        instance_path=settings["INSTANCE_DIR"],
    )
    app.config.update(settings)

    from app import web

    web.init_app(app)
    return app
