"""The paper venue: Nautilus's sandbox execution client, rebuilt around the backtest's models.

The stock ``SandboxExecutionClient`` (1.221) hard-codes ``FillModel()`` and ``MakerTakerFeeModel()`` and
offers no fee setter, so a paper run would price fills differently from its backtest. This subclass
builds its own ``SimulatedExchange`` from the importable fill and fee configs the backtest venue uses,
sets the account id the stock client never sets (1.221 crashes serialising mass-status reports
without it), and can seed a restarted venue with the balances a run had reached.

The venue's clock never runs behind the node's. The stock client sets it to each datum's ``ts_init``
after processing it and stamps commands with it, so in a session with any feed lag an order was
``OrderSubmitted`` and ``OrderAccepted`` up to milliseconds *before* the strategy created it (its
``OrderInitialized``, on the node's clock), and a late datum moved the venue back in time: an audit
trail whose times run backwards. Here a command moves the venue to the node's time when it arrives (as
at a real venue: it is received after it was sent), and a datum moves it to ``max(its ts_init, the
venue's time)`` *before* it is matched, the order a backtest engine keeps (clock first, then the data),
so fills carry the time of the datum that filled them.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.backtest.config import FeeModelFactory, FillModelFactory
from nautilus_trader.backtest.engine import SimulatedExchange
from nautilus_trader.backtest.execution_client import BacktestExecClient
from nautilus_trader.backtest.models import FeeModel, FillModel, LatencyModel
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus, TestClock
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.core.data import Data
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.enums import account_type_from_str, book_type_from_str, oms_type_from_str
from nautilus_trader.model.identifiers import AccountId, ClientId, Venue
from nautilus_trader.model.objects import Currency, Money
from nautilus_trader.portfolio.base import PortfolioFacade

from macrofund.adapters.sandbox.config import MacroSandboxConfig
from macrofund.venues.fees import ContractFeeModel


def account_id_for(venue: str) -> AccountId:
    """The paper account of ``venue``: the id the simulated exchange gives its single account."""
    return AccountId(f"{venue}-001")


class MacroSandboxExecutionClient(SandboxExecutionClient):
    """Sandbox execution client with the backtest's fill and fee models and a set account id.

    Commands are executed inline on the event loop (the sandbox has no latency model, #1677); market
    data reaches the exchange through the stock ``on_data`` subscription to ``data.*.<venue>.*``.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: MacroSandboxConfig,
        starting_balances: list[Money] | None = None,
    ) -> None:
        # The stock __init__ builds an exchange with hard-coded models and initialises its account on
        # the bus; we must not run it, so the live base class is initialised directly.
        venue = Venue(config.venue)
        oms_type = oms_type_from_str(config.oms_type)
        account_type = account_type_from_str(config.account_type)
        base_currency = Currency.from_str(config.base_currency) if config.base_currency else None
        self.test_clock = TestClock()
        LiveExecutionClient.__init__(
            self,
            loop=loop,
            client_id=ClientId(config.venue),
            venue=venue,
            oms_type=oms_type,
            account_type=account_type,
            base_currency=base_currency,
            instrument_provider=InstrumentProvider(),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=None,
        )
        self._set_account_id(account_id_for(config.venue))
        balances = starting_balances or [Money.from_str(b.replace("_", "")) for b in config.starting_balances]
        self.exchange = SimulatedExchange(
            venue=venue,
            oms_type=oms_type,
            account_type=account_type,
            starting_balances=balances,
            base_currency=base_currency,
            default_leverage=config.default_leverage,
            leverages=config.leverages or {},
            modules=[],
            portfolio=portfolio,
            msgbus=self._msgbus,
            cache=cache,
            clock=self.test_clock,
            fill_model=build_fill_model(config),
            fee_model=build_fee_model(config),
            latency_model=LatencyModel(0),
            book_type=book_type_from_str(config.book_type),
            frozen_account=config.frozen_account,
            bar_execution=config.bar_execution,
            trade_execution=config.trade_execution,
            reject_stop_orders=config.reject_stop_orders,
            support_gtd_orders=config.support_gtd_orders,
            support_contingent_orders=config.support_contingent_orders,
            use_position_ids=config.use_position_ids,
            use_random_ids=config.use_random_ids,
            use_reduce_only=config.use_reduce_only,
            use_message_queue=False,  # real time: a command is matched when it arrives
        )
        self._client = BacktestExecClient(
            exchange=self.exchange, msgbus=msgbus, cache=cache, clock=self.test_clock
        )
        self.exchange.register_client(self._client)
        self.exchange.initialize_account()

    def connect(self) -> None:
        """Connect as the stock sandbox does, and also let the venue's bars move its market.

        The stock client subscribes to ``data.*.<venue>.*`` only, which matches quote and trade topics
        (``data.quotes.CME.ESZ6``) but not bar topics (``data.bars.ESZ6.CME-1-MINUTE-LAST-EXTERNAL``),
        so ``bar_execution`` never saw a bar in paper. A backtest venue processes its bars; so does this.
        """
        super().connect()
        self._msgbus.subscribe(f"data.bars.*.{self.venue}-*", handler=self.on_data)

    # -- the venue's time -----------------------------------------------------------------------------

    def _venue_time_at_least(self, ts_ns: int) -> int:
        """Move the venue's clock forward to ``ts_ns`` (never back); returns the venue's time."""
        venue_now = self.test_clock.timestamp_ns()
        if ts_ns > venue_now:
            self.test_clock.set_time(ts_ns)
            return ts_ns
        return venue_now

    def _receive(self) -> None:
        self._venue_time_at_least(self._clock.timestamp_ns())

    def submit_order(self, command):  # type: ignore[no-untyped-def]  # untyped in the base class
        self._receive()
        return super().submit_order(command)

    def submit_order_list(self, command):  # type: ignore[no-untyped-def]
        self._receive()
        return super().submit_order_list(command)

    def modify_order(self, command):  # type: ignore[no-untyped-def]
        self._receive()
        return super().modify_order(command)

    def cancel_order(self, command):  # type: ignore[no-untyped-def]
        self._receive()
        return super().cancel_order(command)

    def cancel_all_orders(self, command):  # type: ignore[no-untyped-def]
        self._receive()
        return super().cancel_all_orders(command)

    def on_data(self, data: Data) -> None:
        """Match ``data`` at ``max(its ts_init, the venue's time)``, with the clock set first.

        The stock method ends with ``exchange.process(data.ts_init)``, which sets the clock back to a
        late datum's time; the venue's time is restored right after (only then: this runs per datum).
        In between nothing is stamped: this venue has no simulation modules and no message queue, so
        ``process`` only sets the clock.
        """
        ts = self._venue_time_at_least(data.ts_init)
        super().on_data(data)
        if ts != data.ts_init:
            self.exchange.process(ts)

    @property
    def starting_balances(self) -> dict[str, Decimal]:
        """The balances the simulated account started this session with, by currency code."""
        return {m.currency.code: m.as_decimal() for m in self.exchange.starting_balances}


def build_fill_model(config: MacroSandboxConfig) -> FillModel:
    """The venue's fill model, through the same factory the backtest's importable config uses."""
    if config.fill_model is None:
        return FillModel()
    model: FillModel = FillModelFactory.create(config.fill_model)
    return model


def build_fee_model(config: MacroSandboxConfig) -> FeeModel:
    """The venue's per-contract fee model (``ContractFeeModel``), as in the backtest."""
    if config.fee_model is None:
        return ContractFeeModel()
    model: FeeModel = FeeModelFactory.create(config.fee_model)
    return model
