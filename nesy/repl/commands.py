"""The shell's state and what each input does: a :class:`Session` runs one statement at a time.

The session holds the knowledge base, the last answers (for ``:why N``), the output
format and the facts and rules typed so far (for ``:save``). It writes everything to a
rich :class:`~rich.console.Console`, so it runs and is tested without a terminal::

    console = Console(file=io.StringIO(), width=120)
    s = Session(KnowledgeBase(), console)
    s.handle(":load examples/family/family.ttl examples/family/family.rules")
    s.handle("?- fam:grandparent(fam:ann, X).")
    s.handle(":why 1")
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from nesy.errors import NesyError
from nesy.repl import render
from nesy.repl.statements import COMMAND, QUIT_WORDS, is_sparql

#: ``:format`` values that shape answers, and those that shape ``:why`` proofs.
ANSWER_FORMATS = ("table", "json", "csv")
PROOF_FORMATS = ("tree", "mermaid")


class CommandError(NesyError):
    """A command used the wrong way (bad argument, nothing to explain...)."""


@dataclass(frozen=True)
class Command:
    """One ``:command``: its name, argument synopsis, one-line help and handler."""

    name: str
    usage: str
    help: str
    run: Callable[[Session, str], None]


COMMANDS: dict[str, Command] = {}


def command(name: str, usage: str, help: str) -> Callable[[Callable[[Session, str], None]], Callable[[Session, str], None]]:
    """Register the decorated ``handler(session, args)`` as ``:name``."""

    def deco(fn: Callable[[Session, str], None]) -> Callable[[Session, str], None]:
        COMMANDS[name] = Command(name, usage, help, fn)
        return fn

    return deco


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 rule``, ``2 rules``, ``2 prefixes``; ``many`` for irregular plurals."""
    if n == 1:
        return f"1 {word}"
    return f"{n} {many or word + ('es' if word.endswith('x') else 's')}"


def suggest(name: str) -> str | None:
    """The known command nearest to ``name`` (difflib), or None when none is close."""
    close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.5)
    return close[0] if close else None


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
        """Run a SPARQL query and show its rows (or yes/no, or triples)."""
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
        prefixes = {"qa": "urn:nesy:qa#", **self.kb.prefixes}
        if self.proof_format == "mermaid":
            self.console.out(proof.to_mermaid(prefixes), highlight=False)
        else:
            self.console.print(render.proof_tree(proof, prefixes))

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


# -- commands -----------------------------------------------------------------------------
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


@command("load", "FILE...", "load data files (.ttl, .nt, .tsv...), ontologies (.owl) and rule files (.rules)")
def _load(s: Session, args: str) -> None:
    files = shlex.split(args)
    if not files:
        raise CommandError(":load needs at least one file")
    for i, name in enumerate(files):
        path = Path(name).expanduser()
        try:
            if path.suffix == ".rules":
                program = s.kb.add_rules(path)
                s.say(f"{name}: {plural(len(program.rules), 'rule')}, {plural(len(program.facts), 'fact')} added",
                      style="green")
            elif path.suffix == ".owl":
                info = s.kb.load_ontology(path)
                s.say(f"{info['load']}; OWL 2 {info['profile'].upper()} reasoning: "
                      f"{plural(info['inferred'], 'inferred triple')}, "
                      f"{plural(info['violations'], 'inconsistency', 'inconsistencies')}", style="green")
            else:
                # progress=False: the loader's progress bar (tqdm.wrapattr) breaks on a terminal.
                s.say(str(s.kb.load(path, progress=False)), style="green")
        except NesyError as exc:
            s.error(str(exc))
            if files[i + 1:]:
                s.say(f"stopped; not loaded: {' '.join(files[i + 1:])}", style="yellow")
            return


@command("extract", "FILE... [--lines] [min=C] [extractor=NAME]",
         "extract triples from text files (.txt, .md) into the extracted graph")
def _extract(s: Session, args: str) -> None:
    words = shlex.split(args)
    lines = "--lines" in words
    options = {k: v for k, _, v in (w.partition("=") for w in words if "=" in w)}
    files = [w for w in words if w != "--lines" and "=" not in w]
    unknown = set(options) - {"min", "extractor"}
    if not files or unknown:
        raise CommandError(":extract needs text files, e.g. :extract notes.txt min=0.6 (options: --lines, "
                           "min=C, extractor=NAME)")
    try:
        min_conf = float(options.get("min", 0.5))
    except ValueError:
        raise CommandError(f":extract min= takes a number, not {options['min']!r}") from None
    report = s.kb.extract([Path(f).expanduser() for f in files], extractor=options.get("extractor"),
                          min_confidence=min_conf, lines=lines, progress=False)
    for name in report.skipped:
        s.say(f"skipped {name}: empty", style="yellow")
    for _, message in report.errors:
        s.error(message)
    s.say(str(report), style="yellow" if report.errors else "green")
    if report.triples:
        s.say("their proofs quote the sentence: ask a query, then :why N", style="dim")


