"""Administration: users (role, departments, active, password), departments and processes."""

from flask import Flask


def init_app(app: Flask) -> None:
    from workorders.admin.views import bp

    app.register_blueprint(bp)
