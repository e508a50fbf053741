"""Build terms and expressions: IRIs, prefixed names, variables, numbers, string literals.

:class:`TermBuilder` holds the per-text state that terms need (prefixes in scope, the
base IRI, caches, the numbering of ``_``) and the reduction callbacks for terms and
arithmetic; it also places and raises errors for the whole builder.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urljoin

from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from nesy.errors import NesyError, ParseError, RuleError, SourceLocation, excerpt_of
from nesy.rules.ast import BinOp, Var
from nesy.rules.checks import short_iri
from nesy.rules.tokens import Tok

if TYPE_CHECKING:
    from nesy.rules.builder import Context

_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_ESCAPE_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)
_LOCAL_ESCAPE_RE = re.compile(r"\\(.)")
_UCHAR_RE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})")
_WRITTEN_ANON_RE = re.compile(r"(?<![\w?])_[0-9]+(?!\w)")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_INTEGER_RE = re.compile(r"[+-]?[0-9]+")
# The XSD lexical spaces (XML Schema 1.1 part 2, 3.3.3 to 3.3.5).
_DECIMAL_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_DOUBLE_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN")
#: Lexical checks for the datatypes whose literals are written often; rdflib checks the rest.
_LEXICAL = {
    str(XSD.integer): _INTEGER_RE,
    str(XSD.decimal): _DECIMAL_RE,
    str(XSD.double): _DOUBLE_RE,
    str(XSD.float): _DOUBLE_RE,
    str(XSD.boolean): re.compile(r"true|false|1|0"),
}
_XSD_INTEGER = XSD.integer
_XSD_DECIMAL = XSD.decimal
_XSD_DOUBLE = XSD.double
_XSD_BOOLEAN = XSD.boolean
_TRUE = Literal("true", datatype=XSD.boolean)
_FALSE = Literal("false", datatype=XSD.boolean)
_ZERO = Literal("0", datatype=XSD.integer)

#: The most digits an integer literal may have: Python's own limit on converting text to
#: ``int`` (``sys.get_int_max_str_digits``, 4300 by default), past which rdflib cannot
#: read the value and conversion time grows with the square of the length. Longer
#: integers are refused with a ParseError at their position.
MAX_INTEGER_DIGITS = 4300


class _IllTypedLiteralFilter(logging.Filter):
    """Drops rdflib's warning, with a full traceback, for a literal whose lexical form it
    cannot convert (``"abc"^^xsd:integer``, an integer over 4300 digits in loaded data).

    nesy keeps such literals as they are written and treats them as not numbers (see
    :mod:`nesy.engine.exact`), and the rule parser refuses them with its own message, so the
    warning is noise, and no traceback may reach a user's terminal.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to convert Literal lexical form to value")


def quiet_rdflib_literal_warnings() -> None:
    """Install :class:`_IllTypedLiteralFilter` on rdflib's ``rdflib.term`` logger (once)."""
    log = logging.getLogger("rdflib.term")
    if not any(isinstance(f, _IllTypedLiteralFilter) for f in log.filters):
        log.addFilter(_IllTypedLiteralFilter())


quiet_rdflib_literal_warnings()

_INTEGER_TYPES = frozenset(str(XSD[t]) for t in (
    "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger", "negativeInteger",
    "nonPositiveInteger", "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte"))


def _codepoint(hex_digits: str) -> str | None:
    cp = int(hex_digits, 16)
    if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
        return None
    return chr(cp)


