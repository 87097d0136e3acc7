"""The one place that reads or writes HX-* headers."""

from urllib.parse import urlsplit

from flask import Response, request


def is_htmx() -> bool:
    """Whether the request came from htmx (and wants a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def retarget(response: Response, target: str, swap: str = "innerHTML") -> Response:
    """Send the response's content somewhere else than the element that asked, e.g. the modal slot."""
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    return response


def out_of_band_only(response: Response) -> Response:
    """Swap only the response's out-of-band parts; the element that asked keeps what it shows (htmx would otherwise
    put the rest, even nothing, in its place)."""
    response.headers["HX-Reswap"] = "none"
    return response


def vary_on_htmx(response: Response) -> Response:
    """Mark a GET that answers with a page or a fragment, so caches keep the two apart."""
    response.vary.add("HX-Request")
    return response


def current_path() -> str | None:
    """The path and query of the page htmx was on when it sent the request (HX-Current-URL), if any."""
    url = request.headers.get("HX-Current-URL")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def redirect_page(url: str) -> Response:
    """Make htmx load `url` as a whole page (e.g. the login page after the session ended)."""
    response = Response(status=204)
    response.headers["HX-Redirect"] = url
    return response
