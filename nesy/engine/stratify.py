"""Stratification: the predicate dependency graph, its SCCs and their evaluation order.

Nodes are relation keys (see :mod:`nesy.engine.compile`); classes are separate nodes
``("c", C)``. A body atom ``rdf:type(X, C)`` with a variable class (``TYPE_ANY``) depends
on every class, and every class depends on the rules whose head is ``rdf:type(X, C)``
with a variable class (node ``TYPE_HEAD``). Negation and aggregation must not occur
inside a strongly connected component.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from nesy.engine.compile import TYPE_ANY, CAggregate, CAtom, CLit, CRule, Key
from nesy.errors import StratificationError

#: Node of the rules whose head is ``rdf:type(X, C)`` with a variable class.
TYPE_HEAD: Key = ("T", "head")

POS, NEG, AGG = "pos", "neg", "agg"


@dataclass
class Stratum:
    """One strongly connected component of the dependency graph, with its rules.

    Attributes:
        index: Position in evaluation order.
        nodes: The relation keys of the component.
        rules: The rules whose head is in the component.
        recursive: Whether a rule can read what the component derives.
        reads: Keys read by positive atoms of its rules.
        strict_reads: Keys read under negation or inside an aggregate.
        writes: Head keys (``TYPE_ANY`` stands for any class).
    """

    index: int
    nodes: frozenset[Key]
    rules: list[CRule] = field(default_factory=list)
    recursive: bool = False
    reads: set[Key] = field(default_factory=set)
    strict_reads: set[Key] = field(default_factory=set)
    writes: set[Key] = field(default_factory=set)


def head_node(rule: CRule) -> Key:
    """The dependency-graph node a rule's head defines."""
    return TYPE_HEAD if rule.head_key == TYPE_ANY else rule.head_key


def body_edges(body: Iterable[CLit], inside_agg: bool = False) -> list[tuple[Key, str]]:
    """``(key, kind)`` of every atom a body reads; kind is ``pos``, ``neg`` or ``agg``."""
    out: list[tuple[Key, str]] = []
    for lit in body:
        if isinstance(lit, CAtom):
            out.append((lit.key, AGG if inside_agg else (NEG if lit.negated else POS)))
        elif isinstance(lit, CAggregate):
            out.extend(body_edges(lit.body, True))
    return out


def dependency_graph(rules: Sequence[CRule]) -> dict[Key, list[tuple[Key, str]]]:
    """Edges ``head -> [(body key, kind)]`` including the class/``TYPE_ANY`` edges."""
    graph: dict[Key, list[tuple[Key, str]]] = {}
    classes: set[Key] = set()

    def node(k: Key) -> None:
        graph.setdefault(k, [])
        if k[0] == "c":
            classes.add(k)

    for rule in rules:
        if rule.head_key is None:
            continue
        h = head_node(rule)
        node(h)
        for key, kind in body_edges(rule.body):
            node(key)
            graph[h].append((key, kind))
    if TYPE_HEAD in graph:
        for c in classes:
            graph[c].append((TYPE_HEAD, POS))
    if TYPE_ANY in graph:
        graph[TYPE_ANY].extend((c, POS) for c in sorted(classes))
        if TYPE_HEAD in graph:
            graph[TYPE_ANY].append((TYPE_HEAD, POS))
    return graph


def _sccs(graph: dict[Key, list[tuple[Key, str]]]) -> list[list[Key]]:
    """Tarjan's algorithm (iterative); components come out dependencies first."""
    index: dict[Key, int] = {}
    low: dict[Key, int] = {}
    on: set[Key] = set()
    stack: list[Key] = []
    out: list[list[Key]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w, _ in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(graph[w])))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def _cycle(graph: dict[Key, list[tuple[Key, str]]], comp: set[Key], u: Key, v: Key, kind: str,
           namer: Callable[[Key], str]) -> str:
    """Render the cycle ``u -> not v -> ... -> u`` through the strict edge ``u -> v``."""
    prev: dict[Key, tuple[Key, str]] = {}
    queue = deque([v])
    seen = {v}
    while queue and u not in seen:
        x = queue.popleft()
        for y, k in graph[x]:
            if y in comp and y not in seen:
                seen.add(y)
                prev[y] = (x, k)
                queue.append(y)
    path: list[tuple[Key, str]] = []
    x = u
    while x != v:
        p, k = prev[x]
        path.append((x, k))
        x = p
    path.reverse()

    def step(key: Key, k: str) -> str:
        return {NEG: "not ", AGG: "aggregate of "}.get(k, "") + namer(key)

    parts = [namer(u), step(v, kind)] + [step(x, k) for x, k in path]
    # The two rdf:type nodes (variable-class body and head) read the same to a user.
    return " -> ".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])


def stratify(rules: Sequence[CRule], namer: Callable[[Key], str] = str) -> list[Stratum]:
    """Order the rules into strata.

    Args:
        rules: Compiled rules; constraints (no head) are ignored.
        namer: Renders a key for error messages.

    Returns:
        Strata in evaluation order (dependencies first); only components with rules.

    Raises:
        StratificationError: negation or aggregation through recursion, naming the cycle.
    """
    graph = dependency_graph(rules)
    comps = _sccs(graph)
    where: dict[Key, int] = {}
    for i, comp in enumerate(comps):
        for k in comp:
            where[k] = i
    for i, comp in enumerate(comps):
        members = set(comp)
        for u in comp:
            for v, kind in graph[u]:
                if kind != POS and where[v] == i:
                    cyc = _cycle(graph, members, u, v, kind, namer)
                    what = "negation" if kind == NEG else "aggregation"
                    raise StratificationError(f"{what} through recursion: {cyc}; the program cannot be stratified")
    strata: dict[int, Stratum] = {}
    for rule in rules:
        if rule.head_key is None:
            continue
        ci = where[head_node(rule)]
        st = strata.get(ci)
        if st is None:
            st = strata[ci] = Stratum(0, frozenset(comps[ci]))
        st.rules.append(rule)
        st.writes.add(rule.head_key)
        for key, kind in body_edges(rule.body):
            (st.reads if kind == POS else st.strict_reads).add(key)
    out = []
    for ci in sorted(strata):
        st = strata[ci]
        st.index = len(out)
        comp = set(comps[ci])
        st.recursive = len(comp) > 1 or any(v in comp for u in comp for v, _ in graph[u])
        out.append(st)
    return out
