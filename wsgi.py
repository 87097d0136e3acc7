"""Entry point for gunicorn and `flask --app wsgi`."""

from workorders import create_app

app = create_app()
