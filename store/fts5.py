"""The query tree compiled to SQLite FTS5 MATCH expressions: the candidates' filter.

An expression here only has to find every row that may hold a mention (it may find more):
`match.py` decides on the words themselves. So each word is the OR of its indexed forms
(its family's and, when asked, its near spellings'), a phrase is an FTS5 phrase of them when
few combinations exist and the looser AND of its words otherwise, and words close together
are FTS5's NEAR. A bridge row (the words on both sides of a segment boundary, with the
boundary token between them) is asked for with the same expression or, for a query of
phrases only, with the phrases split at every place the boundary may fall, so that only
rows that a phrase crosses are read.
"""
from __future__ import annotations

from itertools import islice, product

from .match import Plan
from .phrases import boundary_splits, phrase_terms
from .query import Node, Or, Term

MAX_COMBINATIONS = 64


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _phrases(plan: Plan, term: Term, approximate: bool) -> list[str] | None:
    """The FTS5 phrases a term may be indexed as; None when there are too many."""
    specs = plan.specs[term]
    per_word = []
    for spec in specs:
        if spec.prefix is not None:   # "\x00" marks a prefix (only the last word)
            per_word.append([spec.prefix + "\x00", *sorted(spec.prefix_stems)])
        else:
            per_word.append(plan.fts_alternatives(spec, approximate or term.fuzzy))
    if any(not alts for alts in per_word):
        return []
    combos = list(islice(product(*per_word), MAX_COMBINATIONS + 1))
    if len(combos) > MAX_COMBINATIONS:
        return None
    out = []
    for combo in combos:
        if combo[-1].endswith("\x00"):
            out.append(_quote(" ".join(combo)[:-1]) + " *")
        else:
            out.append(_quote(" ".join(combo)))
    return out


def _loose(plan: Plan, term: Term, approximate: bool) -> str:
    """Every word of the term in the row, in any of its forms (not necessarily adjacent)."""
    groups = []
    for spec in plan.specs[term]:
        if spec.prefix is not None:
            starts = [_quote(spec.prefix) + " *", *map(_quote, sorted(spec.prefix_stems))]
            groups.append("(" + " OR ".join(starts) + ")")
        else:
            alts = plan.fts_alternatives(spec, approximate or term.fuzzy)
            groups.append("(" + " OR ".join(_quote(a) for a in alts) + ")" if alts else '"\x01"')
    return " AND ".join(groups)


def _node(plan: Plan, node: Node, approximate: bool) -> str:
    if isinstance(node, Term):
        loose = approximate or node.fuzzy   # near spellings allow a word inserted inside a phrase
        phrases = None if loose and len(node.words) > 1 else _phrases(plan, node, approximate)
        expr = "(" + _loose(plan, node, approximate) + ")" if phrases is None else \
            "(" + " OR ".join(phrases) + ")" if phrases else '"\x01"'
        if approximate and plan.regrouped.get(node):   # a word split in two, or two joined
            expr = "(" + " OR ".join([expr, *(_quote(" ".join(g)) for g in plan.regrouped[node])]) + ")"
        return expr
    if isinstance(node, Or):
        return "(" + " OR ".join(_node(plan, item, approximate) for item in node.items) + ")"
    # NEAR takes phrases: use it when every item is a term with few forms.
    if not approximate and all(isinstance(i, Term) and not i.fuzzy for i in node.items):
        options = [_phrases(plan, i, approximate) for i in node.items]   # type: ignore[arg-type]
        if all(o for o in options):
            combos = list(islice(product(*options), MAX_COMBINATIONS + 1))  # type: ignore[arg-type]
            if len(combos) <= MAX_COMBINATIONS:
                return "(" + " OR ".join(f"NEAR({' '.join(c)}, {node.distance})" for c in combos) + ")"
    return "(" + " AND ".join(_node(plan, item, approximate) for item in node.items) + ")"


def _exclusions(plan: Plan) -> str:
    return "".join(f" NOT {_node(plan, n, False)}" for n in plan.query.excluded)


def compile_segments(plan: Plan, approximate: bool) -> str:
    """The expression for segment rows."""
    return _node(plan, plan.query.root, approximate) + _exclusions(plan)


def compile_crossing(plan: Plan, approximate: bool) -> str | None:
    """For a query of exact phrases only: the expression that matches a bridge row only where
    a phrase crosses its boundary ("a b c" as "a ᛝ b c" or "a b ᛝ c"). None otherwise."""
    terms = phrase_terms(plan.query, approximate)
    if terms is None:
        return None
    out = []
    for term in terms:
        phrases = _phrases(plan, term, False)
        if phrases is None:
            return None
        for phrase in phrases:
            stems = tuple(phrase[1:-1].replace('""', '"').split(" "))
            out += [_quote(" ".join(split)) for split in boundary_splits(stems)]
    if not out:
        return None
    return "(" + " OR ".join(dict.fromkeys(out)) + ")" + _exclusions(plan)