class TermBuilder:
    """The builder's term callbacks, and its locations and errors (a base of the builder)."""

    def __init__(self, text: str, file: str | None, ctx: Context, base: str | None) -> None:
        self.text = text
        self.file = file
        self.ctx = ctx
        self.base = base
        self.env: dict[str, str] = dict(ctx.base_prefixes)  # prefixes in scope right now
        self._iri_cache: dict[tuple[str, str], URIRef] = {}
        self._num_cache: dict[str, Literal] = {}
        self._anon = 0  # `_` occurrences in the current statement
        # `_N` names written anywhere in the text, which generated names must avoid.
        self._written_anon = set(_WRITTEN_ANON_RE.findall(text)) if "_" in text else set()
        self._locs: dict[tuple[int, int], SourceLocation] = {}

    # ---- errors and locations ---------------------------------------------------------
    def loc(self, where: tuple[int, int]) -> SourceLocation:
        loc = self._locs.get(where)
        if loc is None:
            loc = SourceLocation(self.file, where[0], where[1])
            self._locs[where] = loc
        return loc

    def tok_loc(self, tok: Tok) -> SourceLocation:
        return self.loc((tok.line, tok.column))

    def fail(self, cls: type[NesyError], message: str, loc: SourceLocation) -> NoReturn:
        text = self.ctx.texts.get(loc.file, self.text) if loc.file != self.file else self.text
        raise cls(
            message,
            file=loc.file,
            line=loc.line,
            column=loc.column,
            excerpt=excerpt_of(text, loc.line),
        )

    # ---- terms ------------------------------------------------------------------------
    def r_iri(self, c: list[Any], where: tuple[int, int]) -> URIRef:
        tok: Tok = c[0]
        key = (tok.type, tok.value)
        iri = self._iri_cache.get(key)
        if iri is not None:
            return iri
        value = tok.value
        if tok.type == "NAME":
            iri = URIRef(self.env.get("", self.ctx.default_ns) + value)
        elif tok.type == "PNAME_LN":
            prefix, _, local = value.partition(":")
            ns = self.env.get(prefix)
            if ns is None:
                if prefix == "":
                    ns = self.ctx.default_ns
                else:
                    self.fail(
                        RuleError,
                        f"unknown prefix '{prefix}:' (declare it with @prefix {prefix}: <...> .)",
                        self.tok_loc(tok),
                    )
            if "\\" in local:
                local = _LOCAL_ESCAPE_RE.sub(lambda m: m.group(1), local)
            iri = URIRef(ns + local)
        else:
            iri = URIRef(self.resolve_iri(tok))
        self._iri_cache[key] = iri
        return iri

    def resolve_iri(self, tok: Tok) -> str:
        """The text of an ``<IRI>`` token with escapes decoded, resolved against ``@base``."""
        value = tok.value[1:-1]
        if "\\" in value:

            def decode(m: re.Match[str]) -> str:
                ch = _codepoint(m.group(1)[1:])
                if ch is None:
                    self.fail(
                        ParseError, f"invalid escape '\\{m.group(1)}' in IRI", self.tok_loc(tok)
                    )
                return ch

            value = _UCHAR_RE.sub(decode, value)
        if self.base is not None and not _SCHEME_RE.match(value):
            try:
                value = urljoin(self.base, value)
            except ValueError as exc:
                self.fail(
                    ParseError,
                    f"cannot resolve <{value}> against @base <{self.base}>: {exc}",
                    self.tok_loc(tok),
                )
        return value

    def r_arg(self, c: list[Any], where: tuple[int, int]) -> Any:
        first = c[0]
        if type(first) is not Tok:
            return first  # a string literal
        typ = first.type
        if typ == "VAR":
            return self.var(first, where)
        if typ == "NUMBER":
            return self.number(first.value, first)
        if typ == "MINUS":
            return self.number("-" + c[1].value, c[1])
        if typ == "TRUE":
            return _TRUE
        if typ == "FALSE":
            return _FALSE
        return self.r_iri(c, where)

    r_operand = r_arg

    def var(self, tok: Tok, where: tuple[int, int]) -> Var:
        name = tok.value
        if name == "_":
            # Each `_` is a variable of its own, named `_1`, `_2`... in its statement,
            # skipping any `_N` the text itself uses.
            self._anon += 1
            name = f"_{self._anon}"
            while name in self._written_anon:
                self._anon += 1
                name = f"_{self._anon}"
        return Var(name, self.loc(where))

    def number(self, lexical: str, tok: Tok) -> Literal:
        """An xsd:integer, xsd:decimal or xsd:double literal, by the form of ``lexical``."""
        lit = self._num_cache.get(lexical)
        if lit is None:
            if "e" in lexical or "E" in lexical:
                datatype = _XSD_DOUBLE
            elif "." in lexical:
                datatype = _XSD_DECIMAL
            else:
                datatype = _XSD_INTEGER
                self.check_digits(lexical, tok)
            lit = Literal(lexical, datatype=datatype)
            self._num_cache[lexical] = lit
        return lit

    def check_digits(self, lexical: str, tok: Tok) -> None:
        """Refuse an integer longer than :data:`MAX_INTEGER_DIGITS` digits."""
        digits = len(lexical.strip().lstrip("+-"))
        if digits > MAX_INTEGER_DIGITS:
            self.fail(ParseError, f"integer too long: {digits:,} digits, at most {MAX_INTEGER_DIGITS:,} "
                                  "are supported (write it as a decimal, 1234.0, for an exact value)",
                      self.tok_loc(tok))

    def negate(self, lit: Literal) -> Literal:
        """``-lit`` for a number literal, keeping its datatype (rdflib writes 1e3 as 1000.0)."""
        lexical = str(lit)
        return Literal(
            lexical[1:] if lexical.startswith("-") else "-" + lexical, datatype=lit.datatype
        )

    def string(self, tok: Tok) -> str:
        """The text of a string token, quotes removed and escapes decoded."""
        raw = tok.value
        body = raw[3:-3] if raw[:3] in ('"""', "'''") and len(raw) >= 6 else raw[1:-1]
        if "\\" in body:

            def decode(m: re.Match[str]) -> str:
                esc = m.group(1)
                if esc[0] in "uU" and len(esc) > 1:
                    ch = _codepoint(esc[1:])
                    if ch is not None:
                        return ch
                elif esc in _ESCAPES:
                    return _ESCAPES[esc]
                self.fail(ParseError, f"invalid escape '\\{esc}' in string", self.tok_loc(tok))

            body = _ESCAPE_RE.sub(decode, body)
        return body

    def r_string_lit(self, c: list[Any], where: tuple[int, int]) -> Literal:
        body = self.string(c[0])
        if len(c) == 1:
            return Literal(body)
        if c[1].type == "LANGTAG":
            return Literal(body, lang=c[1].value[1:])
        datatype: URIRef = c[2]
        check = _LEXICAL.get(str(datatype))
        if check is not None and not check.fullmatch(body):
            self.fail(
                RuleError,
                f"ill-typed literal: {body!r} is not a valid {short_iri(datatype, self.env, self.ctx.default_ns)}",
                self.loc(where),
            )
        if str(datatype) in _INTEGER_TYPES:
            self.check_digits(body, c[0])
        lit = Literal(body, datatype=datatype)
        if check is None and getattr(lit, "ill_typed", False):
            self.fail(
                RuleError,
                f"ill-typed literal: {body!r} is not a valid {short_iri(datatype, self.env, self.ctx.default_ns)}",
                self.loc(where),
            )
        return lit

    # ---- expressions ------------------------------------------------------------------
    def r_binop(self, c: list[Any], where: tuple[int, int]) -> BinOp:
        return BinOp(c[1].value, c[0], c[2], self.loc(where))

    def r_neg(self, c: list[Any], where: tuple[int, int]) -> Any:
        operand = c[1]
        if (
            isinstance(operand, Literal)
            and operand.datatype in (_XSD_INTEGER, _XSD_DECIMAL, _XSD_DOUBLE)
            and not (str(operand).startswith("-"))
        ):
            return self.negate(operand)
        # `-X` is `0 - X`: the AST has no unary operator, and this prints and parses back alike.
        return BinOp("-", _ZERO, operand, self.loc(where))

    def r_paren(self, c: list[Any], where: tuple[int, int]) -> Any:
        return c[1]
