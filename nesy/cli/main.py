"""The ``nesy`` command line: init, load, stats, export, demo (and more as capabilities land)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from nesy.errors import NesyError

F = TypeVar("F", bound=Callable[..., Any])

GRAPH_CHOICE = click.Choice(["asserted", "extracted", "inferred", "predicted"])


def friendly(fn: F) -> F:
    """Print a NesyError as its message (no traceback) and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NesyError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _open_kb(directory: str, *, must_exist: bool = True, read_only: bool = False) -> Any:
    from nesy.kb import KnowledgeBase

    path = Path(directory)
    if must_exist and not (path / "kb.json").exists():
        raise NesyError(f"{directory} is not a knowledge base (create one with `nesy init {directory}`)")
    return KnowledgeBase(path, read_only=read_only)


@click.group(invoke_without_command=True)
@click.version_option(package_name="nesy")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """nesy — a neuro-symbolic knowledge base with answers and proofs.

    Without a command, starts the interactive shell (`nesy repl`). Run `nesy demo` for a
    tour, or `nesy init DIR` then `nesy load DIR FILE...`.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(repl, directory=None)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@friendly
def repl(directory: str | None) -> None:
    """The interactive shell, on the KB in DIRECTORY (or an in-memory one)."""
    from nesy.repl import run_repl

    run_repl(directory)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--namespace", help="Default namespace for bare names and TSV triples.")
@friendly
def init(directory: str, namespace: str | None) -> None:
    """Create an empty knowledge base in DIRECTORY."""
    from nesy.kb import KnowledgeBase

    path = Path(directory)
    if (path / "kb.json").exists():
        raise NesyError(f"{directory} is already a knowledge base")
    if path.exists() and any(path.iterdir()):
        raise NesyError(f"{directory} exists and is not empty; choose a new directory")
    with KnowledgeBase(path, default_namespace=namespace) as kb:
        click.echo(f"created knowledge base {directory} (default namespace {kb.default_namespace})")


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--graph", "-g", type=GRAPH_CHOICE, default="asserted", show_default=True, help="Provenance graph.")
@click.option("--format", "-f", "fmt", help="Data format (default: from each file's extension).")
@click.option("--namespace", "-n", help="Namespace for TSV names (remembered by the KB).")
@click.option("--score", type=float, default=1.0, show_default=True, help="Confidence of every triple.")
@click.option("--ontology", is_flag=True, help="Reason over the files with an ontology rule pack and materialise.")
@click.option("--profile", type=click.Choice(["rl", "rdfs"]), default=None,
              help="Rule pack for --ontology: OWL 2 RL (default) or RDFS.")
@friendly
def load(directory: str, files: tuple[str, ...], graph: str, fmt: str | None, namespace: str | None, score: float,
         ontology: bool, profile: str | None) -> None:
    """Load data FILES into the knowledge base in DIRECTORY (each file all or nothing).

    With --ontology, the OWL 2 RL (or --profile rdfs) rules are enabled and the closure is
    materialised; inconsistencies are reported.
    """
    with _open_kb(directory, must_exist=False) as kb:
        for f in files:
            if ontology:
                info = kb.load_ontology(f, profile=profile, format=fmt, graph=graph)
                click.echo(str(info["load"]))
                n = info["violations"]
                click.echo(f"{info['profile']} profile: {info['inferred']} inferred triples, "
                           f"{n} {'inconsistency' if n == 1 else 'inconsistencies'} ({info['seconds']:.2f}s)"
                           + (f"; see them with: nesy check {directory}" if n else ""))
                continue
            report = kb.load(f, graph=graph, format=fmt, namespace=namespace, score=score)
            click.echo(str(report))
        click.echo(f"{len(kb)} triples in {directory}")


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--min-confidence", type=float, default=0.5, show_default=True,
              help="Leave out triples below this confidence.")
@click.option("--lines", is_flag=True, help="Each line of a file is its own document (id FILE:LINE).")
@click.option("--print", "print_fmt", type=click.Choice(["tsv", "json"]),
              help="Also write each extracted triple to stdout: document, subject, predicate, object, confidence.")
@click.option("--extractor",
              help="An extractor by name (a plugin's, or zero-shot); default: the trained model, else zero-shot.")
@friendly
def extract(directory: str, files: tuple[str, ...], min_confidence: float, lines: bool, print_fmt: str | None,
            extractor: str | None) -> None:
    """Extract triples from text FILES (.txt, .md, or directories of them) into the extracted graph.

    Every triple keeps its document, sentence, character span, extractor and confidence;
    proofs that use it quote the sentence. A document that fails adds nothing and is
    reported (exit 1); the other documents' triples are kept.
    """
    with _open_kb(directory, must_exist=False) as kb:
        report = kb.extract(list(files), extractor=extractor, min_confidence=min_confidence, lines=lines)
        if print_fmt:
            _print_extracted(kb, report.extracted, print_fmt)
    for name in report.skipped:
        click.echo(f"skipped {name}: empty", err=True)
    for _, message in report.errors:
        click.echo(f"error: {message}", err=True)
    click.echo(str(report), err=bool(print_fmt))
    if report.errors:
        sys.exit(1)


def _print_extracted(kb: Any, rows: list[Any], fmt: str) -> None:
    """One extracted triple a line (TSV or JSON): terms as their labels, else local names."""
    from nesy.text.ingest import extracted_lines

    for line in extracted_lines(kb, rows, fmt):
        click.echo(line)


@cli.command(name="extract-train")
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("more", nargs=-1, type=click.Path(), metavar="[FILES]...")
@click.option("--examples", "examples", multiple=True, type=click.Path(),
              help="Labelled examples: WebNLG XML or JSONL ({\"text\":..., \"triples\": [[s, p, o], ...]}).")
@click.option("--distant", is_flag=True,
              help="Text files (.txt, .md) among FILES are labelled with the facts already in the store.")
@click.option("--epochs", type=int, help="Training epochs (default 6).")
@friendly
def extract_train(directory: str, more: tuple[str, ...], examples: tuple[str, ...], distant: bool,
                  epochs: int | None) -> None:
    """Train the extractor on labelled examples (and, with --distant, on text labelled by
    the store's facts); `nesy extract DIR ...` then uses it. The model goes to DIR/models/extractor.

    `--examples a.xml b.jsonl` takes several files.
    """
    from nesy.text.documents import TEXT_SUFFIXES

    files = [*examples, *more]
    texts = [f for f in files if distant and f.lower().endswith(TEXT_SUFFIXES)]
    labelled = [f for f in files if f not in texts]
    if not files:
        raise NesyError("give labelled examples (--examples FILE...) or, with --distant, text files")
    with _open_kb(directory, must_exist=False) as kb:
        m = kb.train_extractor(labelled, texts=texts, config={"epochs": epochs} if epochs else None)
    held = (f"; held-out precision {m['held_precision']:.3f}, recall {m['held_recall']:.3f}, "
            f"F1 {m['held_f1']:.3f}" if "held_f1" in m else "")
    click.echo(f"extractor trained on {m['examples']} examples ({m['labelled_examples']} labelled, "
               f"{m['distant_examples']} by distant supervision), {m['predicates']} properties, "
               f"in {m['seconds']:.1f} s{held}")
    if m.get("saved"):
        click.echo(f"model: {m['saved']}")


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("mention")
@click.option("-k", "k", type=int, default=5, show_default=True, help="How many candidates.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@friendly
def link(directory: str, mention: str, k: int, fmt: str) -> None:
    """The knowledge-base entities MENTION most likely names, best first (exact label, alias,
    then text similarity); none when it would be a new entity."""
    with _open_kb_for_query(directory) as kb:
        found = kb.link(mention, k)
        rows = [{"term": kb.shorten(c.term), "label": c.label, "score": round(c.score, 4), "method": c.method}
                for c in found]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif not rows:
        click.echo(f"no entity for {mention!r}: extraction would mint a new one")
    for i, r in enumerate(rows if fmt == "table" else [], 1):
        click.echo(f"{i}. {r['term']}  \"{r['label']}\"  score {r['score']:.3f}  ({r['method']})")


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--top", type=int, default=20, show_default=True, help="How many predicates to list.")
@friendly
def stats(directory: str, fmt: str, top: int) -> None:
    """Triples per graph and per predicate."""
    with _open_kb(directory, read_only=True) as kb:
        st = kb.stats()
    if fmt == "json":
        import json

        click.echo(json.dumps(st, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"{directory}: {st['triples']} triples, {st['terms']} terms")
    t.add_column("graph")
    t.add_column("triples", justify="right")
    for g, n in st["graphs"].items():
        t.add_row(g, str(n))
    console.print(t)
    p = Table(title=f"predicates ({len(st['predicates'])})")
    p.add_column("predicate")
    p.add_column("triples", justify="right")
    for name, n in list(st["predicates"].items())[:top]:
        p.add_row(name, str(n))
    console.print(p)


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--graph", "-g", type=GRAPH_CHOICE, help="Export one graph only.")
@click.option("--format", "-f", "fmt", help="Output format (default: from OUT's extension).")
@friendly
def export(directory: str, out: str, graph: str | None, fmt: str | None) -> None:
    """Write the knowledge base (or one graph) to OUT."""
    with _open_kb(directory, read_only=True) as kb:
        n = kb.export(out, format=fmt, graph=graph)
    click.echo(f"wrote {n} statements to {out}")


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--trust", is_flag=True, help="Allow @plugin directives in these files (they run code).")
@click.option("--materialize/--no-materialize", default=True, show_default=True,
              help="Derive and store the inferred triples right away.")
@friendly
def rules(directory: str, files: tuple[str, ...], trust: bool, materialize: bool) -> None:
    """Add rule FILES to the knowledge base (checked first; all or nothing per file)."""
    with _open_kb(directory) as kb:
        for f in files:
            program = kb.add_rules(Path(f), trust=trust)
            click.echo(f"{f}: {len(program.rules)} rules, {len(program.facts)} facts")
        if materialize:
            _report_materialize(kb.materialize())


def _report_materialize(stats: dict[str, Any]) -> None:
    click.echo(f"{stats['facts']} facts derived in {stats['seconds']:.3f} s; "
               f"{stats['stored']} triples in the inferred graph")


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--semiring", help="boolean, maxprod (default), noisyor, topk or topk:K (remembered).")
@friendly
def materialize(directory: str, semiring: str | None) -> None:
    """Derive everything the rules entail and store it in the inferred graph."""
    with _open_kb(directory) as kb:
        if semiring:
            kb.semiring = semiring
        _report_materialize(kb.materialize())


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--reasoner", type=click.Choice(["hermit", "pellet"]), default="hermit", show_default=True)
@click.option("--no-property-values", is_flag=True, help="Classify classes only; skip property assertions.")
@friendly
def classify(directory: str, reasoner: str, no_property_values: bool) -> None:
    """Classify with an OWL 2 DL reasoner (HermiT or Pellet, via owlready2; needs Java).

    What it entails beyond the stored facts goes to the dl-reasoner graph; proofs that use
    it say `dl-reasoner`. An inconsistent knowledge base stores nothing and exits 1.
    """
    with _open_kb(directory) as kb:
        report = kb.classify(reasoner, property_values=not no_property_values)
    if not report["consistent"]:
        raise NesyError(f"{reasoner}: the knowledge base is inconsistent; nothing was stored")
    click.echo(f"{reasoner}: {report['added']} new triples in the dl-reasoner graph "
               f"in {report['seconds']:.1f} s")
    for iri in report["unsatisfiable"]:
        click.echo(f"unsatisfiable class: {iri}")


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--model", help="transe, distmult, complex (default), rotate or rgcn.")
@click.option("--dim", type=int, help="Embedding size (default 200).")
@click.option("--epochs", type=int, help="Most epochs (default 100; early stopping ends sooner).")
@click.option("--lr", type=float, help="Learning rate (default 0.1, Adagrad).")
@click.option("--batch-size", type=int, help="Queries per step (default 1024).")
@click.option("--seed", type=int, help="Random seed (default 0).")
@click.option("--device", help="auto (default: CUDA when present), cpu, cuda, cuda:N.")
@click.option("--valid", type=click.Path(exists=True, dir_okay=False),
              help="Validation triples (TSV or RDF) for early stopping; default: hold out 5%.")
@click.option("--resume", is_flag=True, help="Continue the current model with the data loaded since.")
@click.option("--nproc", type=int, default=1, show_default=True, help="Data-parallel processes (torchrun).")
@click.option("--name", help="Checkpoint name under DIR/models (default: the model name).")
@friendly
def train(directory: str, model: str | None, dim: int | None, epochs: int | None, lr: float | None,
          batch_size: int | None, seed: int | None, device: str | None, valid: str | None, resume: bool,
          nproc: int, name: str | None) -> None:
    """Train the link predictor on the knowledge base's triples.

    The checkpoint (safetensors + JSON) goes to DIR/models/NAME and becomes the model that
    `~p(X, Y)` rule atoms, `nesy predict` and `nesy eval` use.
    """
    options = {k: v for k, v in {"model": model, "dim": dim, "epochs": epochs, "lr": lr,
                                  "batch_size": batch_size, "seed": seed, "device": device}.items()
               if v is not None}
    if nproc < 1:
        raise NesyError("--nproc must be at least 1")
    with _open_kb(directory) as kb:
        r = kb.train(valid=valid, resume=resume, nproc=nproc, name=name, **options)
    mrr = "n/a" if r["best_valid_mrr"] is None else f"{r['best_valid_mrr']:.4f}"
    click.echo(f"{r['model']}: {r['triples']} training triples, {r['entities']} entities, "
               f"{r['relations']} relations; {r['epochs']} epochs in {r['seconds']:.1f} s; "
               f"validation MRR {mrr} ({r['valid']} triples)")
    if resume:
        click.echo(f"{r['new_entities']} new entities started from their neighbours")
    click.echo(f"checkpoint: {r['checkpoint']}")


@cli.command(name="eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--test", "test", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Test triples (TSV in the KB's namespace, or RDF).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--rules", "rules", type=click.Path(exists=True, dir_okay=False),
              help="Rank by the chain rules of this rule file (e.g. from `nesy learn`).")
@click.option("--hybrid", is_flag=True, help="With --rules: add the link predictor's probability.")
@click.option("--hybrid-weight", type=float, default=0.5, show_default=True,
              help="Weight of the link predictor's probability in --hybrid ranking.")
@friendly
def evaluate(directory: str, test: str, fmt: str, rules: str | None, hybrid: bool, hybrid_weight: float) -> None:
    """Rank the test triples (filtered, both directions) with the current model or rules."""
    import json

    if hybrid and not rules:
        raise NesyError("--hybrid combines rules with the link predictor: give --rules FILE too")
    with _open_kb(directory, read_only=False) as kb:
        m = kb.evaluate(test, rules=rules, hybrid=hybrid, hybrid_weight=hybrid_weight)
    if fmt == "json":
        click.echo(json.dumps(m, indent=2))
        return
    click.echo(f"{m['model']} on {m['triples']} test triples ({m['skipped']} skipped: unknown entity "
               f"or relation), {m['n']} ranked queries (head and tail), filtered")
    click.echo("ties: rank = mean of optimistic and pessimistic rank")
    click.echo("| metric | realistic | optimistic |")
    click.echo("|---|---|---|")
    for key in ("mrr", "mr", "hits@1", "hits@3", "hits@10"):
        click.echo(f"| {key.upper() if key in ('mrr', 'mr') else key.capitalize()} | "
                   f"{m[key]:.4f} | {m['optimistic_' + key]:.4f} |")


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The rule file to write.")
@click.option("--relations", help="Comma-separated head relations (default: every relation).")
@click.option("--max-len", type=int, help="Longest rule body (T, 1-6; default 3).")
@click.option("--train", "train_file", type=click.Path(exists=True, dir_okay=False),
              help="Training triples; default: every KB triple, its own edge hidden while scored.")
@click.option("--valid", type=click.Path(exists=True, dir_okay=False), help="Validation triples (early stopping).")
@click.option("--epochs", type=int, help="Most epochs (default 10).")
@click.option("--top", type=int, default=20, show_default=True, help="Rules kept per relation.")
@click.option("--min-confidence", type=float, default=0.0, show_default=True)
@click.option("--no-kge", is_flag=True, help="Do not fuse the link predictor's relation embeddings.")
@click.option("--soft-links", is_flag=True, help="Use the link predictor's top links as soft steps.")
@click.option("--seed", type=int, help="Random seed (default 0).")
@click.option("--device", help="auto (default), cpu, cuda.")
@friendly
def learn(directory: str, out: str, relations: str | None, max_len: int | None, train_file: str | None,
          valid: str | None, epochs: int | None, top: int, min_confidence: float, no_kge: bool,
          soft_links: bool, seed: int | None, device: str | None) -> None:
    """Learn weighted chain rules from the knowledge base (Neural LP) and write them to OUT.

    Load OUT back with `nesy rules DIR OUT`: answers it derives have proofs whose rule
    steps say `learned`.
    """
    options = {k: v for k, v in {"max_len": max_len, "epochs": epochs, "seed": seed, "device": device}.items()
               if v is not None}
    if no_kge:
        options["use_kge"] = False
    names = [r.strip() for r in relations.split(",") if r.strip()] if relations else None
    with _open_kb(directory) as kb:
        r = kb.learn(out=out, relations=names, train=train_file, valid=valid, top=top,
                     min_confidence=min_confidence, soft_links=soft_links, **options)
    mrr = "n/a" if r["best_valid_mrr"] is None else f"{r['best_valid_mrr']:.4f}"
    click.echo(f"{r['count']} rules for {len(r['relations'])} relation(s) in {r['seconds']:.1f} s "
               f"(validation MRR {mrr}; query representation: {', '.join(r['features'])}) -> {out}")
    for text, w, verdict in r["user_rules"]:
        click.echo(f"user rule {verdict} (weight {w:.2f}): {text}")
    for text, why in r["not_chain"]:
        click.echo(f"user rule left out ({why}): {text}")


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--relation", help="Only this relation (e.g. fam:parent); default: every relation.")
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Lowest probability kept.")
@click.option("--k", "k", type=int, default=10, show_default=True, help="Candidates per head entity.")
@friendly
def predict(directory: str, relation: str | None, threshold: float, k: int) -> None:
    """Write the model's most probable missing links into the predicted graph.

    Earlier predictions for the same relations are replaced. Query them with
    `nesy query DIR ... --predicted` (SPARQL) or use `~p(X, Y)` in rules.
    """
    if not 0.0 <= threshold <= 1.0:
        raise NesyError("--threshold must be a probability in [0, 1]")
    with _open_kb(directory) as kb:
        r = kb.predict_links(relation=relation, threshold=threshold, k=k)
    click.echo(f"{r['added']} predicted triples (probability >= {threshold}) for "
               f"{r['relations']} relation(s) in the predicted graph")


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--explain", is_flag=True, help="Print the proof of every answer.")
@click.option("--limit", type=int, help="At most this many answers (rule queries).")
@click.option("--predicted", is_flag=True, help="SPARQL: include the predicted graph.")
@click.option("--allow-service", is_flag=True, help="SPARQL: permit SERVICE (federated) clauses.")
@friendly
def query(directory: str, query: str, fmt: str, explain: bool, limit: int | None, predicted: bool, allow_service: bool) -> None:
    """Answer QUERY: a rule query ("?- fam:grandparent(fam:ann, X).") or SPARQL.

    Every answer has a score; --explain adds its proof (for SPARQL: the proofs of the
    derived triples the row matched).
    """
    from nesy.store.sparql import is_sparql
    from nesy.output import print_answers

    with _open_kb_for_query(directory) as kb:
        if is_sparql(query):
            result = kb.sparql(query, predicted=predicted, allow_service=allow_service)
            print_answers(kb, result, fmt, explain)
        else:
            print_answers(kb, kb.ask(query, limit=limit), fmt, explain)


def _open_kb_for_query(directory: str) -> Any:
    """Open for writing when possible (SPARQL may refresh the inferred graph), else read-only."""
    from nesy.errors import StoreError

    try:
        return _open_kb(directory)
    except StoreError as exc:
        if "another process" not in str(exc):
            raise
        return _open_kb(directory, read_only=True)


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("atom")
@click.option("--format", "fmt", type=click.Choice(["tree", "json", "mermaid"]), default="tree", show_default=True)
@friendly
def explain(directory: str, atom: str, fmt: str) -> None:
    """Show the proof of ATOM, or why it does not hold."""
    from nesy.errors import QueryError

    with _open_kb(directory, read_only=True) as kb:
        try:
            proof = kb.why(atom)
        except QueryError:
            click.echo(str(kb.why_not(atom)))
            sys.exit(2)
        if fmt == "json":
            click.echo(proof.to_json(kb.prefixes))
        elif fmt == "mermaid":
            click.echo(proof.to_mermaid(kb.prefixes))
        else:
            click.echo(proof.to_text(kb.prefixes))


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["tree", "json"]), default="tree", show_default=True)
@friendly
def check(directory: str, fmt: str) -> None:
    """List the violated constraints (``false :- ...``, OWL inconsistencies) with proofs.

    Exits 1 when there is at least one violation, 0 when the knowledge base is consistent.
    """
    with _open_kb(directory, read_only=True) as kb:
        found = kb.violations()
        if fmt == "json":
            click.echo(json.dumps([{"rule": v.rule.label, "score": v.score,
                                    "bindings": {k: str(t) for k, t in v.bindings.items()},
                                    "proof": json.loads(v.proof.to_json(kb.prefixes))} for v in found], indent=2))
        else:
            for i, v in enumerate(found, 1):
                click.echo(f"{i}. {v.rule.label or 'constraint'} (score {v.score:.3g})")
                click.echo(v.proof.to_text(kb.prefixes))
            click.echo("consistent: no constraint is violated" if not found else
                       f"{len(found)} {'violation' if len(found) == 1 else 'violations'}")
        if found:
            sys.exit(1)


@cli.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("question")
@click.option("-k", "k", type=int, default=5, show_default=True, help="How many answers.")
@click.option("--topic", help="The topic entity (default: found by name in the question).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@friendly
def ask(directory: str, question: str, k: int, topic: str | None, fmt: str) -> None:
    """Answer a QUESTION in English from the graph, each answer with its proof.

    The topic entity is found by name; relation paths from it are scored by the QA model
    (`nesy qa-train`) or, before any training, zero-shot by text similarity. Exits 2 when
    there is no answer, saying why.
    """
    from nesy.qa.answerer import QA_NS

    if k < 1:
        raise NesyError("-k must be at least 1")
    with _open_kb_for_query(directory) as kb:
        res = kb.ask_text(question, k, topic=topic)
        prefixes = {"": kb.default_namespace, "qa": QA_NS, **kb.prefixes}
        if fmt == "json":
            import json

            click.echo(json.dumps(res.to_dict(kb.shorten, prefixes), indent=2, ensure_ascii=False))
        else:
            where = f"topic {kb.shorten(res.topic)}" if res.topic is not None else "no topic"
            click.echo(f"{res.mode} mode; {where}" + (f" (\"{res.mention}\")" if res.mention else ""))
            if not res:
                click.echo(f"no answer: {res.reason}")
            for i, a in enumerate(res, 1):
                click.echo(f"{i}. {kb.shorten(a.term)}  score={a.score:.4g}  path {a.functional}")
                click.echo("   " + a.proof.to_text(prefixes).replace("\n", "\n   "))
    if not res:
        sys.exit(2)


@cli.command(name="qa-train")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("questions", type=click.Path(exists=True, dir_okay=False))
@click.option("--valid", type=click.Path(exists=True, dir_okay=False),
              help="Held-out questions for early stopping (default: 10% of QUESTIONS when 50 or more).")
@click.option("--hops", type=int, help="Longest relation path (1-4; default 3).")
@click.option("--epochs", type=int, help="Most epochs (default 40).")
@click.option("--lr", type=float, help="Learning rate (default 0.003).")
@click.option("--seed", type=int, help="Random seed (default 0).")
@click.option("--rules-out", type=click.Path(dir_okay=False),
              help="Also write the frequent question patterns as a learned rule file.")
@friendly
def qa_train(directory: str, questions: str, valid: str | None, hops: int | None, epochs: int | None,
             lr: float | None, seed: int | None, rules_out: str | None) -> None:
    """Train the question-answering model on QUESTIONS (TSV).

    Each line: question<TAB>answer1|answer2|...[<TAB>topic entity]. The model goes to
    DIR/models/qa and answers `nesy ask` from then on.
    """
    options = {k: v for k, v in {"hops": hops, "epochs": epochs, "lr": lr, "seed": seed}.items() if v is not None}
    with _open_kb(directory) as kb:
        r = kb.train_qa(questions, valid=valid, rules_out=rules_out, **options)
    hits = "n/a" if r["valid_hits@1"] is None else f"{r['valid_hits@1']:.4f}"
    click.echo(f"{r['used']} of {r['questions']} questions used ({r['valid']} held out), {r['relations']} "
               f"relations; {r['epochs']} epochs in {r['seconds']:.1f} s; validation Hits@1 {hits}")
    for line, why in list(r["skipped"].items())[:10]:
        click.echo(f"skipped {questions}:{line}: {why}")
    if len(r["skipped"]) > 10:
        click.echo(f"... {len(r['skipped']) - 10} more skipped")
    click.echo(f"model: {r['model']}")
    if rules_out:
        click.echo(f"{r['rules']} question patterns written to {rules_out} (load them with `nesy rules`)")


@cli.command(name="qa-eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("questions", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--no-topics", is_flag=True, help="Ignore the topic column: find topics by name.")
@friendly
def qa_eval(directory: str, questions: str, fmt: str, no_topics: bool) -> None:
    """Hits@1 of `nesy ask` on QUESTIONS (TSV, the qa-train format)."""
    with _open_kb_for_query(directory) as kb:
        m = kb.evaluate_qa(questions, use_topics=not no_topics)
    if fmt == "json":
        import json

        click.echo(json.dumps(m, indent=2))
        return
    click.echo(f"{m['mode']} mode on {m['questions']} questions ({m['no_answer']} without an answer)")
    click.echo("| metric | value |")
    click.echo("|---|---|")
    click.echo(f"| Hits@1 | {m['hits@1']:.4f} |")
    click.echo(f"| answers per second | {m['answers_per_second']:.1f} |")
    click.echo(f"| top answers whose proof checks | {m['proofs_checked']} of {m['answered']} |")


@cli.command()
@friendly
def demo() -> None:
    """A short tour on the bundled family example."""
    from nesy.cli.demo import run_demo

    run_demo()


def main() -> None:
    """Entry point of the ``nesy`` console script."""
    cli(prog_name="nesy")


if __name__ == "__main__":
    main()
