"""Flask CLI: `flask --app wsgi notifications prune` (for cron)."""

import click
from flask import current_app
from flask.cli import AppGroup

from workorders.notifications import service

notifications_cli = AppGroup("notifications", help="Notifications of assigned, unassigned and cancelled tasks.")


@notifications_cli.command("prune")
def prune() -> None:
    """Delete every notification older than NOTIFICATION_KEEP_DAYS (default 30; 0 keeps them all)."""
    deleted = service.prune()
    days = current_app.config["NOTIFICATION_KEEP_DAYS"]
    kept = f"older than {days} days" if days else "none: NOTIFICATION_KEEP_DAYS is 0, so all are kept"
    click.echo(f"Deleted {deleted:,} notifications ({kept}).")
