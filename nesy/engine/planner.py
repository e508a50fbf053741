"""Evaluation order of rule bodies: which literal runs when, and which variables to keep."""

from __future__ import annotations

from nesy.engine.compile import CAggregate, CAtom, CLit, binds, lit_vars

Plan = list[tuple[int, set[str] | None]]


def make_plan(body: tuple[CLit, ...], first: int | None, bound0: set[str], final: set[str] | None) -> Plan:
    """Order body literals for evaluation and note which variables each step must keep.

    Filters run as soon as their variables are bound; then atoms with the most bound
    arguments (magic atoms first among equals); cross products and aggregates last.

    Args:
        body: The literals.
        first: Index of the literal to start with (the semi-naive delta atom), if any.
        bound0: Variables bound before the body starts (an aggregate's seed).
        final: Variables needed after the body (None: all).
    """
    bound = set(bound0)
    order: list[int] = []
    todo = list(range(len(body)))
    if first is not None:
        order.append(first)
        todo.remove(first)
        bound |= binds(body[first], bound) or set()
    while todo:
        best, best_rank = None, None
        for i in todo:
            lit = body[i]
            got = binds(lit, bound)
            if got is None:
                continue
            if isinstance(lit, CAggregate):
                rank = (4, 0, 0, 0, i)
            elif not got - bound:
                rank = (0, 0, 0, 0, i)  # a pure filter
            elif isinstance(lit, CAtom):
                # Most bound arguments first; on ties a magic atom (small, drives the body),
                # and link-predictor calls late (they are slow). Unbound atoms cross-join: last.
                nb = sum(1 for a in lit.args if isinstance(a, int) or a in bound)
                magic = lit.key[0] == "mg"
                rank = (1 if (nb or not bound) else 3, -nb, -magic, lit.neural, i)
            else:
                rank = (2, 0, 0, 0, i)
            if best_rank is None or rank < best_rank:
                best, best_rank = i, rank
        if best is None:  # unsafe leftovers were rejected at compile time
            best = todo[0]
        order.append(best)
        todo.remove(best)
        bound |= binds(body[best], bound) or set()
    plan: Plan = []
    need = None if final is None else set(final)
    for i in reversed(order):
        plan.append((i, None if need is None else set(need)))
        if need is not None:
            need |= lit_vars(body[i])
            if isinstance(body[i], CAggregate):
                need |= set(body[i].group_vars)
    plan.reverse()
    return plan
