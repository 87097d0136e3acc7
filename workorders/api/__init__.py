"""JSON API v1 for scanners, MES screens and scripts: the board's services behind bearer tokens."""

from flask import Flask

from workorders.extensions import csrf


def init_app(app: Flask) -> None:
    from workorders.api import notifications  # noqa: F401  (its route, on the same blueprint)
    from workorders.api.views import bp

    # Bearer requests need no CSRF token; session requests are checked in the blueprint (X-CSRFToken).
    csrf.exempt(bp)
    app.register_blueprint(bp)
