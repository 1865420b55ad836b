"""The matching engine of the local venue: validates, accepts, matches and reports, in wire terms.

No sockets here: every request method takes the client's SenderCompID and a parsed request and
returns ``Outbound`` messages (client, 35=8/9/r) for the server to send. Reference quotes arrive
through ``on_quote``; resting orders fill against them.

Matching rules (wire prices; DI1 is a rate, and its book behaves like any other in rate terms):

- MARKET: fills on arrival against the reference (``TouchPricing`` at the bid/ask, or the backtest's
  Almgren-Chriss pricing over at most two ticks).
- LIMIT: marketable on arrival (buy limit >= ask, sell limit <= bid) -> priced as a market order
  capped by the limit (if the model price is through the limit the order rests instead, as in the
  backtest); otherwise it rests and fills AT ITS LIMIT when a later quote crosses it (ask <= limit
  for a buy, bid >= limit for a sell).
- STOP / STOP_LIMIT: trigger when the ask reaches the stop (buy) or the bid falls to it (sell), then
  trade as MARKET / LIMIT. No 150=L is sent (FIX 4.4 has none): the fill is the report.
- IOC / FOK: what does not fill on arrival is canceled (150=4). Every aggressive fill is for the
  whole size, so FOK and IOC behave alike here.
- DAY orders expire (150=C) at the close of the instrument's trading session they were entered in (or
  the next one); GTD orders at ExpireTime (126) or the end of the venue-local ExpireDate (432).
  ``expire_due`` is polled by the server; the reference prices themselves ignore sessions.
- ``partial_fill_qty`` splits every fill into reports of at most that many lots, and a resting order
  fills at most that many lots per reference quote.

OrdRejReason (103) on 150=8: 1 unknown symbol, 6 duplicate order, 11 unsupported order
characteristic, 13 incorrect quantity, 99 other (price). CxlRejReason (102) on 35=9: 0 too late,
1 unknown order, 6 duplicate ClOrdID, 99 other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from time import time_ns
from zoneinfo import ZoneInfo

from nautilus_trader.model.enums import OrderType, TimeInForce

from macrofund.adapters.b3.symbology import B3Symbology
from macrofund.adapters.cme.symbology import CmeSymbology
from macrofund.adapters.exchange_sim.config import ExchangeSimConfig, SimInstrumentConfig
from macrofund.adapters.exchange_sim.messages import (
    CancelRequest,
    InstrumentRef,
    MassCancelRequest,
    NewOrderRequest,
    ReplaceRequest,
    StatusRequest,
    cancel_reject,
    execution_report,
    mass_cancel_report,
    rejected_order_report,
)
from macrofund.adapters.exchange_sim.orders import VenueOrder
from macrofund.adapters.exchange_sim.pricing import AlmgrenChrissPricing, Level, Pricing, TouchPricing
from macrofund.adapters.exchange_sim.state import VenueState, VenueStateFile
from macrofund.adapters.fix.message import FixFieldError, FixMessage
from macrofund.adapters.fix.translate import (
    FixTranslationError,
    check_order_supported,
    local_date,
    parse_utc_timestamp,
    plain,
)
from macrofund.venues.contracts import ContractSpec, parse_contract_code, spec_for_symbol

__all__ = ["ExchangeSimVenue", "Outbound", "VenueInstrument"]

Outbound = tuple[str, FixMessage]  # (client SenderCompID, message)

_ORD_TYPES = {
    "1": OrderType.MARKET,
    "2": OrderType.LIMIT,
    "3": OrderType.STOP_MARKET,
    "4": OrderType.STOP_LIMIT,
}
_TIFS = {
    "0": TimeInForce.DAY,
    "1": TimeInForce.GTC,
    "3": TimeInForce.IOC,
    "4": TimeInForce.FOK,
    "6": TimeInForce.GTD,
}
_STATUS_NAMES = {
    "0": "new",
    "1": "partially filled",
    "2": "filled",
    "4": "canceled",
    "8": "rejected",
    "C": "expired",
}
_LIMITS = ("2", "4")
_STOPS = ("3", "4")


class _Rejection(Exception):
    """A request the venue refuses: ``text`` for tag 58, ``reason`` for 103 / 102."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(text)
        self.text = text
        self.reason = reason


