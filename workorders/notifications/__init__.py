"""Notifications: telling people what others did to their tasks, written in the same transaction as the change."""

from flask import Flask


def init_app(app: Flask) -> None:
    from workorders.notifications.cli import notifications_cli
    from workorders.notifications.views import bp, notification_count

    app.register_blueprint(bp)
    app.cli.add_command(notifications_cli)
    app.jinja_env.globals["notification_count"] = notification_count
