"""Config validation: dataclass configs built from dicts, unknown keys named with a did-you-mean.

A learner's hyperparameters are a dataclass deriving from :class:`Config`: ``LABEL`` names it
in messages, ``CHECKS`` maps field names to :class:`Check` rules (built with the helpers below),
and every construction (keyword arguments, :meth:`Config.from_dict`, a ``kb.json`` entry) is
checked the same way, so a typo or a bad value is a :class:`~nesy.errors.NesyError` that says
what was expected instead of a crash deep inside training.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, TypeVar

from nesy.errors import NesyError

C = TypeVar("C", bound="Config")


@dataclass(frozen=True)
class Check:
    """One field's rule: ``ok(value)`` must hold; ``want`` says what is expected, for messages."""

    ok: Callable[[Any], bool]
    want: str

    def passes(self, value: Any) -> bool:
        """Whether ``value`` is acceptable; a comparison that raises counts as a failure."""
        try:
            return bool(self.ok(value))
        except (TypeError, ValueError):
            return False


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)  # True is an int to Python, not to us


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def integer(lo: int | None = None, hi: int | None = None) -> Check:
    """An int (not a bool) in ``lo..hi`` (either bound may be open)."""
    if lo is not None and hi is not None:
        want = f"an integer in {lo}..{hi}"
    elif lo == 1:
        want = "a positive integer"
    elif lo is not None:
        want = f"an integer >= {lo}"
    else:
        want = "an integer" if hi is None else f"an integer <= {hi}"
    return Check(lambda v: _is_int(v) and (lo is None or v >= lo) and (hi is None or v <= hi), want)


def number(*, gt: float | None = None, ge: float | None = None, lt: float | None = None,
           le: float | None = None) -> Check:
    """An int or float (not a bool) within the given bounds."""
    bounds = [(gt, ">", lambda v, b: v > b), (ge, ">=", lambda v, b: v >= b),
              (lt, "<", lambda v, b: v < b), (le, "<=", lambda v, b: v <= b)]
    active = [(b, sym, cmp) for b, sym, cmp in bounds if b is not None]
    if len(active) == 2 and active[0][1].startswith(">") and active[1][1].startswith("<"):
        (lo, lo_sym, _), (hi, hi_sym, _) = active
        want = f"in {'[' if lo_sym == '>=' else '('}{lo:g}, {hi:g}{']' if hi_sym == '<=' else ')'}"
    else:
        want = " and ".join(f"{sym} {b:g}" for b, sym, _ in active) or "a number"
    return Check(lambda v: _is_number(v) and all(cmp(v, b) for b, _, cmp in active), want)


def one_of(choices: Iterable[str]) -> Check:
    """One of the given names."""
    names = list(choices)
    return Check(lambda v: v in names, " or ".join(names))


def boolean() -> Check:
    """``True`` or ``False`` (not 0/1, not "yes")."""
    return Check(lambda v: isinstance(v, bool), "true or false")


def string(want: str = "a string") -> Check:
    """A str."""
    return Check(lambda v: isinstance(v, str), want)


def mapping() -> Check:
    """A dict."""
    return Check(lambda v: isinstance(v, dict), "a dict")


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """`` (did you mean X?)`` when ``name`` is close to one of ``options``, else ``""``."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def validate(label: str, values: Mapping[str, Any], checks: Mapping[str, Check]) -> None:
    """Raise a NesyError naming the first value in ``values`` that fails its check.

    Raises:
        NesyError: ``"{label}: {name} must be {want}, got {value!r}"``.
    """
    for name, check in checks.items():
        if name in values and not check.passes(values[name]):
            raise NesyError(f"{label}: {name} must be {check.want}, got {values[name]!r}")


def unknown_keys(label: str, data: Mapping[str, Any], known: Iterable[str]) -> None:
    """Raise a NesyError naming the keys of ``data`` outside ``known``, each with a did-you-mean.

    Raises:
        NesyError: ``"{label}: unknown option(s) a (did you mean b?); known: ..."``.
    """
    known = list(known)
    unknown = sorted(set(data) - set(known))
    if unknown:
        named = ", ".join(f"{k}{did_you_mean(k, known)}" for k in unknown)
        raise NesyError(f"{label}: unknown option(s) {named}; known: {', '.join(sorted(known))}")


class Config:
    """Mixin of a dataclass config: checked on construction, built from dicts, dumped to JSON.

    Subclasses are ``@dataclass`` classes that set ``LABEL`` and ``CHECKS``; fields without a
    check are accepted as given.
    """

    LABEL: ClassVar[str] = "config"
    CHECKS: ClassVar[Mapping[str, Check]] = {}

    def __post_init__(self) -> None:
        validate(self.LABEL, self.to_dict(), self.CHECKS)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy of the fields."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any] | None = None, /, **kwargs: Any) -> C:
        """Build from a dict (e.g. :meth:`to_dict` output) and keyword overrides.

        Missing keys take their defaults.

        Raises:
            NesyError: ``data`` is not a dict, a key is unknown (with a did-you-mean), or a
                value fails its check.
        """
        if data is not None and not isinstance(data, Mapping):
            raise NesyError(f"{cls.LABEL}: expected an object of options, got {data!r}")
        merged = {**(data or {}), **kwargs}
        unknown_keys(cls.LABEL, merged, (f.name for f in fields(cls)))  # type: ignore[arg-type]
        return cls(**merged)


__all__ = ["Check", "Config", "boolean", "did_you_mean", "integer", "mapping", "number", "one_of",
           "string", "unknown_keys", "validate"]
