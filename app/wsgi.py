"""WSGI entry point for production servers: `gunicorn app.wsgi:app`."""

from app import create_app

app = create_app()
