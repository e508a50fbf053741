"""The ``nesy`` click group: it gathers the commands of every area module under one name."""

from __future__ import annotations

import click

from nesy.cli import data, learn, linkpred, ontology, qa, rules, text
from nesy.cli.common import friendly
from nesy.cli.demo import demo
from nesy.cli.plugins import plugins


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


#: Every command, by area (``nesy --help`` lists them sorted by name).
COMMANDS: tuple[click.Command, ...] = (
    data.init, data.load, data.stats, data.export, data.check,
    rules.rules, rules.materialize, rules.query, rules.explain,
    linkpred.train, linkpred.evaluate, linkpred.predict,
    learn.learn,
    text.extract, text.extract_train, text.link,
    qa.ask, qa.qa_train, qa.qa_eval,
    ontology.classify,
    demo,
    plugins,
)
for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Entry point of the ``nesy`` console script."""
    cli(prog_name="nesy")


if __name__ == "__main__":
    main()
