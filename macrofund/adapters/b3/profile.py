"""The B3 EntryPoint FIX 4.4 venue profile: which identification fields go on which message.

What is verified against B3's published material and what is an assumption is tabled in
``docs/b3.md``; every tag number and value that is an assumption is a config field, so a session that
B3 certification finds different is fixed in config, not code.

Wire layout (body order after the ids): Parties (453: entering firm 7, entering trader 36, sender
location 54; PartyIDSource 447=D) and Account (1) lead; the instrument block (55 / 48 + 22 / 207);
the order terms; then Memo (5149) and the self-trade prevention instruction trail.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Literal

from nautilus_trader.model.enums import OrderType, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from pydantic import Field as PydanticField
from pydantic import model_validator

from macrofund.adapters.b3.di1 import DI1PriceConvention, di1_maturity
from macrofund.adapters.b3.symbology import B3Symbology
from macrofund.adapters.fix.translate import (
    IDENTITY,
    PriceConvention,
    ProfileFields,
    check_order_supported,
    expire_fields,
)
from macrofund.config.base import FrozenModel

__all__ = ["B3EntryPointProfile", "B3PartyRole", "SelfTradePrevention"]

Field = tuple[int, str]


class B3PartyRole(int, Enum):
    """PartyRole (452) values of the Parties group on B3 order messages (assumed; see docs/b3.md)."""

    ENTERING_FIRM = 7
    ENTERING_TRADER = 36
    SENDER_LOCATION = 54


class SelfTradePrevention(StrEnum):
    """Self-trade prevention instruction (value on the wire); ``none`` sends no field."""

    NONE = "none"
    CANCEL_AGGRESSOR = "1"
    CANCEL_RESTING = "2"
    CANCEL_BOTH = "3"


OrderTypeName = Literal["market", "limit", "stop", "stop_limit"]
TifName = Literal["day", "gtc", "ioc", "fok", "gtd"]

_ORDER_MESSAGES = ("D", "F", "G", "q")  # Parties on every order-entry message
_TERMS_MESSAGES = ("D", "G")  # Account, memo and STP travel with the order terms


class B3EntryPointProfile(FrozenModel):
    """Config of one B3 EntryPoint order-entry session's application fields.

    ``entering_firm`` is the broker (participant) code B3 assigned; ``entering_trader`` the trader id
    registered with the broker; ``sender_location`` the location id B3 requires for order origin.
    """

    account: str | None = None
    entering_firm: str | None = None
    entering_trader: str | None = None
    sender_location: str | None = None
    party_id_source: str = "D"
    memo: str | None = PydanticField(default=None, max_length=50)
    memo_tag: int = 5149
    self_trade_prevention: SelfTradePrevention = SelfTradePrevention.NONE
    self_trade_prevention_tag: int = 35004
    symbology: B3Symbology = B3Symbology()
    order_types: tuple[OrderTypeName, ...] = ("market", "limit", "stop", "stop_limit")
    time_in_force: tuple[TifName, ...] = ("day", "gtc", "ioc", "fok", "gtd")
    gtd_expiry: Literal["date", "time", "both"] = "date"
    timezone: str = "America/Sao_Paulo"

    @model_validator(mode="after")
    def _consistent(self) -> B3EntryPointProfile:
        for name in ("account", "entering_firm", "entering_trader", "sender_location", "memo"):
            value = getattr(self, name)
            if value is not None and (not value.strip() or "\x01" in value):
                raise ValueError(f"{name}: {value!r} is not a valid FIX field value (empty or contains SOH)")
        if not self.order_types or not self.time_in_force:
            raise ValueError("order_types and time_in_force must each list at least one value")
        for tag_name in ("memo_tag", "self_trade_prevention_tag"):
            if getattr(self, tag_name) <= 0:
                raise ValueError(f"{tag_name} must be a positive FIX tag number")
        return self

    # -- FixVenueProfile ------------------------------------------------------------------------------

    @property
    def venue_timezone(self) -> str:
        return self.timezone

    def parties(self) -> tuple[Field, ...]:
        """The Parties repeating group: NoPartyIDs (453), then 448/447/452 per party, in role order."""
        members = [
            (value, role)
            for value, role in (
                (self.entering_firm, B3PartyRole.ENTERING_FIRM),
                (self.entering_trader, B3PartyRole.ENTERING_TRADER),
                (self.sender_location, B3PartyRole.SENDER_LOCATION),
            )
            if value is not None
        ]
        if not members:
            return ()
        fields: list[Field] = [(453, str(len(members)))]
        for value, role in members:
            fields += [(448, value), (447, self.party_id_source), (452, str(role.value))]
        return tuple(fields)

    def fields_for(self, msg_type: str) -> ProfileFields:
        leading: list[Field] = list(self.parties()) if msg_type in _ORDER_MESSAGES else []
        trailing: list[Field] = []
        if msg_type in _TERMS_MESSAGES:
            if self.account is not None:
                leading.append((1, self.account))
            if self.memo is not None:
                trailing.append((self.memo_tag, self.memo))
            if self.self_trade_prevention != SelfTradePrevention.NONE:
                trailing.append((self.self_trade_prevention_tag, self.self_trade_prevention.value))
        return ProfileFields(leading=tuple(leading), trailing=tuple(trailing))

    def instrument_fields(self, instrument_id: InstrumentId) -> tuple[Field, ...]:
        return self.symbology.instrument_fields(instrument_id)

    def price_convention(self, instrument_id: InstrumentId) -> PriceConvention:
        symbol = instrument_id.symbol.value
        if symbol.startswith("DI1") and instrument_id.venue.value == "B3":
            from macrofund.venues.contracts import parse_contract_code

            code = parse_contract_code(symbol)
            return DI1PriceConvention(di1_maturity(code.year, code.month))
        return IDENTITY

    def check_supported(self, order_type: OrderType, time_in_force: TimeInForce) -> None:
        check_order_supported("B3", self.order_types, self.time_in_force, order_type, time_in_force)

    def expire_fields(self, expire_time_ns: int) -> tuple[Field, ...]:
        return expire_fields(expire_time_ns, self.timezone, self.gtd_expiry)
