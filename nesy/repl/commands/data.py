"""The data commands: ``:load``, ``:extract``, ``:rules``, ``:unload``, ``:facts`` and ``:stats``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from nesy.errors import NesyError
from nesy.repl.commands import CommandError, command, plural

if TYPE_CHECKING:
    from nesy.repl.session import Session


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


@command("unload", "[NAME|FILE]", "remove a rule set (re-deriving), or list the rule sets")
def _unload(s: Session, args: str) -> None:
    names = shlex.split(args)
    if not names:
        sets = s.kb.rule_sets()
        if not sets:
            s.say("no rule sets yet (type a rule, or :load FILE.rules)")
        for info in sets:
            rules = "?" if info["rules"] is None else info["rules"]
            s.say(f"{info['name']}: {plural(rules, 'rule') if isinstance(rules, int) else '? rules'}, "
                  f"{info['kind']}, {info['file'] or 'typed'}" + (" (DAMAGED)" if info["damaged"] else ""))
        if sets:
            s.say("remove one with :unload NAME", style="dim")
        return
    for name in names:
        gone = s.kb.remove_rules(name, materialize=s.kb.path is not None)
        s.say(f"removed rule set {gone['name']}: {plural(gone['rules'] or 0, 'rule')}, "
              f"{plural(gone['facts'] or 0, 'fact')}", style="green")
    s.typed = [p for p in s.typed if any(p is q for q, _ in s.kb.rule_programs())]


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
