"""Contract specifications and their translation into Nautilus ``FuturesContract`` instruments.

A ``ContractSpec`` is what a futures *root* is (ES, WIN, ...): tick, multiplier, currency, listed months,
expiry rule, session, default fee and margin. A contract code (``ESZ6``, ``WINZ26``) names one expiry of
a root; ``futures_contract`` turns ``<code>.<venue>`` into the Nautilus instrument every other module
trades. The specs themselves live in ``cme.py`` and ``b3.py``; this module only holds the shape and the
lookup, so adding a venue never touches the parsing or the Nautilus translation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache

from nautilus_trader.model.enums import AssetClass
from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.instruments import FuturesContract
from nautilus_trader.model.objects import Currency, Price, Quantity

from macrofund.errors import UnknownInstrumentError
from macrofund.venues.sessions import TradingSession, local_time_ns

__all__ = [
    "MONTH_CODES",
    "ContractCode",
    "ContractSpec",
    "futures_contract",
    "known_roots",
    "parse_contract_code",
    "spec_for",
    "spec_for_symbol",
]

#: The standard futures month letters, January (F) to December (Z).
MONTH_CODES = "FGHJKMNQUVXZ"

ExpiryRule = Callable[[int, int], date]
"""``(year, month) -> date``: a contract month's last trading (or settlement) date."""

QuoteTickRule = Callable[[date, int, int], Decimal]
"""``(trade_date, year, month) -> tick`` of a contract the venue quotes in other units than Nautilus
prices it (DI1: a rate tick that depends on the maturity; Nautilus trades the unit price)."""


