"""``nesy rules``, ``materialize``, ``query`` and ``explain``: rules, answers and proofs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from nesy.cli.common import friendly, open_kb, open_kb_for_query
from nesy.cli.limits import QUERY_TIMEOUT, apply_limits, limit_options


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--trust", is_flag=True, help="Allow @plugin directives in these files (they load installed plugins).")
@click.option("--materialize/--no-materialize", default=True, show_default=True,
              help="Derive and store the inferred triples right away (a failure keeps nothing).")
@click.option("--allow-import-dir", "allow", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Also let @import read files under DIR (default: the rule file's folder and DIR/rules).")
@click.option("--name", help="Name of the rule set (one FILE; default: the file's stem).")
@click.option("--list", "list_", is_flag=True, help="List the rule sets: name, kind, rules, original file, changed?")
@click.option("--remove", multiple=True, metavar="NAME|FILE", help="Remove a rule set (by name or original file).")
@click.option("--reload", multiple=True, metavar="NAME|FILE", help="Copy a rule set again from its original file.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output of --list.")
@limit_options()
@friendly
def rules(directory: str, files: tuple[str, ...], trust: bool, materialize: bool, allow: tuple[str, ...],
          name: str | None, list_: bool, remove: tuple[str, ...], reload: tuple[str, ...], fmt: str) -> None:
    """Add rule FILES to the knowledge base, or --list, --remove, --reload its rule sets.

    The KB keeps its own copy of each file and of every file it imports (under DIR/rules)
    and reads only those copies: edit the original, then --reload. Adding, removing and
    reloading are all or nothing: when deriving the inferred triples fails (a limit, a
    timeout, memory, stratification), nothing is kept and the KB is as before.
    """
    from nesy.errors import NesyError

    actions = [bool(files), list_, bool(remove), bool(reload)]
    if sum(actions) != 1:
        raise click.UsageError("give rule FILES, or one of --list, --remove NAME, --reload NAME")
    if name is not None and len(files) != 1:
        raise click.UsageError("--name names one rule FILE")
    if list_:
        with open_kb(directory, read_only=True) as kb:
            apply_limits(kb)
            _print_rule_sets(kb.rule_sets(), fmt)
        return
    with open_kb(directory) as kb:
        apply_limits(kb)
        try:
            with kb.rules_transaction(materialize=materialize) as stats:
                done = _change_rules(kb, files, trust, allow, name, remove, reload)
        except NesyError as exc:
            exc.message += "; nothing was changed" if (remove or reload) else "; the rules were not added"
            exc.args = (exc.render(),)
            raise
        for line in done:
            click.echo(line)
        if materialize:
            _report_materialize(stats)


def _change_rules(kb: Any, files: tuple[str, ...], trust: bool, allow: tuple[str, ...], name: str | None,
                  remove: tuple[str, ...], reload: tuple[str, ...]) -> list[str]:
    """The changes of one ``nesy rules`` call, inside its transaction: what to report once it commits."""
    done = []
    for f in files:
        program = kb.add_rules(Path(f), trust=trust, name=name, allow_paths=allow)
        done.append(f"{f}: {len(program.rules)} rules, {len(program.facts)} facts "
                    f"(rule set {kb.rule_sets()[-1]['name']})")
        asked = program.pragma("semiring")
        if asked and asked != kb.semiring:
            # The weights were fitted for that semiring: say so, but leave the KB's choice
            # (it also scores the user's other rules) to the user.
            done.append(f"note: {f} is weighted for the {asked} semiring and this knowledge base uses "
                        f"{kb.semiring}; `nesy materialize DIR --semiring {asked}` answers as `nesy eval` ranks")
    for key in remove:
        gone = kb.remove_rules(key)
        done.append(f"removed rule set {gone['name']} ({gone['rules']} rules, {gone['facts']} facts)")
    for key in reload:
        program = kb.reload_rules(key, allow_paths=allow)
        done.append(f"reloaded {key}: {len(program.rules)} rules, {len(program.facts)} facts")
    return done


def _print_rule_sets(sets: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(sets, indent=2))
        return
    if not sets:
        click.echo("no rule sets")
        return
    rows = [("name", "kind", "rules", "facts", "original", "file")]
    for s in sets:
        state = f"DAMAGED: {s['damaged']}" if s["damaged"] else s["original"]
        rows.append((s["name"], s["kind"], str(s["rules"] if s["rules"] is not None else "?"),
                     str(s["facts"] if s["facts"] is not None else "?"), state, s["file"] or "(typed)"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[5])


def _report_materialize(stats: dict[str, Any]) -> None:
    engine = f" on {stats['engine']}" if stats.get("engine") else ""
    click.echo(f"{stats['facts']} facts derived in {stats['seconds']:.3f} s{engine}; "
               f"{stats['stored']} triples in the inferred graph")


def _progress(step: dict[str, Any]) -> None:
    click.echo(f"  stratum {step['stratum'] + 1}/{step['strata']}, round {step['round']}: "
               f"{step['new']:,} new facts ({step['seconds']:.1f} s)", err=True)


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--semiring", help="boolean, maxprod (default), noisyor, topk or topk:K (remembered).")
@click.option("--engine", default="memory", show_default=True,
              help="Where the rules run: memory (this process), duckdb (embedded, spills to disk) or "
                   "spark (see docs/scale.md).")
@click.option("--master", help="Spark master URL for --engine spark (default local[2]).")
@click.option("--memory-limit", help="Memory the duckdb / spark engine may use, e.g. 4GB.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Report each round of an out-of-core engine on stderr.")
@limit_options()
@friendly
def materialize(directory: str, semiring: str | None, engine: str, master: str | None, memory_limit: str | None,
                progress: bool) -> None:
    """Derive everything the rules entail and store it in the inferred graph."""
    with open_kb(directory) as kb:
        apply_limits(kb)
        if semiring:
            kb.semiring = semiring
        if engine.strip().lower() == "memory":
            _report_materialize(kb.materialize())
        else:
            _report_materialize(kb.materialize(engine=engine, master=master, memory_limit=memory_limit,
                                               progress=_progress if progress else None))


#: ``--format`` of ``nesy query``: nesy's own (table, json with proofs) and the W3C ones.
QUERY_FORMATS = ["table", "json", "sparql-json", "sparql-xml", "csv", "tsv", "turtle", "ntriples"]


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(QUERY_FORMATS), default="table", show_default=True,
              help="table or json (nesy's own, with --explain proofs); sparql-json, sparql-xml, csv, tsv "
                   "(the W3C SPARQL results formats, with scores; see docs/sparql.md); turtle or ntriples "
                   "(CONSTRUCT and DESCRIBE).")
@click.option("--scores/--no-scores", default=True, show_default=True,
              help="W3C formats: add each row's score (csv/tsv: a score column; sparql-json: the member "
                   "nesy.scores; sparql-xml: the attribute nesy:score).")
@click.option("--explain", is_flag=True, help="Print the proof of every answer (table and json).")
@click.option("--limit", type=int, help="At most this many answers (rule queries).")
@click.option("--base", metavar="IRI", help="SPARQL: base IRI for the query's relative IRIs.")
@click.option("--predicted", is_flag=True, help="SPARQL: include the predicted graph.")
@click.option("--allow-service", is_flag=True, help="SPARQL: permit SERVICE (federated) clauses.")
@limit_options(QUERY_TIMEOUT)
@friendly
def query(directory: str, query: str, fmt: str, scores: bool, explain: bool, limit: int | None, base: str | None,
          predicted: bool, allow_service: bool) -> None:
    """Answer QUERY: a rule query ("?- fam:grandparent(fam:ann, X).") or SPARQL.

    Every answer has a score; --explain adds its proof (for SPARQL: the proofs of the
    derived triples the row matched). QUERY "-" reads the query from standard input.
    """
    from nesy.output import print_answers
    from nesy.store.sparql_text import is_sparql

    if query == "-":
        query = sys.stdin.read()
    with open_kb_for_query(directory) as kb:
        apply_limits(kb)
        sparql = is_sparql(query)
        if base is not None and not sparql:
            raise click.UsageError("--base is for SPARQL queries")
        if explain and fmt not in ("table", "json"):
            raise click.UsageError("--explain prints proofs with --format table or json")
        answers = kb.sparql(query, base=base, predicted=predicted, allow_service=allow_service) if sparql \
            else kb.ask(query, limit=limit)
        if fmt in ("table", "json"):
            print_answers(kb, answers, fmt, explain)
            return
        from nesy.store.results import write_results

        click.echo(write_results(answers, fmt, scores=scores, prefixes=kb.prefixes), nl=False)


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("atom")
@click.option("--format", "fmt", type=click.Choice(["tree", "json", "mermaid"]), default="tree", show_default=True)
@limit_options(QUERY_TIMEOUT)
@friendly
def explain(directory: str, atom: str, fmt: str) -> None:
    """Show the proof of ATOM, or why it does not hold."""
    from nesy.errors import QueryError

    with open_kb(directory, read_only=True) as kb:
        apply_limits(kb)
        try:
            proof = kb.why(atom)
        except QueryError:
            click.echo(str(kb.why_not(atom)))
            sys.exit(2)
        if fmt == "json":
            click.echo(proof.to_json(kb.prefixes, default_ns=kb.default_namespace))
        elif fmt == "mermaid":
            click.echo(proof.to_mermaid(kb.prefixes, default_ns=kb.default_namespace))
        else:
            click.echo(proof.to_text(kb.prefixes, default_ns=kb.default_namespace))
