"""Plurals come from the catalog's own rule (Babel's Translations), so a language with three
forms is one .po file away; Spanish and English keep theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aftersale.entrypoints.web import i18n

POLISH = r"""msgid ""
msgstr ""
"Language: pl\n"
"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && "
"(n%100<10 || n%100>=20) ? 1 : 2);\n"
"Content-Type: text/plain; charset=utf-8\n"

#, python-format
msgid "%(num)s day left"
msgid_plural "%(num)s days left"
msgstr[0] "został %(num)s dzień"
msgstr[1] "zostały %(num)s dni"
msgstr[2] "zostało %(num)s dni"

msgid "Cancel Order"
msgstr "Anuluj zamówienie"
"""


@pytest.fixture
def polish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Polish catalog in a locales folder of its own, read as the pages read theirs."""
    folder = tmp_path / "pl" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "web.po").write_text(POLISH, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.catalog.cache_clear()
    yield "pl"
    monkeypatch.undo()
    i18n.catalog.cache_clear()


def _days(n: int, locale: str) -> str:
    return i18n.ntranslate("%(num)s day left", "%(num)s days left", n, locale)


def test_a_language_with_three_plural_forms_picks_each_by_its_own_rule(polish: str) -> None:
    assert i18n.translate("Cancel Order", polish) == "Anuluj zamówienie"
    assert _days(1, polish) == "został 1 dzień"
    assert [_days(n, polish) for n in (2, 3, 4, 22, 104)] == [
        f"zostały {n} dni" for n in (2, 3, 4, 22, 104)
    ]
    assert [_days(n, polish) for n in (0, 5, 11, 12, 14, 25, 111)] == [
        f"zostało {n} dni" for n in (0, 5, 11, 12, 14, 25, 111)
    ]
    # (a message the catalog lacks shows in English, with the English rule)
    assert i18n.ntranslate("%(n)s file", "%(n)s files", 3, polish) == "3 files"


def test_spanish_and_english_plurals_through_the_compiled_catalog() -> None:
    assert _days(1, "es") == "queda 1 día"
    assert _days(2, "es") == "quedan 2 días" and _days(0, "es") == "quedan 0 días"
    assert _days(1, "en") == "1 day left" and _days(7, "en") == "7 days left"
    assert isinstance(i18n.catalog("es").translations.ngettext("a", "b", 2), str)
