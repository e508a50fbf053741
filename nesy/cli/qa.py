"""``nesy ask``, ``qa-train`` and ``qa-eval``: questions in English."""

from __future__ import annotations

import json
import sys

import click

from nesy.cli.common import friendly, open_kb, open_kb_for_query
from nesy.errors import NesyError


@click.command()
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
    with open_kb_for_query(directory) as kb:
        res = kb.ask_text(question, k, topic=topic)
        prefixes = {"": kb.default_namespace, "qa": QA_NS, **kb.prefixes}
        if fmt == "json":
            import json

            click.echo(json.dumps(res.to_dict(kb.shorten, prefixes, kb.default_namespace), indent=2, ensure_ascii=False))
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


@click.command(name="qa-train")
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
    with open_kb(directory) as kb:
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


@click.command(name="qa-eval")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("questions", type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--no-topics", is_flag=True, help="Ignore the topic column: find topics by name.")
@friendly
def qa_eval(directory: str, questions: str, fmt: str, no_topics: bool) -> None:
    """Hits@1 of `nesy ask` on QUESTIONS (TSV, the qa-train format)."""
    with open_kb_for_query(directory) as kb:
        m = kb.evaluate_qa(questions, use_topics=not no_topics)
    if fmt == "json":
        click.echo(json.dumps(m, indent=2))
        return
    click.echo(f"{m['mode']} mode on {m['questions']} questions ({m['no_answer']} without an answer)")
    click.echo("| metric | value |")
    click.echo("|---|---|")
    click.echo(f"| Hits@1 | {m['hits@1']:.4f} |")
    click.echo(f"| answers per second | {m['answers_per_second']:.1f} |")
    click.echo(f"| top answers whose proof checks | {m['proofs_checked']} of {m['answered']} |")
