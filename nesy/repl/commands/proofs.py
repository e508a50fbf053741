"""The proof commands: ``:why`` (an answer's or an atom's proof) and ``:whynot``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nesy.repl import render
from nesy.repl.commands import CommandError, command, plural

if TYPE_CHECKING:
    from nesy.repl.session import Session


@command("why", "[N | ATOM]", "the proof of answer N of the last query (default 1), or of a ground atom")
def _why(s: Session, args: str) -> None:
    arg = args.strip() or "1"
    if not arg.isdigit():
        s.show_proof(s.kb.why(arg.rstrip(".")))
        return
    items = render.numbered(s.result)
    n = int(arg)
    if not items:
        raise CommandError("no numbered answers to explain yet: ask a query first")
    if not 1 <= n <= len(items):
        raise CommandError(f"no answer {n}: the last query has {plural(len(items), 'answer')}")
    item = items[n - 1]
    if not hasattr(item, "proofs"):
        s.show_proof(item.proof)
        return
    proofs = item.proofs
    for proof in proofs:
        s.show_proof(proof)
    if not proofs:
        kb = s.kb
        s.say(f"row {n} matched stored triples only:")
        for t in item.matched:
            s.say(f"  {kb.shorten(t[0])} {kb.shorten(t[1])} {kb.shorten(t[2])}   (graph {t[3]})")
        if not item.matched:
            s.say("  (no triple pattern of the query had all its terms bound)")


@command("whynot", "ATOM", "why an atom does not hold: the first body atom that failed, per rule")
def _whynot(s: Session, args: str) -> None:
    atom = args.strip().rstrip(".")
    if not atom:
        raise CommandError(":whynot needs an atom, e.g. :whynot fam:grandparent(fam:ann, fam:eve)")
    s.say(str(s.kb.why_not(atom)))