@command("rules", "", "list the rules of the knowledge base")
def _rules(s: Session, args: str) -> None:
    from nesy.rules.printer import format_rule

    rules = s.kb.rules
    if not rules:
        s.say("no rules yet (type one, or :load FILE.rules)")
        return
    for i, rule in enumerate(rules, 1):
        where = f"   # {rule.loc.file}:{rule.loc.line}" if rule.loc.file else ""
        s.console.print(Text(f"{i:3d}. ", style="dim") + Text(format_rule(rule, s.kb.prefixes, s.kb.default_namespace))
                        + Text(where, style="dim"), soft_wrap=True)


@command("facts", "PRED", "the facts of a predicate or class (stored and derived)")
def _facts(s: Session, args: str) -> None:
    pred = args.strip().rstrip(".")
    if not pred or " " in pred:
        raise CommandError(":facts needs one predicate or class name, e.g. :facts fam:parent")
    variables = ["X", "Y", "Z", "W"]
    for arity in (2, 1, 3, 4):
        answers = s.kb.ask(f"?- {pred}({', '.join(variables[:arity])}).")
        if answers:
            s.show(answers)
            return
    s.say(f"no facts for {pred}", style="yellow")


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


@command("train", "[OPTION=VALUE...]", "train the link predictor (model=rotate dim=200 epochs=100 ...)")
def _train(s: Session, args: str) -> None:
    options: dict[str, Any] = {}
    for word in shlex.split(args):
        key, eq, value = word.partition("=")
        if not eq or not value:
            raise CommandError(f":train takes OPTION=VALUE words (model=rotate dim=100 epochs=50), not {word!r}")
        options[key.replace("-", "_")] = _option_value(value)
    r = s.kb.train(progress=False, **options)
    mrr = "n/a" if r["best_valid_mrr"] is None else f"{r['best_valid_mrr']:.4f}"
    s.say(f"{r['model']}: {r['epochs']} epochs in {r['seconds']:.1f} s, validation MRR {mrr}"
          + (f"; checkpoint {r['checkpoint']}" if r["checkpoint"] else ""), style="green")


def _option_value(text: str) -> Any:
    """``100`` -> int, ``0.1`` -> float, ``true`` -> True, anything else stays text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


@command("learn", "OUT.rules [OPTION=VALUE...]", "learn weighted chain rules (Neural LP) into a rule file")
def _learn(s: Session, args: str) -> None:
    words = shlex.split(args)
    if not words or "=" in words[0]:
        raise CommandError(":learn needs the rule file to write, e.g. :learn learned.rules max_len=2 epochs=5")
    options: dict[str, Any] = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if not eq or not value:
            raise CommandError(f":learn takes OPTION=VALUE words after the file, not {word!r}")
        options[key.replace("-", "_")] = _option_value(value)
    if isinstance(options.get("relations"), str):
        options["relations"] = options["relations"].split(",")
    r = s.kb.learn(out=words[0], progress=False, **options)
    s.say(f"{r['count']} rules in {r['seconds']:.1f} s -> {words[0]} (:load it to use them)", style="green")
    for line in r["rules"].splitlines():
        if line and not line.startswith(("#", "@")):
            s.say(line)


@command("predict", "HEAD RELATION [K]", "the K (default 10) most probable tails by the link predictor")
def _predict(s: Session, args: str) -> None:
    words = shlex.split(args)
    if len(words) not in (2, 3) or (len(words) == 3 and not words[2].isdigit()):
        raise CommandError(":predict needs HEAD RELATION [K], e.g. :predict fam:ann fam:parent 5")
    k = int(words[2]) if len(words) == 3 else 10
    table = Table("#", "tail", "probability", header_style="bold")
    for i, (term, p) in enumerate(s.kb.predict(words[0], words[1], k), 1):
        table.add_row(str(i), s.kb.shorten(term), f"{p:.4f}")
    s.console.print(table)


@command("stats", "", "triples per graph and per predicate, rules, terms")
def _stats(s: Session, args: str) -> None:
    st = s.kb.stats()
    table = Table("graph", "triples", header_style="bold")
    table.columns[1].justify = "right"
    for name, n in st["graphs"].items():
        table.add_row(name, str(n))
    table.add_row("total", str(st["triples"]), style="bold")
    s.console.print(table)
    preds = Table("predicate", "triples", header_style="bold")
    preds.columns[1].justify = "right"
    items = list(st["predicates"].items())
    for iri, n in items[:20]:
        preds.add_row(_short_iri(s.kb, iri), str(n))
    if items:
        s.console.print(preds)
    if len(items) > 20:
        s.say(f"… {len(items) - 20} more predicates", style="yellow")
    s.say(f"{len(s.kb.rules)} rules, {st.get('terms', len(s.kb.vocab))} terms")


def _short_iri(kb: Any, iri: str) -> str:
    from rdflib import URIRef

    return kb.shorten(URIRef(iri))


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
