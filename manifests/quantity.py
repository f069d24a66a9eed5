"""Kubernetes resource quantities ("16Gi", "500m", "2"): parsing and checking with messages a user can act on.

The grammar is Kubernetes' own (k8s.io/apimachinery resource.Quantity): a signed decimal number followed by a
binary-SI suffix (Ki Mi Gi Ti Pi Ei), a decimal-SI suffix (m k M G T P E) or a decimal exponent (e3).
"""

from __future__ import annotations

import re
from decimal import Decimal

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<binary>[KMGTPE]i)|(?P<decimal>[numkMGTPE])|[eE](?P<exponent>[+-]?[0-9]+))?$"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": Decimal(10**3)}
_DECIMAL.update({"M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12)})
_DECIMAL.update({"P": Decimal(10**15), "E": Decimal(10**18)})


def parse_quantity(text: str) -> Decimal | None:
    """The quantity's value in base units (bytes, cores), or None when `text` is not a Kubernetes quantity."""
    match = _QUANTITY.match(text)
    if match is None:
        return None
    number = Decimal(match["number"])
    if match["binary"]:
        return number * _BINARY[match["binary"]]
    if match["decimal"]:
        return number * _DECIMAL[match["decimal"]]
    if match["exponent"]:
        return number.scaleb(int(match["exponent"]))
    return number


def check_quantity(text: str, what: str, *, example: str = "16Gi", allow_zero: bool = False) -> str | None:
    """None when `text` is a positive Kubernetes quantity, else a sentence saying what is wrong and an example."""
    value = parse_quantity(text)
    if value is None:
        hint = ""
        compact = re.sub(r"\s+", "", text)
        if re.fullmatch(r"[0-9.]+[KMGTPE]B", compact, flags=re.IGNORECASE):
            hint = f" (Kubernetes has no 'B' suffix; did you mean {compact[:-2] + compact[-2].upper() + 'i'!r}?)"
        return f"{what} {text!r} is not a Kubernetes quantity{hint}; write it like {example!r}"
    if value < 0 or (value == 0 and not allow_zero):
        return f"{what} {text!r} must be greater than zero"
    return None
