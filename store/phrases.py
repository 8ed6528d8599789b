"""What both index compilers (`fts5.py`, `tsquery.py`) ask the same way: which queries are
exact phrases only, and where a phrase may cross a segment boundary in a bridge row."""
from __future__ import annotations

from .query import Or, Query, Term
from .text import BOUNDARY, BRIDGE

__all__ = ["boundary_splits", "phrase_terms"]


def phrase_terms(query: Query, approximate: bool) -> list[Term] | None:
    """The terms of a query made of exact phrases only ("a b" OR "c d"), whose bridge rows can
    be asked for where a phrase crosses the boundary; None for any other query."""
    root = query.root
    terms = [root] if isinstance(root, Term) else list(root.items) if isinstance(root, Or) else []
    if approximate or not terms or not all(isinstance(t, Term) and len(t.words) > 1
                                           and not t.prefix and not t.fuzzy for t in terms):
        return None
    return terms   # type: ignore[return-value]


def boundary_splits(stems: tuple[str, ...]) -> list[tuple[str, ...]]:
    """A phrase's indexed forms with the segment-boundary token at each place a bridge row may
    hold it (each side keeps at most BRIDGE words): "a b c" → "a ᛝ b c", "a b ᛝ c"."""
    return [(*stems[:k], BOUNDARY, *stems[k:])
            for k in range(max(1, len(stems) - BRIDGE), min(len(stems), BRIDGE + 1))]
