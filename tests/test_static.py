"""The vendored htmx and the page shell every screen is built on."""

import hashlib
import json
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
HTMX = STATIC / "vendor" / "htmx-2.0.11.min.js"
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"


def test_htmx_is_vendored_pinned_and_unmodified():
    content = HTMX.read_bytes()
    assert hashlib.sha256(content).hexdigest() == HTMX_SHA256
    assert b'version:"2.0.11"' in content.replace(b"'", b'"')


def test_pages_load_htmx_from_this_site_only(client):
    page = client.get("/login").get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert scripts == ["/static/vendor/htmx-2.0.11.min.js", "/static/app.js"]
    with client.get(scripts[0]) as response:
        assert response.status_code == 200


def test_htmx_config_swaps_error_dialogs_and_disables_eval(client):
    page = client.get("/login").get_data(as_text=True)
    raw = re.search(r'<meta name="htmx-config" content="([^"]+)"', page).group(1)
    config = json.loads(raw.replace("&#34;", '"').replace("&quot;", '"'))
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    conflict = next(rule for rule in config["responseHandling"] if re.search(rule["code"], "409"))
    assert conflict["swap"] is True and conflict["error"] is True
    server_error = next(rule for rule in config["responseHandling"] if re.search(rule["code"], "500"))
    assert server_error["swap"] is False


def test_page_shell_has_modal_slot_and_live_message_area(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<div id="modal-slot"></div>' in page
    assert re.search(r'<div id="messages"[^>]*aria-live="polite"', page)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
