"""The message catalogs as the tests read them: a fresh extraction of the code and templates, and the .po files."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "workorders" / "translations"
# Babel reads zh_CN as zh_Hans_CN and looks its catalog up under that name (workorders/i18n.py).
CATALOG_DIRS = {"en": "en", "zh_CN": "zh_Hans_CN"}
# The keywords docs/languages.md gives pybabel, on top of its own (_, gettext, ngettext, …).
KEYWORDS = ("_l", "lazy_gettext", "lazy_ngettext:1,2")
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0\- +]?\d*(?:\.\d+)?[diouxXeEfFgGcrs]")


def po_path(language: str) -> Path:
    return TRANSLATIONS / CATALOG_DIRS[language] / "LC_MESSAGES" / "messages.po"


def read_catalog(language: str) -> Catalog:
    with po_path(language).open("rb") as file:
        return read_po(file, locale=CATALOG_DIRS[language])


@cache
def extracted() -> Catalog:
    """Every message in workorders/**.py and templates/**.html, extracted now as docs/languages.md says."""
    with tempfile.TemporaryDirectory() as folder:
        pot = Path(folder) / "messages.pot"
        keywords = [argument for keyword in KEYWORDS for argument in ("-k", keyword)]
        arguments = ["pybabel", "extract", "-F", str(ROOT / "babel.cfg"), *keywords, "-o", str(pot), str(ROOT)]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            CommandLineInterface().run(arguments)
        with pot.open("rb") as file:
            return read_po(file)


def ids(catalog: Catalog) -> set:
    """The catalog's keys: (message id, context); a plural's id is its (singular, plural) pair. No header."""
    return {(message.id, message.context) for message in catalog if message.id}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def literal_fragments(msgid: str, shortest: int = 4) -> list[str]:
    """The words of a message between its placeholders, long enough to mean something if found on a page."""
    fragments = (fragment.strip(" .,:;·()…'\"!?—–-") for fragment in PLACEHOLDER.split(msgid)[::2])
    return [fragment for fragment in fragments if sum(char.isalpha() for char in fragment) >= shortest]
