"""The math expression tree: parsing tokens into it and rendering it back.

A recursive-descent parser over `tokens.Token`, lowest precedence first:

    utterance := command | expr
    command   := "add" expr ("and" | "to") expr | "subtract" expr "from" expr
               | "multiply" expr ("by" | "and") expr | "divide" expr "by" expr
               | ("sum of" | "product of" | "difference between") expr "and" expr
    expr      := term (("+" | "-") term)*
    term      := unary (("*" | "/" | "mod" | "of") unary)*
    unary     := ("-" | "+" | "negative") unary | power
    power     := postfix ("^" unary)?            right-associative, -2^2 = -4
    postfix   := primary ("squared" | "cubed" | "%")*
    primary   := NUMBER | "(" expr ")" | ("sqrt" | "cbrt") unary

Each node renders two ways: symbolic ("(3 + 4) * 2") for the data payload and
spoken ("3 plus 4 times 2") for the reply text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from .numbers import format_number, speak_number, to_plain
from .tokens import NotMath, Token, TokenKind

BinaryOp = Literal["+", "-", "*", "/", "mod", "of", "^"]
PostfixOp = Literal["squared", "cubed", "percent"]
FunctionName = Literal["sqrt", "cbrt"]

# Deep nesting is never real speech; the cap keeps recursion far from Python's limit.
MAX_DEPTH = 40


@dataclass(frozen=True, slots=True)
class Number:
    value: Fraction


@dataclass(frozen=True, slots=True)
class Negation:
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: BinaryOp
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Postfix:
    op: PostfixOp
    operand: Node


@dataclass(frozen=True, slots=True)
class Function:
    name: FunctionName
    operand: Node


Node = Number | Negation | Binary | Postfix | Function

_K = TokenKind
_ADDITIVE: dict[TokenKind, BinaryOp] = {_K.PLUS: "+", _K.MINUS: "-"}
_MULTIPLICATIVE: dict[TokenKind, BinaryOp] = {
    _K.TIMES: "*",
    _K.DIVIDE: "/",
    _K.MOD: "mod",
    _K.OF: "of",
}
_POSTFIX: dict[TokenKind, PostfixOp] = {
    _K.SQUARED: "squared",
    _K.CUBED: "cubed",
    _K.PERCENT: "percent",
}
_FUNCTIONS: dict[TokenKind, FunctionName] = {_K.SQRT: "sqrt", _K.CBRT: "cbrt"}
# command word -> (operator, separator words, whether operands are swapped)
_COMMANDS: dict[TokenKind, tuple[BinaryOp, tuple[TokenKind, ...], bool]] = {
    _K.ADD: ("+", (_K.AND, _K.TO), False),
    _K.SUBTRACT: ("-", (_K.FROM,), True),  # "subtract 3 from 10" is 10 - 3
    _K.MULTIPLY: ("*", (_K.BY, _K.AND), False),
    _K.DIVIDE_VERB: ("/", (_K.BY,), False),
    _K.SUM_OF: ("+", (_K.AND,), False),
    _K.PRODUCT_OF: ("*", (_K.AND,), False),
    _K.DIFFERENCE_OF: ("-", (_K.AND,), False),
}


class _Parser:
    def __init__(self, tokens: Sequence[Token]) -> None:
        self.tokens = tokens
        self.position = 0
        self.depth = 0

    def _peek(self) -> TokenKind | None:
        if self.position < len(self.tokens):
            return self.tokens[self.position].kind
        return None

    def _take(self) -> Token:
        if self.position >= len(self.tokens):
            raise NotMath("unexpected end")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def utterance(self) -> Node:
        kind = self._peek()
        if kind in _COMMANDS:
            self._take()
            op, separators, swapped = _COMMANDS[kind]
            first = self.expr()
            if self._take().kind not in separators:
                raise NotMath("command without its separator")
            second = self.expr()
            node: Node = Binary(op, second, first) if swapped else Binary(op, first, second)
        else:
            node = self.expr()
        if self.position != len(self.tokens):
            raise NotMath("trailing words")
        return node

    def expr(self) -> Node:
        node = self.term()
        while (kind := self._peek()) in _ADDITIVE:
            self._take()
            node = Binary(_ADDITIVE[kind], node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while (kind := self._peek()) in _MULTIPLICATIVE:
            self._take()
            op = _MULTIPLICATIVE[kind]
            if op == "of" and not _takes_of(node):
                raise NotMath("'of' only follows a percentage or a fraction")
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise NotMath("nested too deeply")
        try:
            kind = self._peek()
            if kind in (_K.MINUS, _K.NEGATIVE):
                self._take()
                return Negation(self.unary())
            if kind == _K.PLUS:
                self._take()
                return self.unary()
            return self.power()
        finally:
            self.depth -= 1

    def power(self) -> Node:
        base = self.postfix()
        if self._peek() == _K.POWER:
            self._take()
            return Binary("^", base, self.unary())
        return base

    def postfix(self) -> Node:
        node = self.primary()
        while (kind := self._peek()) in _POSTFIX:
            self._take()
            node = Postfix(_POSTFIX[kind], node)
        return node

    def primary(self) -> Node:
        token = self._take()
        if token.kind == _K.NUMBER:
            return Number(token.value)
        if token.kind in _FUNCTIONS:
            return Function(_FUNCTIONS[token.kind], self.unary())
        if token.kind == _K.LPAREN:
            node = self.expr()
            if self._take().kind != _K.RPAREN:
                raise NotMath("unbalanced parentheses")
            return node
        raise NotMath(f"unexpected {token.kind.value!r}")


def _takes_of(node: Node) -> bool:
    """ "15% of 80" and "half of 10" read naturally; "3 of 4" is not arithmetic."""
    if isinstance(node, Postfix):
        return node.op == "percent"
    return isinstance(node, Number) and 0 < node.value < 1


def parse(tokens: Sequence[Token]) -> Node:
    """Parse the whole token list into one tree, or raise NotMath."""
    return _Parser(tokens).utterance()


def has_operation(node: Node) -> bool:
    """True when there is something to compute, not just "-5" or "15%"."""
    match node:
        case Binary() | Function():
            return True
        case Postfix(op=op, operand=operand):
            return op != "percent" or has_operation(operand)
        case Negation(operand=operand):
            return has_operation(operand)
        case _:
            return False


# -- rendering ---------------------------------------------------------------

_PRECEDENCE: dict[str, int] = {"+": 1, "-": 1, "*": 2, "/": 2, "mod": 2, "of": 2, "^": 4}
_NEGATION, _POSTFIX_LEVEL, _ATOM = 3, 5, 6
_SYMBOL: dict[str, str] = {"+": "+", "-": "-", "*": "*", "/": "/", "mod": "mod", "of": "of"}
_WORDS: dict[str, str] = {
    "+": "plus",
    "-": "minus",
    "*": "times",
    "/": "divided by",
    "mod": "modulo",
    "of": "of",
    "^": "to the power of",
}
_FUNCTION_WORDS: dict[str, str] = {"sqrt": "the square root of", "cbrt": "the cube root of"}


def _precedence(node: Node) -> int:
    match node:
        case Binary(op=op):
            return _PRECEDENCE[op]
        case Negation():
            return _NEGATION
        case Postfix():
            return _POSTFIX_LEVEL
        case _:
            return _ATOM


def _render(node: Node, spoken: bool, minimum: int = 0) -> str:
    """Render `node`, parenthesised if it binds looser than `minimum`."""
    text = _render_bare(node, spoken)
    return f"({text})" if _precedence(node) < minimum else text


def _render_bare(node: Node, spoken: bool) -> str:
    match node:
        case Number(value=value):
            plain = to_plain(value)
            return speak_number(plain) if spoken else format_number(plain)
        case Negation(operand=operand):
            inner = _render(operand, spoken, _NEGATION)
            return f"minus {inner}" if spoken else f"-{inner}"
        case Binary(op="^", left=left, right=right):
            joiner = " to the power of " if spoken else " ^ "
            return _render(left, spoken, _POSTFIX_LEVEL) + joiner + _render(right, spoken, 3)
        case Binary(op=op, left=left, right=right):
            level = _PRECEDENCE[op]
            if op == "of" and not isinstance(left, Postfix):
                op = "*"  # "half of 10" reads better back as "0.5 times 10"
            joiner = _WORDS[op] if spoken else _SYMBOL[op]
            left_text = _render(left, spoken, level)
            return f"{left_text} {joiner} {_render(right, spoken, level + 1)}"
        case Postfix(op=op, operand=operand):
            inner = _render(operand, spoken, _ATOM)
            if spoken:
                return f"{inner} {op}"
            return inner + {"squared": "^2", "cubed": "^3", "percent": "%"}[op]
        case Function(name=name, operand=operand):
            if spoken:
                return f"{_FUNCTION_WORDS[name]} {_render(operand, spoken, _NEGATION)}"
            return f"{name}({_render(operand, spoken)})"
    raise AssertionError(f"unhandled node {node!r}")  # pragma: no cover


def render_symbolic(node: Node) -> str:
    """ "(3 + 4) * 2", "sqrt(144)", "15% of 80" — for the data payload."""
    return _render(node, spoken=False)


def render_spoken(node: Node) -> str:
    """ "3 plus 4 times 2", "the square root of 144" — for the reply text."""
    return _render(node, spoken=True)
