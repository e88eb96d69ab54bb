"""Texts shown to people, in Simplified Chinese first and English; one mechanism for every
role's table (the kiosk's screens, the hall screen, the printed ticket)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DEFAULT_LANG = "zh"


class Labels:
    """A table of texts per language. Every language must have the same keys (checked when
    the table is made, so a missing translation fails at import, not in front of a resident);
    an unknown language falls back to Chinese."""

    def __init__(self, tables: Mapping[str, Mapping[str, str]]) -> None:
        base = set(tables[DEFAULT_LANG])
        for lang, table in tables.items():
            if set(table) != base:
                missing = sorted(base - set(table))
                extra = sorted(set(table) - base)
                raise ValueError(f"texts for {lang!r}: missing {missing}, extra {extra}")
        self._tables = {lang: dict(table) for lang, table in tables.items()}

    def table(self, lang: str) -> Mapping[str, str]:
        """All texts of one language (Chinese for an unknown one)."""
        return self._tables.get(lang, self._tables[DEFAULT_LANG])

    def __call__(self, lang: str, key: str, **values: object) -> str:
        """One text, with `{name}` fields filled from `values`."""
        return self.table(lang)[key].format(**values)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._tables)


def number_ranges(numbers: Iterable[int], sep: str = "、", dash: str = "～") -> str:
    """(1, 2, 3, 5, 7, 8, 9) → "1～3、5、7～9": runs of three or more as a range."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return sep.join(f"{r[0]}{dash}{r[-1]}" if len(r) > 2 else sep.join(map(str, r))
                    for r in runs)
