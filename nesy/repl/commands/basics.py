"""The shell's own commands: ``:help``, ``:prefix``, ``:format``, ``:save`` and ``:quit``."""

from __future__ import annotations

import difflib
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from nesy.repl.commands import (
    ANSWER_FORMATS,
    COMMANDS,
    PROOF_FORMATS,
    CommandError,
    command,
    plural,
    suggest,
)

if TYPE_CHECKING:
    from nesy.repl.session import Session


@command("help", "[COMMAND]", "list the commands, or explain one")
def _help(s: Session, args: str) -> None:
    name = args.lstrip(":").strip()
    if name:
        cmd = COMMANDS.get(name)
        if cmd is None:
            near = suggest(name)
            raise CommandError(f"no command :{name}" + (f"; did you mean :{near}?" if near else ""))
        s.say(f":{cmd.name} {cmd.usage}".rstrip(), style="bold")
        s.say(f"  {cmd.help}")
        return
    table = Table("command", "what it does", header_style="bold", box=None)
    for cmd in COMMANDS.values():
        table.add_row(escape(f":{cmd.name} {cmd.usage}".rstrip()), escape(cmd.help))
    s.console.print(table)
    s.say(
        "Type facts and rules (`p(a, b).`, `[r] q(X) :- p(X, _).`), queries (`?- q(X).`), "
        "SPARQL (`SELECT ?x WHERE { ?x a fam:Person }`), or a question in English after `??` "
        "(`?? which nationality is ann 's spouse ?`). A statement ends with `.` (SPARQL: "
        "when its braces balance); an empty line sends what is typed. Ctrl-C cancels, "
        "Ctrl-D quits."
    )


@command("prefix", "[NAME IRI]", "list the prefixes, or bind NAME to IRI")
def _prefix(s: Session, args: str) -> None:
    parts = args.split()
    if not parts:
        for name, iri in s.kb.prefixes.items():
            s.say(f"{name}: <{iri}>")
        s.say(f"bare names: <{s.kb.default_namespace}>", style="dim")
        return
    if len(parts) != 2:
        raise CommandError(":prefix takes a name and an IRI, e.g. :prefix ex <http://example.org/>")
    name, iri = parts[0].rstrip(":"), parts[1].strip("<>")
    s.kb.bind(name, iri)
    s.say(f"{name}: <{iri}>", style="green")


@command("format", "[table|json|csv|tree|mermaid]", "how answers (table/json/csv) and proofs (tree/mermaid) print")
def _format(s: Session, args: str) -> None:
    fmt = args.strip().lower()
    if not fmt:
        s.say(f"answers: {s.answer_format}, proofs: {s.proof_format}")
        return
    if fmt in ANSWER_FORMATS:
        s.answer_format = fmt
    elif fmt in PROOF_FORMATS:
        s.proof_format = fmt
    else:
        near = difflib.get_close_matches(fmt, ANSWER_FORMATS + PROOF_FORMATS, n=1)
        raise CommandError(f"unknown format {fmt!r}: choose one of {', '.join(ANSWER_FORMATS + PROOF_FORMATS)}"
                           + (f" (did you mean {near[0]}?)" if near else ""))
    s.say(f"answers: {s.answer_format}, proofs: {s.proof_format}")


@command("save", "FILE", "write the facts and rules typed in this session to a rule file")
def _save(s: Session, args: str) -> None:
    names = shlex.split(args)
    if len(names) != 1:
        raise CommandError(":save needs one file name, e.g. :save session.rules")
    path = Path(names[0]).expanduser()
    try:
        path.write_text(s.session_text(), encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc
    facts = sum(len(p.facts) for p in s.typed)
    rules = sum(len(p.rules) for p in s.typed)
    s.say(f"saved {plural(facts, 'fact')} and {plural(rules, 'rule')} to {path}", style="green")


@command("quit", "", "leave the shell (Ctrl-D does too)")
def _quit(s: Session, args: str) -> None:
    s.done = True
