"""Run-time guards of one script run: attribute, item and iteration access, size-checked
operators and builtins, each charging what it builds to the run's Budget.

RestrictedPython rewrites ``a.b`` to ``_getattr_(a, "b")``, ``a[b]`` to ``_getitem_(a, b)``,
``x += y`` to ``x = _inplacevar_("+=", x, y)``; our policy rewrites ``+ * ** << %`` to ``_binop_``.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence,
                                     guarded_unpack_sequence)

from engine.sandbox.limits import Budget
from engine.sandbox.policy import FORBIDDEN_ATTRIBUTES

SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)
_TEXT = (str, bytes)
_SEQUENCES = (str, bytes, list, tuple)
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "*": operator.mul, "**": operator.pow, "<<": operator.lshift, "%": operator.mod,
    "+=": operator.iadd, "*=": operator.imul, "**=": operator.ipow, "<<=": operator.ilshift,
    "%=": operator.imod, "-=": operator.isub, "/=": operator.itruediv, "//=": operator.ifloordiv,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}
# printf-style conversions: flags, then width and precision (a "*" takes them from the arguments).
_PRINTF = re.compile(rb"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_SAFE_BUILTINS = (
    "abs all any bool enumerate filter float len map max min reversed round zip "
    "ValueError KeyError TypeError Exception").split()


def size_of(value: Any) -> int:
    """Items, characters or bytes of a value; 0 for small scalars."""
    if isinstance(value, SIZED):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 8
    return 0


class Guards:
    """The guard functions of one run, bound to its budget."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.types: dict[Any, type] = {}

    # --- operators -------------------------------------------------------------------------------
    def binop(self, symbol: str, left: Any, right: Any) -> Any:
        self.check_operands(symbol.rstrip("="), left, right)
        result = _OPERATORS[symbol](left, right)
        self.budget.spend(size_of(result))
        return result

    def inplace(self, symbol: str, left: Any, right: Any) -> Any:
        return self.binop(symbol, left, right)

    def check_operands(self, op: str, left: Any, right: Any) -> None:
        check = self.budget.check_size
        if op == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            check(len(left) + len(right), "a joined sequence")
        elif op == "*":
            self._check_product(left, right)
        elif op == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            check(max(left.bit_length(), 1) * right // 8, "a power")
        elif op == "<<" and isinstance(left, int) and isinstance(right, int):
            check((left.bit_length() + right) // 8, "a shifted number")
        elif op == "%" and isinstance(left, _TEXT):
            self._check_printf(left)

    def _check_product(self, left: Any, right: Any) -> None:
        if isinstance(left, int) and isinstance(right, _SEQUENCES):
            left, right = right, left
        if isinstance(left, _SEQUENCES) and isinstance(right, int):
            self.budget.check_size(len(left) * right, "a repeated sequence")
        elif isinstance(left, int) and isinstance(right, int):
            self.budget.check_size((left.bit_length() + right.bit_length()) // 8, "a product")

    def _check_printf(self, template: str | bytes) -> None:
        raw = template.encode("utf-8", "replace") if isinstance(template, str) else template
        for match in _PRINTF.finditer(raw):
            for number in match.groups():
                if number == b"*":
                    self.budget.fail("script stopped: '*' widths in % formatting are not allowed")
                if number is not None:
                    self.budget.check_size(int(number), "a % format width")

    # --- attribute, item, iteration access -----------------------------------------------------
    def getattr(self, obj: Any, name: str, *default: Any) -> Any:
        if not isinstance(name, str) or name.startswith("_") or name in FORBIDDEN_ATTRIBUTES:
            raise AttributeError(f"attribute {name!r} is not allowed in BPMN scripts")
        value = getattr(obj, name, *default)
        if isinstance(obj, SIZED) and callable(value):
            return self._method(obj, name, value)
        return value

    def _method(self, obj: Any, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        guards = self

        def guarded(*args: Any, **kwargs: Any) -> Any:
            args = guards._check_method(obj, name, args)
            result = method(*args, **kwargs)
            guards.budget.spend(size_of(result))
            return result
        return guarded

    def _check_method(self, obj: Any, name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """Refuse, before the C code runs, the calls that can make a value far larger than
        their inputs; iterables are read into lists first so they can be measured."""
        check = self.budget.check_size
        if name in ("ljust", "rjust", "center", "zfill") and args and isinstance(args[0], int):
            check(args[0], "a padded string")
        elif name == "expandtabs":
            check(len(obj) * (args[0] if args and isinstance(args[0], int) else 8), "an expanded string")
        elif name == "replace" and len(args) >= 2 and isinstance(obj, _TEXT):
            check(_replaced_size(obj, *args), "a replaced string")
        elif name == "join" and args:
            items = list(args[0])
            check(sum(size_of(i) for i in items) + len(obj) * len(items), "a joined string")
            return (items, *args[1:])
        elif name == "extend" and args:
            items = list(args[0])
            check(len(obj) + len(items), "an extended list")
            return (items, *args[1:])
        elif name in ("append", "insert", "add"):
            check(len(obj) + 1, "a list")
            self.budget.spend(1)
        return args

    def getitem(self, obj: Any, key: Any) -> Any:
        result = obj[key]
        if isinstance(key, slice):
            self.budget.spend(size_of(result))
        return result

    # --- builtins ----------------------------------------------------------------------------------
    def builtins(self) -> dict[str, Any]:
        import builtins as py
        out: dict[str, Any] = {name: getattr(py, name) for name in _SAFE_BUILTINS}
        for kind in (list, tuple, set, frozenset, dict, str, sorted):
            out[kind.__name__] = self._counted(kind)
        out.update(range=self.range, sum=self.sum, int=self.int, isinstance=self.isinstance)
        self.types[out["int"]] = int
        out.update(_getattr_=self.getattr, _getitem_=self.getitem, _getiter_=iter,
                   _write_=full_write_guard, _inplacevar_=self.inplace, _binop_=self.binop,
                   _apply_=_apply, _unpack_sequence_=guarded_unpack_sequence,
                   _iter_unpack_sequence_=guarded_iter_unpack_sequence)
        return out

    def _counted(self, make: Any) -> Callable[..., Any]:
        guards = self

        def counted(*args: Any, **kwargs: Any) -> Any:
            result = make(*args, **kwargs)
            guards.budget.check_size(size_of(result), f"a {make.__name__}")
            guards.budget.spend(size_of(result))
            return result
        counted.__name__ = make.__name__
        if isinstance(make, type):
            self.types[counted] = make
        return counted

    def range(self, *args: int) -> range:
        made = range(*args)
        self.budget.check_size(len(made), "a range")
        self.budget.spend(len(made))
        return made

    def sum(self, items: Iterable[Any], start: Any = 0) -> Any:
        if not isinstance(start, (int, float, Decimal)):
            self.budget.fail("script stopped: sum() adds numbers only")
        return sum(items, start)

    def int(self, value: Any = 0, *base: int) -> int:
        if isinstance(value, Decimal) and value.is_finite():
            self.budget.check_size(max(value.adjusted(), 0) // 2, "a number")
        return int(value, *base)

    def isinstance(self, obj: Any, kinds: Any) -> bool:
        if isinstance(kinds, tuple):
            kinds = tuple(self.types.get(k, k) for k in kinds)
        else:
            kinds = self.types.get(kinds, kinds)
        return isinstance(obj, kinds)


def _replaced_size(text: str | bytes, old: Any, new: Any, count: int = -1) -> int:
    if not isinstance(old, type(text)) or not isinstance(new, type(text)) or len(new) <= len(old):
        return len(text)
    hits = text.count(old) if old else len(text) + 1
    if count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)
