"""The shell's state and what each input does: a :class:`Session` runs one statement at a time.

The session holds the knowledge base, the last answers (for ``:why N``), the output
format and the facts and rules typed so far (for ``:save``). It writes everything to a
rich :class:`~rich.console.Console`, so it runs and is tested without a terminal::

    console = Console(file=io.StringIO(), width=120)
    s = Session(KnowledgeBase(), console)
    s.handle(":load examples/family/family.ttl examples/family/family.rules")
    s.handle("?- fam:grandparent(fam:ann, X).")
    s.handle(":why 1")

The ``:commands`` are in :mod:`nesy.repl.commands`, one module per area.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from nesy.errors import NesyError
from nesy.extras import missing_extra
from nesy.namespaces import QA_NS
from nesy.repl import render
from nesy.repl.commands import (
    COMMANDS,
    CommandError,
    basics,
    data,
    limits,
    models,
    plural,
    proofs,
    suggest,
)
from nesy.repl.statements import COMMAND, QUIT_WORDS, is_sparql

#: The area modules whose ``:commands`` a session runs (importing them registers them).
AREAS = (basics, data, proofs, models, limits)


class Session:
    """One REPL session over a knowledge base.

    Args:
        kb: The :class:`~nesy.kb.KnowledgeBase` to query and extend.
        console: Where output goes (default: a console on standard output).
        max_rows: Most answer rows a table shows (default: the console height minus a
            few lines, at least 10); ``:format csv`` or ``json`` show every answer.

    Attributes:
        result: The last answers: a list of ``Answer`` or a ``SparqlResult`` (None before
            the first query).
        answer_format: ``table``, ``json`` or ``csv``.
        proof_format: ``tree`` or ``mermaid``.
        typed: The programs typed at the prompt that were added, in order (for ``:save``).
        done: Set by ``:quit``; the shell stops.
    """

    def __init__(self, kb: Any, console: Console | None = None, *, max_rows: int | None = None) -> None:
        self.kb = kb
        self.console = console or Console(highlight=False)
        self.max_rows = max_rows
        self.result: Any = None
        self.answer_format = "table"
        self.proof_format = "tree"
        self.typed: list[Any] = []
        self.done = False

    # -- input ---------------------------------------------------------------------------
    def handle(self, text: str) -> None:
        """Run one complete statement or command; a :class:`NesyError` is printed, not raised.

        A failed statement changes nothing (the knowledge base adds all or nothing), so the
        session goes on with its state intact.
        """
        text = text.strip()
        if not text:
            return
        try:
            if COMMAND.match(text):
                self.run_command(text)
            elif text.lower() in QUIT_WORDS:
                self.done = True
            elif is_sparql(text):
                self.run_sparql(text)
            elif text.startswith("??"):
                self.run_question(text[2:].strip())
            elif text.startswith("?-"):
                self.run_query(text)
            else:
                self.add_statements(text)
        except NesyError as exc:
            self.error(str(exc))
        except ImportError as exc:
            # An optional extra that is not installed: say which to install, not a traceback.
            missing = missing_extra(exc)
            if missing is None:
                raise
            self.error(str(missing))

    def run_command(self, text: str) -> None:
        """Run ``:name args``; an unknown name suggests the nearest command."""
        m = COMMAND.match(text)
        assert m is not None
        name, args = m.group(1), text[m.end():].strip()
        cmd = COMMANDS.get(name)
        if cmd is None:
            near = suggest(name)
            hint = f"; did you mean :{near}?" if near else "; :help lists the commands"
            raise CommandError(f"unknown command :{name}{hint}")
        cmd.run(self, args)

    def run_query(self, text: str) -> None:
        """Answer a ``?-`` rule query and show the answers."""
        self.show(self.kb.ask(text))

    def run_question(self, question: str) -> None:
        """Answer a question in English (``?? which nationality is ann's spouse?``)."""
        if not question:
            raise CommandError("?? needs a question, e.g. ?? which nationality is ann 's spouse ?")
        res = self.kb.ask_text(question)
        topic = f"topic {self.kb.shorten(res.topic)}" if res.topic is not None else "no topic"
        self.say(f"{res.mode} mode; {topic}", style="dim")
        self.result = res
        if not res:
            self.say(f"no answer: {res.reason}", style="yellow")
            return
        table = Table("#", "answer", "score", "path", header_style="bold")
        for i, a in enumerate(res, 1):
            table.add_row(str(i), escape(self.kb.shorten(a.term)), f"{a.score:.4g}", escape(a.functional))
        self.console.print(table)
        self.say("(:why N shows the proof of answer N)", style="dim")

    def run_sparql(self, text: str) -> None:
        """Run a SPARQL query and show its rows (or yes/no, or triples); an Update changes
        the KB (all of it or nothing) and says what it did."""
        from nesy.store.sparql_text import UPDATE_WORDS, form_of

        if form_of(text) in UPDATE_WORDS:
            self.say(str(self.kb.update(text)))
        else:
            self.show(self.kb.sparql(text))

    def add_statements(self, text: str) -> None:
        """Add typed facts, rules and ``@prefix`` lines (all or nothing); run any ``?-`` in them."""
        try:
            program = self.kb.add_rules(text)
        except NesyError as exc:
            self.error(str(exc))
            if "must be ground" in exc.message and ":-" not in text:
                self.say(f"to ask a query, start it with ?-:  ?- {text}", style="yellow")
            return
        self.typed.append(program)
        counts = ((len(program.facts), "fact"), (len(program.rules), "rule"), (len(program.prefixes), "prefix"))
        parts = [plural(n, what) for n, what in counts if n]
        if parts:
            self.say("added " + ", ".join(parts), style="green")
        for query in program.queries:
            self.show(self.kb.ask(query))

    # -- output --------------------------------------------------------------------------
    def say(self, text: str, style: str | None = None) -> None:
        """Print plain text (no markup)."""
        self.console.print(Text(text, style=style or ""), soft_wrap=True)

    def error(self, message: str) -> None:
        """Print an error message (no traceback)."""
        self.console.print(Text(message, style="red"), soft_wrap=True)

    def rows_limit(self) -> int:
        """How many answer rows a table shows."""
        if self.max_rows is not None:
            return self.max_rows
        return max(self.console.height - 6, 10)

    def show(self, result: Any) -> None:
        """Remember ``result`` for ``:why`` and print it in the current answer format."""
        self.result = result
        if self.answer_format == "json":
            self.console.print_json(render.answers_json(self.kb, result))
        elif self.answer_format == "csv":
            self.console.out(render.answers_csv(self.kb, result), highlight=False)
        else:
            self.console.print(render.answers_table(self.kb, result, self.rows_limit()))

    def show_proof(self, proof: Any) -> None:
        """Print one proof as a coloured tree or as Mermaid text."""
        # qa: names the conclusions of answers to questions in English (``?? ...``).
        prefixes = {"qa": QA_NS, **self.kb.prefixes}
        if self.proof_format == "mermaid":
            self.console.out(proof.to_mermaid(prefixes, default_ns=self.kb.default_namespace), highlight=False)
        else:
            self.console.print(render.proof_tree(proof, prefixes, self.kb.default_namespace))

    # -- saving --------------------------------------------------------------------------
    def session_text(self) -> str:
        """The facts and rules typed in this session as a rule file (with every known prefix)."""
        from nesy.rules.printer import format_fact, format_iri_ref, format_rule

        kb = self.kb
        ns = kb.default_namespace
        prefixes = dict(kb.prefixes)
        lines = [f"# nesy session saved {datetime.now().isoformat(timespec='seconds')}"]
        if "" not in prefixes:
            lines.append(f"@prefix : {format_iri_ref(ns)} .")
        lines += [f"@prefix {name}: {format_iri_ref(iri)} ." for name, iri in prefixes.items()]
        body: list[str] = []
        for program in self.typed:
            body += [format_fact(f, prefixes, ns) for f in program.facts]
            body += [format_rule(r, prefixes, ns) for r in program.rules]
        return "\n".join([*lines, "", *body]) + "\n"


__all__ = ["Session"]
