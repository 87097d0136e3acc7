"""Notifications: telling people what others did to their tasks, written in the same transaction as the change."""

from flask import Flask


def init_app(app: Flask) -> None:
    from workorders.notifications import models  # noqa: F401  (mapped with the other models)
