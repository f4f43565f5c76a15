"""Evaluating an expression tree safely: exact where possible, bounded always.

Values are `Fraction`s while the arithmetic stays rational (so 0.1 + 0.2 is
exactly 0.3 and 7 / 2 is exactly 3.5) and become floats only for irrational
results such as sqrt(2) or 2 ^ 0.5.

Nothing here may hang or exhaust memory on hostile input: powers are sized
*before* they are computed, exact results are capped at about 1000 digits and
floats at 1e300. Problems surface as `MathError` with a code the skill speaks.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Literal

from .expression import Binary, Function, Negation, Node, Number, Postfix

Real = Fraction | float
ErrorCode = Literal["division_by_zero", "too_large", "not_real"]

MAX_BITS = 3400  # about 1000 decimal digits, numerator or denominator
MAX_FLOAT = 1e300


class MathError(Exception):
    """The expression is valid math but has no answer we can give."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code)
        self.code: ErrorCode = code


def evaluate(node: Node) -> Real:
    """Compute `node`; raises MathError for division by zero, huge or non-real results."""
    try:
        return _evaluate(node)
    except ZeroDivisionError:
        raise MathError("division_by_zero") from None
    except OverflowError:
        raise MathError("too_large") from None


def _evaluate(node: Node) -> Real:
    match node:
        case Number(value=value):
            return _checked(value)
        case Negation(operand=operand):
            return -_evaluate(operand)
        case Binary(op=op, left=left, right=right):
            return _checked(_binary(op, _evaluate(left), _evaluate(right)))
        case Postfix(op=op, operand=operand):
            base = _evaluate(operand)
            if op == "percent":
                return _checked(base / 100)
            return _checked(_power(base, Fraction(2 if op == "squared" else 3)))
        case Function(name=name, operand=operand):
            radicand = _evaluate(operand)
            return _checked(_square_root(radicand) if name == "sqrt" else _cube_root(radicand))
    raise AssertionError(f"unhandled node {node!r}")  # pragma: no cover


def _binary(op: str, left: Real, right: Real) -> Real:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op in ("*", "of"):
        return left * right
    if op == "^":
        return _power(left, right)
    if right == 0:
        raise MathError("division_by_zero")
    if op == "/":
        return left / right
    return left % right  # "mod"


def _checked(value: Real) -> Real:
    if isinstance(value, Fraction):
        if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
            raise MathError("too_large")
    elif not math.isfinite(value) or abs(value) > MAX_FLOAT:
        raise MathError("too_large")
    return value


def _power(base: Real, exponent: Real) -> Real:
    if isinstance(base, Fraction) and isinstance(exponent, Fraction) and exponent.denominator == 1:
        return _exact_power(base, exponent.numerator)
    b, e = float(base), float(exponent)
    if b == 0 and e < 0:
        raise MathError("division_by_zero")
    if b < 0 and not e.is_integer():
        raise MathError("not_real")
    if b != 0 and e * math.log10(abs(b)) > 300:
        raise MathError("too_large")  # tiny results (huge negative exponents) are fine
    return math.pow(b, e)


def _exact_power(base: Fraction, exponent: int) -> Fraction:
    if base == 0 and exponent < 0:
        raise MathError("division_by_zero")
    # Size the result from the operands' bit lengths before computing it, so
    # "9 ** 9 ** 9" is refused instantly instead of building a gigantic integer.
    bits = max(base.numerator.bit_length(), base.denominator.bit_length()) - 1
    if abs(base) not in (0, 1) and abs(exponent) * max(bits, 1) > MAX_BITS:
        raise MathError("too_large")
    return base**exponent


def _integer_root(n: int, degree: int) -> int | None:
    """The exact non-negative integer `degree`-th root of n >= 0, if there is one."""
    if degree == 2:
        root = math.isqrt(n)
    else:
        low, high = 0, 1 << (n.bit_length() // degree + 1)
        while low < high:  # smallest r with r**degree >= n
            middle = (low + high) // 2
            if middle**degree < n:
                low = middle + 1
            else:
                high = middle
        root = low
    return root if root**degree == n else None


def _exact_root(value: Fraction, degree: int) -> Fraction | None:
    numerator = _integer_root(value.numerator, degree)
    denominator = _integer_root(value.denominator, degree)
    if numerator is None or denominator is None:
        return None
    return Fraction(numerator, denominator)


def _square_root(value: Real) -> Real:
    if value < 0:
        raise MathError("not_real")
    if isinstance(value, Fraction) and (exact := _exact_root(value, 2)) is not None:
        return exact
    return math.sqrt(value)


def _cube_root(value: Real) -> Real:
    sign = -1 if value < 0 else 1
    magnitude: Real = -value if value < 0 else value
    if isinstance(magnitude, Fraction) and (exact := _exact_root(magnitude, 3)) is not None:
        return sign * exact
    return sign * math.cbrt(float(magnitude))
