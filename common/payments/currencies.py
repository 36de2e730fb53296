"""Currencies: ISO 4217 codes and their minor-unit exponents.

Amounts are kept as integers in the currency's minor unit, whose exponent is
the one ISO 4217 publishes (JPY 0, EUR 2, KWD 3). The table is the `iso4217`
package's copy of the official list.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation

from common.errors import InvalidEventError

_CODE_RE = re.compile(r"[A-Za-z]{3}")
_DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def currency_code(value: object) -> str:
    """Return the upper-case ISO 4217 code of a currency that has minor units.

    Raises:
        InvalidEventError: not a code, or one without a minor unit (XAU).
    """
    if not isinstance(value, str) or not _CODE_RE.fullmatch(value):
        raise InvalidEventError(
            "expected a three-letter ISO 4217 currency code", code="invalid_currency"
        )
    code = value.upper()
    exponent(code)
    return code


def exponent(code: str) -> int:
    """Return the number of decimals of a currency's minor unit.

    Raises:
        InvalidEventError: the code is unknown or has no minor unit.
    """
    found = _exponents().get(code)
    if found is None:
        raise InvalidEventError(
            "expected an ISO 4217 currency with a minor unit, found another code",
            code="invalid_currency",
        )
    return found


def to_minor_units(amount: str, code: str) -> int:
    """Convert a decimal amount such as ``"12.34"`` to integer minor units.

    More decimals than the currency has are refused, never rounded: a
    payment of ``"1.005"`` EUR is a provider's bug, not a cent.

    Raises:
        InvalidEventError: not a plain decimal, or too precise for the currency.
    """
    if not _DECIMAL_RE.fullmatch(amount):
        raise InvalidEventError(
            "expected an amount as a decimal string such as 12.34",
            code="invalid_amount",
        )
    try:
        scaled = Decimal(amount).scaleb(exponent(code))
    except InvalidOperation as exc:
        raise InvalidEventError(code="invalid_amount") from exc
    if scaled != scaled.to_integral_value():
        raise InvalidEventError(
            f"expected at most {exponent(code)} decimals for {code}",
            code="invalid_amount",
        )
    return int(scaled)


@functools.cache
def _exponents() -> dict[str, int]:
    # Imported on first use: the package parses its XML table at import.
    import iso4217

    return {
        currency.code: currency.exponent
        for currency in iso4217.Currency
        if currency.exponent is not None
    }
