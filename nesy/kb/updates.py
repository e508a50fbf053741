"""The KnowledgeBase's SPARQL Update and users' named graphs (mixed into :class:`KnowledgeBase`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nesy.namespaces import DEFAULT_PREFIXES

if TYPE_CHECKING:
    from nesy.kbview import KBView
    from nesy.store.update import UpdateReport

    _Base = KBView
else:
    _Base = object


class UpdateMethods(_Base):
    """``kb.update``: SPARQL 1.1 Update through the KB's own write path, and ``kb.named_graphs``."""

    def update(self, text: str, *, base: str | None = None, allow_load: bool = False, allow_service: bool = False,
               timeout: float | None = None) -> UpdateReport:
        """Run a SPARQL 1.1 Update: all of it, or nothing.

        ``INSERT DATA``, ``DELETE DATA``, ``DELETE/INSERT ... WHERE``, ``DELETE WHERE``,
        ``CLEAR``, ``DROP``, ``CREATE``, ``ADD``, ``MOVE``, ``COPY`` and ``LOAD``, joined by
        ``;``. The update's default graph is the asserted data; ``GRAPH <g>`` writes the
        user's named graph ``g`` (created on first write). New triples get a source record
        of kind ``sparql-update`` with the time and the update's text. The KB's prefixes need
        no declaration. When rules are loaded, derived facts are refreshed on the next question.

        Args:
            text: The update request.
            base: Base IRI for relative IRIs.
            allow_load: Permit ``LOAD <file:...>`` of local documents (remote IRIs are refused).
            allow_service: Permit ``SERVICE`` in ``WHERE`` clauses.
            timeout: Seconds it may take; default ``kb.limits.timeout``. Oxigraph's own run of
                the update cannot be interrupted: the deadline is checked when it returns, and
                an update past it is undone (see ``docs/datasets.md``).

        Raises:
            QueryError: a syntax error (line and column), a refused ``LOAD``/``SERVICE``, a
                write to nesy's own graphs (``inferred``...), a failure while it ran.
            StoreError: the KB is read-only (or remote).
            QueryTimeout: the timeout passed.
        """
        from nesy.store.update import run_update

        budget = self.limits.timeout if timeout is None else timeout
        prefixes = {**DEFAULT_PREFIXES, **self.prefixes}
        namespace = self.config.get("tsv_namespace") or self.default_namespace
        # One commit for the data and the "derived facts are stale" setting.
        with self.store.transaction(), self.changing():
            return run_update(self.store, text, base=base, prefixes=prefixes, allow_load=allow_load,
                              allow_service=allow_service, timeout=budget, namespace=namespace)

    def named_graphs(self) -> list[str]:
        """The IRIs of the users' named graphs that exist (what ``GRAPH ?g`` ranges over)."""
        names = self.store.graphs
        return [names.name(c) for c in names.user_codes()]


__all__ = ["UpdateMethods"]
