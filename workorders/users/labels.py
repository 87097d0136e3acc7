"""What people read for a role, in their language (the role values themselves never change)."""

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {"operator": _l("operator"), "supervisor": _l("supervisor"), "admin": _l("admin")}


def role_label(role: str) -> str:
    """The role as the viewer reads it; an unknown value as it is."""
    return str(ROLE_LABELS.get(role, role))
