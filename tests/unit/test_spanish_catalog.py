"""Every message the pages translate has a Spanish translation in the catalogs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from jinja2.ext import extract_from_ast

from aftersale.entrypoints.web import i18n
from aftersale.entrypoints.web.render import env

WEB = Path(i18n.__file__).parent
CALLS = {"translate", "ntranslate", "_t"}
# Tables of messages translated when shown: dict values, or the last item of each pair.
TABLES = {
    "ERRORS",
    "ERROR_MESSAGES",
    "EXTRA_CAUSES",
    "DISPUTE_STEPS",
    "TABS",
    "FIELD_MESSAGES",
    "EVENT_TITLES",
    "ACTORS",
    "SENTENCES",
    "INNER_WORDS",
    "REFUND_REASONS",
    "RESOLUTIONS",
}


def _table_texts(value: ast.expr) -> list[ast.expr]:
    rows = value.values if isinstance(value, ast.Dict) else getattr(value, "elts", [])
    return [row.elts[-1] if isinstance(row, ast.Tuple) else row for row in rows if row]


def _template_messages() -> Iterator[tuple[str, str]]:
    for path in sorted((WEB / "templates").rglob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for _, _, message in extract_from_ast(tree, ("_", "gettext", "ngettext")):
            first = message[0] if isinstance(message, tuple) else message
            if isinstance(first, str):
                yield path.name, first


def _python_messages() -> Iterator[tuple[str, str]]:
    """Literal messages given to translate()/_t(), done= texts and the refusal tables."""
    for path in sorted(WEB.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            texts: list[ast.expr] = []
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name in CALLS:
                    texts += node.args[:2]
                texts += [k.value for k in node.keywords if k.arg == "done"]
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if {getattr(t, "id", "") for t in targets} & TABLES:
                    texts += _table_texts(node.value)
            for text in texts:
                if isinstance(text, ast.Constant) and isinstance(text.value, str):
                    yield path.name, text.value


def test_every_message_of_the_pages_has_a_spanish_translation() -> None:
    spanish = i18n.catalog("es")
    found = [*_template_messages(), *_python_messages()]
    missing = sorted(
        {(where, text) for where, text in found}
        - {(w, t) for w, t in found if t in spanish.singular or t in spanish.plural}
    )
    assert len(found) > 500
    assert missing == []
