"""The headers every response carries: a strict Content-Security-Policy and its companions (SPEC "Security")."""

from flask import Flask, Response

# Everything the pages load comes from this site: htmx (vendored), app.js and app.css. Nothing inline, nothing
# evaluated: htmx runs with allowEval and includeIndicatorStyles off (workorders/templating.py).
CSP_DIRECTIVES = {
    # The fallback for every kind of fetch not named below (fonts, media, frames, workers, manifests).
    "default-src": "'self'",
    # Only our own files; no 'unsafe-inline' (no <script> blocks, no on*= handlers) and no 'unsafe-eval'.
    "script-src": "'self'",
    # Only app.css: no <style> blocks and no style="" attributes (the workload bars are drawn with SVG).
    "style-src": "'self'",
    # No image comes from anywhere else; not even data: URLs are used.
    "img-src": "'self'",
    # htmx's requests go to this site only (it also has selfRequestsOnly on).
    "connect-src": "'self'",
    # Forms post only here: an injected form cannot send a password elsewhere (not covered by default-src).
    "form-action": "'self'",
    # No page may frame ours (clickjacking: a hidden "Claim" button under someone's tap).
    "frame-ancestors": "'none'",
    # No <base> element may re-point our relative URLs (not covered by default-src either).
    "base-uri": "'none'",
    # No plugins, ever.
    "object-src": "'none'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{name} {value}" for name, value in CSP_DIRECTIVES.items())

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # A response is what its Content-Type says: an uploaded CSV or a JSON answer is never run as a script.
    "X-Content-Type-Options": "nosniff",
    # Task and work order URLs (with their search terms) stay inside the site.
    "Referrer-Policy": "same-origin",
    # frame-ancestors for browsers too old to know it (shop-floor terminals are not always up to date).
    "X-Frame-Options": "DENY",
}


def add_security_headers(response: Response) -> Response:
    """Set the headers on every response: pages, fragments, redirects, errors, JSON and static files alike."""
    response.headers.update(HEADERS)
    return response


def init_app(app: Flask) -> None:
    # after_request runs for every response Flask makes, error handlers' (and so 404s, 413s and 500s) included.
    app.after_request(add_security_headers)
