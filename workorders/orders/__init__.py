"""Work orders: created from a form or a CSV file, followed step by step, cancelled; and the workload view."""

from flask import Flask


def init_app(app: Flask) -> None:
    from workorders.orders.views import bp

    app.register_blueprint(bp)
