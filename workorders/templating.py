"""Template filters and globals shared by every page."""

import json

from flask import Flask

from workorders.orders.models import Priority
from workorders.tasks.labels import action_label, column_labels, event_note, status_label
from workorders.users.labels import role_label

# htmx 2 does not swap 4xx/5xx by default; our error answers carry a dialog and HX-Retarget, so let those swap
# (static/app.js then tells htmx they are outcomes shown on the page, not failures to log).
HTMX_CONFIG = {
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "^(400|401|403|404|409|413|429|503)$", "swap": True, "error": True},
        {"code": "[45]..", "swap": False, "error": True},
    ],
    # The Content-Security-Policy (workorders/security.py) allows no eval and no inline script or style, so htmx
    # must need none: no eval (hx-on, trigger filters, js: values), no <style> of its own for indicators, no
    # <script> from a swapped fragment re-created inline (ours carry none), and no style attribute copied over
    # while settling (ours carry none either). The nonce settings then have nothing to do.
    "allowEval": False,
    "includeIndicatorStyles": False,
    "allowScriptTags": False,
    "attributesToSettle": ["class", "width", "height"],
    "selfRequestsOnly": True,
    "historyCacheSize": 0,
}


def init_app(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.filters["action_label"] = action_label
    app.jinja_env.filters["event_note"] = event_note
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.globals["column_labels"] = column_labels
    app.jinja_env.globals["htmx_config"] = json.dumps(HTMX_CONFIG, separators=(",", ":"))
    app.jinja_env.globals["priorities"] = list(Priority)
    app.jinja_env.globals["htmx_script"] = "vendor/htmx-2.0.11.min.js"