def decimal_places(value: Decimal) -> int:
    """Number of decimal places needed to write ``value`` exactly (0 for integers)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite Decimals only
    return max(0, -exponent)


def plain(value: Decimal) -> str:
    """``value`` in plain (non-scientific) notation with no trailing zeros: ``125000``, ``0.2``."""
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class ContractSpec:
    """What one futures root is: everything needed to build any of its contract months.

    ``margin_init``/``margin_maint`` are *fractions of notional*, the convention Nautilus's margin models
    apply (``notional * instrument.margin_init``); they are rough defaults, not the clearing house's
    figures (which are fixed amounts per contract and change often). ``fee_per_contract`` is a default
    all-in cost per contract per side in ``currency``; override it per root or per instrument in
    ``ContractFeeModel``.

    ``last_trade_rule`` gives the last trading date of a contract month; ``last_trade_time`` is the
    local wall-clock time trading in the expiring contract stops on that date (the instrument's
    ``expiration_ns``). ``settlement_rule`` gives the expiration (settlement) date where it differs from
    the last trading date (B3 dollar futures).
    """

    root: str
    venue: str
    exchange: str
    description: str
    asset_class: AssetClass
    currency: str
    tick_size: Decimal
    multiplier: Decimal
    month_codes: str
    fee_per_contract: Decimal
    margin_init: Decimal
    margin_maint: Decimal
    session: TradingSession
    last_trade_rule: ExpiryRule
    last_trade_time: time
    underlying: str
    listing_months: int = 12
    year_digits: int = 1
    settlement_rule: ExpiryRule | None = None
    quote_tick_rule: QuoteTickRule | None = None

    def __post_init__(self) -> None:
        if not self.month_codes or any(code not in MONTH_CODES for code in self.month_codes):
            raise ValueError(
                f"{self.root}: month codes {self.month_codes!r} must be letters of {MONTH_CODES}"
            )
        if self.tick_size <= 0 or self.multiplier <= 0:
            raise ValueError(f"{self.root}: tick size and multiplier must be positive")
        if self.year_digits not in (1, 2):
            raise ValueError(f"{self.root}: year_digits must be 1 or 2")

    @property
    def months(self) -> tuple[int, ...]:
        """Listed contract months as numbers (1-12)."""
        return tuple(MONTH_CODES.index(code) + 1 for code in self.month_codes)

    @property
    def price_precision(self) -> int:
        """Decimal places of a price: those of the tick (ZN 1/64 = 0.015625 -> 6)."""
        return decimal_places(self.tick_size)

    def quote_tick(self, trade_date: date, year: int, month: int) -> Decimal:
        """Tick of the venue's quote for the ``year``/``month`` contract on ``trade_date``.

        ``tick_size`` (the Nautilus price increment) unless the venue quotes the root differently.
        """
        self._check_month(month)
        if self.quote_tick_rule is None:
            return self.tick_size
        return self.quote_tick_rule(trade_date, year, month)

    @property
    def tick_value(self) -> Decimal:
        """Money value of one tick on one contract, in ``currency``."""
        return self.tick_size * self.multiplier

    def last_trade_date(self, year: int, month: int) -> date:
        """Last trading date of the ``year``/``month`` contract."""
        self._check_month(month)
        return self.last_trade_rule(year, month)

    def expiry_date(self, year: int, month: int) -> date:
        """Expiration (final settlement) date; equal to the last trading date unless the venue differs."""
        self._check_month(month)
        if self.settlement_rule is None:
            return self.last_trade_rule(year, month)
        return self.settlement_rule(year, month)

    def expiration_ns(self, year: int, month: int) -> int:
        """UTC ns at which trading in the ``year``/``month`` contract stops."""
        return local_time_ns(self.last_trade_date(year, month), self.last_trade_time, self.session.timezone)

    def symbol_for(self, year: int, month: int) -> str:
        """The contract code the venue uses, e.g. ``ESZ6`` (CME, 1-digit year) or ``WINZ26`` (B3)."""
        self._check_month(month)
        digits = year % (10**self.year_digits)
        return f"{self.root}{MONTH_CODES[month - 1]}{digits:0{self.year_digits}d}"

    def _check_month(self, month: int) -> None:
        if month not in self.months:
            raise UnknownInstrumentError(
                f"{self.root}: month {month} is not listed (listed months: {self.month_codes})"
            )


@dataclass(frozen=True)
class ContractCode:
    """A parsed contract code: ``ESZ6`` -> root ES, month code Z (12), year 2026."""

    root: str
    month_code: str
    month: int
    year: int
    symbol: str


# 2100-01-01T00:00:00Z: the "expiry" of a continuous (bare-root) series.
CONTINUOUS_EXPIRATION_NS = 4_102_444_800_000_000_000

# A root may end in a digit (B3's DI1): the month letter and 1-2 digit year are matched from the end.
_CODE_RE = re.compile(r"^(?P<root>[A-Z0-9]*[A-Z0-9])(?P<month>[A-Z])(?P<year>\d{1,2})$")


@lru_cache(maxsize=1)
def _registry() -> dict[str, ContractSpec]:
    # Imported here: cme.py and b3.py import ContractSpec from this module.
    from macrofund.venues.b3 import B3_SPECS
    from macrofund.venues.cme import CME_SPECS

    registry: dict[str, ContractSpec] = {}
    for spec in (*CME_SPECS, *B3_SPECS):
        if spec.root in registry:
            raise ValueError(f"duplicate contract root {spec.root}")
        registry[spec.root] = spec
    return registry


def known_roots() -> list[str]:
    """Every contract root macrofund knows, sorted."""
    return sorted(_registry())


def spec_for(root: str) -> ContractSpec:
    """The ``ContractSpec`` of ``root`` (``"ES"``); ``UnknownInstrumentError`` if there is none."""
    spec = _registry().get(root)
    if spec is None:
        raise UnknownInstrumentError(
            f"unknown contract root {root!r}; known roots: {', '.join(known_roots())}"
        )
    return spec


def parse_contract_code(symbol: str, reference: date | None = None) -> ContractCode:
    """Split a contract code into root, month and year.

    A 2-digit year ``YY`` means 20YY. A 1-digit year ``Y`` means the smallest year >= ``reference.year``
    ending in ``Y`` (``reference`` defaults to today, UTC), which is how CME codes are read on the day
    they trade. Raises ``UnknownInstrumentError`` for an unknown root, a month the root does not list, or
    anything that is not ROOT + month letter + 1-2 digit year.
    """
    match = _CODE_RE.match(symbol) if isinstance(symbol, str) else None
    if match is None:
        raise UnknownInstrumentError(
            f"{symbol!r} is not a futures contract code (expected ROOT + month letter + 1 or 2 digit year, "
            "e.g. ESZ6 or WINZ26)"
        )
    root, month_code, digits = match["root"], match["month"], match["year"]
    spec = _registry().get(root)
    if spec is None:
        raise UnknownInstrumentError(
            f"{symbol}: unknown contract root {root!r}; known roots: {', '.join(known_roots())}"
        )
    if month_code not in spec.month_codes:
        raise UnknownInstrumentError(
            f"{symbol}: month code {month_code} is not listed for {root} (listed: {spec.month_codes})"
        )
    if len(digits) == 2:
        year = 2000 + int(digits)
    else:
        ref_year = (reference or datetime.now(UTC).date()).year
        year = ref_year - ref_year % 10 + int(digits)
        if year < ref_year:
            year += 10
    return ContractCode(
        root=root, month_code=month_code, month=MONTH_CODES.index(month_code) + 1, year=year, symbol=symbol
    )


def spec_for_symbol(symbol: str) -> ContractSpec:
    """The spec of a contract code (``ESZ6``) or of a bare root naming a continuous series (``ES``)."""
    if symbol in _registry():
        return spec_for(symbol)
    return spec_for(parse_contract_code(symbol).root)


def _parse_instrument_id(instrument_id: str | InstrumentId) -> InstrumentId:
    if isinstance(instrument_id, InstrumentId):
        return instrument_id
    try:
        return InstrumentId.from_str(instrument_id)
    except (ValueError, TypeError) as exc:
        raise UnknownInstrumentError(
            f"{instrument_id!r} is not an instrument id (expected SYMBOL.VENUE, e.g. ESZ6.CME)"
        ) from exc


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def futures_contract(
    instrument_id: str | InstrumentId, reference: date | None = None, ts_init: int = 0
) -> FuturesContract:
    """The Nautilus ``FuturesContract`` for ``ESZ6.CME`` / ``WINZ26.B3``, or a continuous ``ES.CME``.

    Fees are zero on the instrument on purpose: ``ContractFeeModel`` charges them per contract, and a
    non-zero ``taker_fee`` would be charged on top by ``MakerTakerFeeModel``. ``activation_ns`` is the first
    day of the month ``listing_months`` before the last trading date (an approximation of the listing
    date: Nautilus rejects orders before it). ``expiration_ns`` is the instant trading stops on the last
    trading date, after which Nautilus rejects orders and closes open positions.
    """
    iid = _parse_instrument_id(instrument_id)
    symbol = iid.symbol.value
    if symbol in _registry():
        # A bare root (``ES.CME``) is a continuous series: a back-adjusted or proxy history spanning many
        # expiries, for research on years of daily data. It never expires, so nothing is force-closed.
        spec = spec_for(symbol)
        activation_ns, expiration_ns = 0, CONTINUOUS_EXPIRATION_NS
    else:
        code = parse_contract_code(symbol, reference)
        spec = spec_for(code.root)
        last_trade = spec.last_trade_date(code.year, code.month)
        activation = _months_before(last_trade, spec.listing_months)
        activation_ns = local_time_ns(activation, time(0, 0), spec.session.timezone)
        expiration_ns = spec.expiration_ns(code.year, code.month)
    if iid.venue.value != spec.venue:
        raise UnknownInstrumentError(
            f"{iid}: {spec.root} trades on venue {spec.venue}, not {iid.venue.value} "
            f"(use {symbol}.{spec.venue})"
        )
    precision = spec.price_precision
    return FuturesContract(
        instrument_id=iid,
        raw_symbol=Symbol(symbol),
        asset_class=spec.asset_class,
        currency=Currency.from_str(spec.currency),
        price_precision=precision,
        price_increment=Price.from_str(f"{spec.tick_size:.{precision}f}"),
        multiplier=Quantity.from_str(plain(spec.multiplier)),
        lot_size=Quantity.from_int(1),
        underlying=spec.underlying,
        activation_ns=activation_ns,
        expiration_ns=expiration_ns,
        ts_event=ts_init,
        ts_init=ts_init,
        margin_init=spec.margin_init,
        margin_maint=spec.margin_maint,
        maker_fee=Decimal(0),
        taker_fee=Decimal(0),
        exchange=spec.exchange,
    )
