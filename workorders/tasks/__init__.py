"""The task board: tasks of work orders, claimed, assigned and worked under row locks."""

from flask import Flask


def init_app(app: Flask) -> None:
    from workorders.tasks.views import bp

    app.register_blueprint(bp)
