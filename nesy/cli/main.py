"""The ``nesy`` click group: it gathers the commands of every area module under one name."""

from __future__ import annotations

import click

from nesy.cli import data, learn, linkpred, ontology, qa, rules, store, text, update
from nesy.cli import remove as remove_cmd
from nesy.cli.common import DEBUG_KEY, friendly, guarded
from nesy.cli.demo import demo
from nesy.cli.plot import plot
from nesy.cli.plugins import plugins
from nesy.cli.serve import serve


class NesyGroup(click.Group):
    """The ``nesy`` group: no exception leaves a command as a traceback (see ``guarded``)."""

    def invoke(self, ctx: click.Context) -> object:
        return guarded(lambda: super(NesyGroup, self).invoke(ctx))


def _remember_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    # Eager, so that errors raised while the other options are converted see it too.
    ctx.meta[DEBUG_KEY] = value
    return value


@click.group(cls=NesyGroup, invoke_without_command=True)
@click.version_option(package_name="nesy")
@click.option("--debug", is_flag=True, envvar="NESY_DEBUG", is_eager=True, expose_value=False,
              callback=_remember_debug, help="Show the traceback of an error (also NESY_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """nesy — a neuro-symbolic knowledge base with answers and proofs.

    Without a command, starts the interactive shell (`nesy repl`). Run `nesy demo` for a
    tour, or `nesy init DIR` then `nesy load DIR FILE...`. An error prints one line
    `error: ...`; `--debug` shows its traceback instead.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(repl, directory=None)


@cli.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@friendly
def repl(directory: str | None) -> None:
    """The interactive shell, on the KB in DIRECTORY (or an in-memory one)."""
    import os

    from nesy.cli.common import debug_enabled
    from nesy.repl import run_repl

    # The shell reads NESY_DEBUG to show a bug's traceback; pass `nesy --debug repl` on to it.
    saved = os.environ.get("NESY_DEBUG")
    if debug_enabled():
        os.environ["NESY_DEBUG"] = "1"
    try:
        run_repl(directory)
    finally:
        if saved is None:
            os.environ.pop("NESY_DEBUG", None)
        else:
            os.environ["NESY_DEBUG"] = saved


#: Every command, by area (``nesy --help`` lists them sorted by name).
COMMANDS: tuple[click.Command, ...] = (
    data.init, data.load, data.stats, data.export, data.check, store.check_store,
    update.update, remove_cmd.remove,
    rules.rules, rules.materialize, rules.query, rules.explain,
    linkpred.train, linkpred.evaluate, linkpred.predict, plot,
    learn.learn,
    text.extract, text.extract_train, text.link,
    qa.ask, qa.qa_train, qa.qa_eval,
    ontology.classify,
    demo,
    plugins,
    serve,
)
for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Entry point of the ``nesy`` console script."""
    cli(prog_name="nesy")


if __name__ == "__main__":
    main()