@dataclass
class VenueInstrument:
    """One tradable contract: its spec, the wire tick, limits, pricing and the current reference quote."""

    instrument_id: str
    symbol: str
    spec: ContractSpec
    year: int
    month: int
    max_qty: Decimal
    pricing: Pricing
    bid: Decimal = Decimal(0)
    ask: Decimal = Decimal(0)
    _tick_date: date | None = None
    _tick: Decimal = Decimal(0)

    def tick(self, ts_ns: int) -> Decimal:
        """The venue's quote tick on the trade date of ``ts_ns`` (DI1: the rate tick of that date)."""
        day = local_date(ts_ns, self.spec.session.timezone)
        if day != self._tick_date:
            self._tick = self.spec.quote_tick(day, self.year, self.month)
            self._tick_date = day
        return self._tick


class ExchangeSimVenue:
    """Orders of every session of one venue, matched against reference quotes; state saved on change."""

    def __init__(
        self,
        config: ExchangeSimConfig,
        state_file: VenueStateFile | None = None,
        clock: Callable[[], int] = time_ns,
    ) -> None:
        self.config = config
        self._clock = clock
        self._state_file = state_file
        self._state: VenueState = state_file.load() if state_file is not None else VenueState()
        self._exec_prefix = f"{config.comp_id}-{clock() // 1_000_000:x}-"
        self._chunk = config.partial_fill_qty
        self.fills = 0
        self.instruments: dict[str, VenueInstrument] = {
            item.instrument_id: self._instrument(item) for item in config.instruments
        }
        self._symbology: B3Symbology | CmeSymbology = (
            config.b3_symbology if config.venue == "b3" else config.cme_symbology
        )
        self._orders: dict[str, VenueOrder] = {}
        self._by_cl: dict[tuple[str, str], VenueOrder] = {}
        for order in self._state.orders:
            self._remember(order)
        if state_file is not None:
            self.close()  # start from a compact snapshot: the journal only grows from here

    # ------------------------------------------------------------------ setup and queries

    def _instrument(self, item: SimInstrumentConfig) -> VenueInstrument:
        symbol = item.instrument_id.rsplit(".", 1)[0]
        code = parse_contract_code(symbol)
        fill_model = self.config.fill_model
        pricing: Pricing = (
            AlmgrenChrissPricing(fill_model.params_for(item.instrument_id), fill_model)
            if fill_model.kind == "almgren_chriss"
            else TouchPricing()
        )
        inst = VenueInstrument(
            item.instrument_id,
            symbol,
            spec_for_symbol(symbol),
            code.year,
            code.month,
            Decimal(item.max_qty),
            pricing,
        )
        tick = inst.tick(self._clock())
        mid = self._state.reference.get(item.instrument_id, item.start_price)
        inst.bid = (mid / tick).to_integral_value() * tick
        inst.ask = inst.bid + tick * item.spread_ticks
        return inst

    @property
    def orders(self) -> list[VenueOrder]:
        """Every order the venue holds (working and finished), oldest first."""
        return list(self._orders.values())

    @property
    def working_orders(self) -> list[VenueOrder]:
        return [o for o in self._orders.values() if o.is_working]

    def _remember(self, order: VenueOrder) -> None:
        self._orders[order.order_id] = order
        for cl in order.cl_ord_ids or [order.cl_ord_id]:
            self._by_cl[(order.client, cl)] = order

    def _exec_id(self) -> str:
        self._state.exec_seq += 1
        return f"{self._exec_prefix}{self._state.exec_seq}"

    def _save(self, touched: list[VenueOrder] | tuple[VenueOrder, ...] = ()) -> None:
        """Journal the orders a request changed and the id counters (before the reports go out)."""
        if self._state_file is not None:
            self._state_file.append(self._state, touched)

    def save_reference(self) -> None:
        """Journal the current reference mids (the server calls this about once a second)."""
        if self._state_file is not None:
            self._state.reference = {k: (i.bid + i.ask) / 2 for k, i in self.instruments.items()}
            self._state_file.append(self._state, (), reference=True)

    def close(self) -> None:
        """Compact the journal into one snapshot (clean stop)."""
        if self._state_file is not None:
            self._state.orders = list(self._orders.values())
            self._state.reference = {k: (i.bid + i.ask) / 2 for k, i in self.instruments.items()}
            self._state_file.compact(self._state)

    def _resolve(self, ref: InstrumentRef) -> VenueInstrument:
        try:
            if isinstance(self._symbology, CmeSymbology):
                iid = self._symbology.instrument_id(ref.symbol, ref.security_id, ref.maturity)
            else:
                iid = self._symbology.instrument_id(ref.symbol, ref.security_id)
            inst = self.instruments.get(str(iid))
        except ValueError:
            inst = None
        if inst is None:
            raise _Rejection(
                f"unknown symbol 55={ref.symbol or ''}"
                + (f" 48={ref.security_id}" if ref.security_id else "")
                + f" (this {self.config.venue.upper()} sim lists: "
                + ", ".join(i.symbol for i in self.instruments.values())
                + ")",
                "1",
            )
        return inst

    def _check_terms(self, inst: VenueInstrument, req: NewOrderRequest, ts_ns: int) -> None:
        order_type, tif = _ORD_TYPES.get(req.ord_type), _TIFS.get(req.tif)
        if order_type is None:
            raise _Rejection(f"OrdType 40={req.ord_type} is not supported (1, 2, 3, 4)", "11")
        if tif is None:
            raise _Rejection(f"TimeInForce 59={req.tif} is not supported (0, 1, 3, 4, 6)", "11")
        try:
            check_order_supported(
                self.config.venue.upper(), self.config.order_types, self.config.time_in_force, order_type, tif
            )
        except FixTranslationError as exc:
            raise _Rejection(str(exc), "11") from None
        if req.qty <= 0 or req.qty != req.qty.to_integral_value():
            raise _Rejection(f"OrderQty 38={plain(req.qty)} is not a positive whole number of lots", "13")
        if req.qty > inst.max_qty:
            raise _Rejection(
                f"OrderQty 38={plain(req.qty)} exceeds the maximum {plain(inst.max_qty)} for {inst.symbol}",
                "13",
            )
        tick = inst.tick(ts_ns)
        for tag, value, needed in (
            (44, req.price, req.ord_type in _LIMITS),
            (99, req.stop_px, req.ord_type in _STOPS),
        ):
            if value is None:
                if needed:
                    raise _Rejection(f"OrdType 40={req.ord_type} needs tag {tag}", "99")
                continue
            if value <= 0:
                raise _Rejection(f"tag {tag}={plain(value)} must be positive", "99")
            if value % tick != 0:
                raise _Rejection(
                    f"tag {tag}={plain(value)} is not on the {plain(tick)} tick of {inst.symbol}", "99"
                )

    def _expiry(self, inst: VenueInstrument, req: NewOrderRequest, ts_ns: int) -> int | None:
        """When the order expires: DAY at the instrument's session close, GTD at 126 or the end of 432."""
        if req.tif == "0":
            return inst.spec.session.next_close(ts_ns)
        if req.tif != "6":
            return None
        try:
            if req.expire_time is not None:
                expire_ns = parse_utc_timestamp(req.expire_time, 126)
            elif req.expire_date is not None:
                day = datetime.strptime(req.expire_date, "%Y%m%d").date() + timedelta(days=1)
                zone = ZoneInfo(inst.spec.session.timezone)
                expire_ns = int(datetime.combine(day, time(0, 0), zone).timestamp()) * 1_000_000_000
            else:
                raise _Rejection("a GTD order needs ExpireTime (126) or ExpireDate (432)", "99")
        except (FixFieldError, ValueError):
            raise _Rejection(
                f"GTD expiry 126={req.expire_time or ''} 432={req.expire_date or ''} is not a valid "
                "time or date",
                "99",
            ) from None
        if expire_ns <= ts_ns:
            raise _Rejection("GTD expiry is in the past", "99")
        return expire_ns

    def expire_due(self) -> list[Outbound]:
        """150=C for every working order whose DAY session closed or whose GTD expiry passed."""
        ts = self._clock()
        due = [
            o for o in self._orders.values() if o.is_working and o.expire_ns is not None and o.expire_ns <= ts
        ]
        out: list[Outbound] = []
        for order in due:
            order.status = "C"
            text = "DAY order expired at the session close" if order.tif == "0" else "GTD order expired"
            out.append((order.client, execution_report(order, self._exec_id(), "C", ts, text=text)))
        if due:
            self._save(due)
        return out

    # ------------------------------------------------------------------ requests

    def new_order(self, client: str, req: NewOrderRequest) -> list[Outbound]:
        """A NewOrderSingle: 150=0 (+ fills) or 150=8 with the reason in 58."""
        ts = self._clock()
        try:
            if (client, req.cl_ord_id) in self._by_cl:
                raise _Rejection(f"duplicate ClOrdID 11={req.cl_ord_id}", "6")
            inst = self._resolve(req.instrument)
            self._check_terms(inst, req, ts)
            expire_ns = self._expiry(inst, req, ts)
        except _Rejection as rejection:
            report = rejected_order_report(req, self._exec_id(), ts, rejection.text, rejection.reason)
            self._save()  # the ExecID sequence moved
            return [(client, report)]
        order = VenueOrder(
            order_id=f"{self.config.comp_id}-{self._state.next_order}",
            client=client,
            cl_ord_id=req.cl_ord_id,
            instrument_id=inst.instrument_id,
            symbol=req.instrument.symbol or inst.symbol,
            side=req.side,
            ord_type=req.ord_type,
            tif=req.tif,
            qty=req.qty,
            price=req.price if req.ord_type in _LIMITS else None,
            stop_px=req.stop_px if req.ord_type in _STOPS else None,
            account=req.account,
            cl_ord_ids=[req.cl_ord_id],
            ts_created_ns=ts,
            expire_ns=expire_ns,
        )
        self._state.next_order += 1
        self._remember(order)
        out: list[Outbound] = [(client, execution_report(order, self._exec_id(), "0", ts))]
        out += self._match(order, inst, ts, arrival=True)
        self._save((order,))
        return out

    def _find(self, client: str, cl_ord_id: str | None, order_id: str | None) -> VenueOrder | None:
        if cl_ord_id is not None and (client, cl_ord_id) in self._by_cl:
            return self._by_cl[(client, cl_ord_id)]
        if order_id is not None:
            order = self._orders.get(order_id)
            if order is not None and order.client == client:
                return order
        return None

    def _amendable(self, client: str, cl_ord_id: str, orig: str | None, order_id: str | None) -> VenueOrder:
        order = self._find(client, orig, order_id)
        if order is None:
            raise _Rejection(f"unknown order 41={orig or ''} 37={order_id or ''}", "1")
        if not order.is_working:
            raise _Rejection(
                f"order {order.order_id} is already {_STATUS_NAMES.get(order.status, order.status)}", "0"
            )
        if (client, cl_ord_id) in self._by_cl:
            raise _Rejection(f"duplicate ClOrdID 11={cl_ord_id}", "6")
        return order

    def _rename(self, order: VenueOrder, cl_ord_id: str) -> None:
        order.orig_cl_ord_id = order.cl_ord_id
        order.cl_ord_id = cl_ord_id
        order.cl_ord_ids.append(cl_ord_id)
        self._by_cl[(order.client, cl_ord_id)] = order

    def cancel(self, client: str, req: CancelRequest) -> list[Outbound]:
        """An OrderCancelRequest: 150=4, or 35=9 (434=1) saying why not."""
        ts = self._clock()
        try:
            order = self._amendable(client, req.cl_ord_id, req.orig_cl_ord_id, req.order_id)
        except _Rejection as rejection:
            found = self._find(client, req.orig_cl_ord_id, req.order_id)
            return [
                (
                    client,
                    cancel_reject(
                        req.cl_ord_id, req.orig_cl_ord_id, found, "1", rejection.reason, rejection.text, ts
                    ),
                )
            ]
        self._rename(order, req.cl_ord_id)
        order.status = "4"
        out = [(client, execution_report(order, self._exec_id(), "4", ts))]
        self._save((order,))
        return out

    def replace(self, client: str, req: ReplaceRequest) -> list[Outbound]:
        """An OrderCancelReplaceRequest: 150=5 (+ fills if the new terms cross), or 35=9 (434=2)."""
        ts = self._clock()
        new = req.order
        try:
            order = self._amendable(client, new.cl_ord_id, req.orig_cl_ord_id, req.order_id)
            inst = self._resolve(new.instrument)
            if inst.instrument_id != order.instrument_id or new.side != order.side:
                raise _Rejection("a replace cannot change the instrument or the side", "99")
            self._check_terms(inst, new, ts)
            expire_ns = (
                self._expiry(inst, new, ts) if new.tif != order.tif or new.tif == "6" else order.expire_ns
            )
            if new.qty <= order.cum_qty:
                raise _Rejection(
                    f"OrderQty 38={plain(new.qty)} is not above the filled {plain(order.cum_qty)}", "99"
                )
        except _Rejection as rejection:
            found = self._find(client, req.orig_cl_ord_id, req.order_id)
            return [
                (
                    client,
                    cancel_reject(
                        new.cl_ord_id, req.orig_cl_ord_id, found, "2", rejection.reason, rejection.text, ts
                    ),
                )
            ]
        self._rename(order, new.cl_ord_id)
        order.qty, order.ord_type, order.tif, order.expire_ns = new.qty, new.ord_type, new.tif, expire_ns
        order.price = new.price if new.ord_type in _LIMITS else None
        order.stop_px = new.stop_px if new.ord_type in _STOPS else None
        order.triggered = False
        out: list[Outbound] = [(client, execution_report(order, self._exec_id(), "5", ts))]
        out += self._match(order, inst, ts, arrival=True)
        self._save((order,))
        return out

    def status(self, client: str, req: StatusRequest) -> list[Outbound]:
        """An OrderStatusRequest: 150=I with the order's current state (39=8 and 58 if unknown)."""
        ts = self._clock()
        order = self._find(client, req.cl_ord_id, req.order_id)
        if order is None:
            unknown = VenueOrder(
                order_id="NONE",
                client=client,
                cl_ord_id=req.cl_ord_id or "NONE",
                instrument_id="",
                symbol=req.instrument.symbol or "",
                side=req.side or "1",
                ord_type="2",
                tif="0",
                qty=Decimal(0),
                price=None,
                stop_px=None,
                status="8",
            )
            text = f"unknown order 11={req.cl_ord_id or ''} 37={req.order_id or ''}"
            return [
                (
                    client,
                    execution_report(
                        unknown, self._exec_id(), "I", ts, text=text, status_req_id=req.status_req_id
                    ),
                )
            ]
        return [(client, execution_report(order, self._exec_id(), "I", ts, status_req_id=req.status_req_id))]

    def mass_cancel(self, client: str, req: MassCancelRequest) -> list[Outbound]:
        """An OrderMassCancelRequest: 35=r (531=530 on success, 0 rejected), then 150=4 per order."""
        ts = self._clock()
        report_id = f"{self.config.comp_id}-MC-{self._state.exec_seq + 1}"
        inst: VenueInstrument | None = None
        try:
            if req.request_type not in ("1", "7"):
                raise _Rejection(
                    f"MassCancelRequestType 530={req.request_type} is not supported (1 or 7)", "0"
                )
            if req.request_type == "1":
                inst = self._resolve(req.instrument)
        except _Rejection as rejection:
            return [(client, mass_cancel_report(req, report_id, "0", 0, ts, rejection.text))]
        targets = [
            o
            for o in self._orders.values()
            if o.client == client
            and o.is_working
            and (inst is None or o.instrument_id == inst.instrument_id)
            and (req.side is None or o.side == req.side)
        ]
        self._state.exec_seq += 1  # reserves report_id's number
        out: list[Outbound] = [
            (client, mass_cancel_report(req, report_id, req.request_type, len(targets), ts, None))
        ]
        for order in targets:
            order.status = "4"
            text = f"mass cancel 11={req.cl_ord_id}"
            out.append((client, execution_report(order, self._exec_id(), "4", ts, text=text)))
        self._save(targets)
        return out

    # ------------------------------------------------------------------ matching

    def on_quote(self, instrument_id: str, bid: Decimal, ask: Decimal) -> list[Outbound]:
        """A new reference bid/ask: triggers stops and fills resting orders it crosses."""
        inst = self.instruments[instrument_id]
        inst.bid, inst.ask = bid, ask
        ts = self._clock()
        out: list[Outbound] = []
        touched: list[VenueOrder] = []
        for order in [o for o in self._orders.values() if o.instrument_id == instrument_id and o.is_working]:
            reports = self._match(order, inst, ts, arrival=False)
            if reports:
                out += reports
                touched.append(order)
        if touched:
            self._save(touched)
        return out

    def _match(self, order: VenueOrder, inst: VenueInstrument, ts: int, arrival: bool) -> list[Outbound]:
        if not order.is_working:
            return []
        buy = order.is_buy
        aggressive = arrival
        if order.ord_type in _STOPS and not order.triggered:
            assert order.stop_px is not None
            if not (inst.ask >= order.stop_px if buy else inst.bid <= order.stop_px):
                return self._expire_remainder(order, ts) if arrival else []
            order.triggered = True
            aggressive = True
        limit = order.price if order.ord_type in _LIMITS else None
        out: list[Outbound] = []
        marketable = limit is None or (inst.ask <= limit if buy else inst.bid >= limit)
        if marketable:
            lots = int(order.qty - order.cum_qty)
            if aggressive:
                levels = inst.pricing.levels(inst.bid, inst.ask, inst.tick(ts), lots, buy, limit, ts)
                if levels is not None:
                    out += self._fill(order, levels, ts, passive_chunk=False)
            elif limit is not None:
                out += self._fill(order, [(limit, lots)], ts, passive_chunk=True)
        if arrival:
            out += self._expire_remainder(order, ts)
        return out

    def _fill(self, order: VenueOrder, levels: list[Level], ts: int, passive_chunk: bool) -> list[Outbound]:
        out: list[Outbound] = []
        for price, lots in levels:
            remaining = lots
            while remaining > 0:
                size = min(remaining, self._chunk) if self._chunk else remaining
                order.book_fill(Decimal(size), price)
                self.fills += 1
                out.append(
                    (
                        order.client,
                        execution_report(
                            order, self._exec_id(), "F", ts, last_qty=Decimal(size), last_px=price
                        ),
                    )
                )
                remaining -= size
                if passive_chunk:
                    return out  # a resting order fills one chunk per reference quote
        return out

    def _expire_remainder(self, order: VenueOrder, ts: int) -> list[Outbound]:
        if not order.is_working or order.tif not in ("3", "4"):
            return []
        order.status = "4"
        text = f"{'IOC' if order.tif == '3' else 'FOK'}: unfilled quantity canceled"
        return [(order.client, execution_report(order, self._exec_id(), "4", ts, text=text))]
