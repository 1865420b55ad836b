"""The CME profile: FIX 4.4 to an FCM's or ISV's gateway that carries CME's audit-trail tags.

CME retired iLink 2 (FIX) for new sessions; a fund reaches Globex through a broker's or vendor's FIX
4.4 gateway (e.g. Trading Technologies), which forwards CME's required order-origin fields. Which tag
numbers a given gateway uses for them differs (iLink 2 used 9702 for CTI and 204 for
CustomerOrFirm; FIX 4.4 has CustOrderCapacity 582), so every tag number is config with the FIX 4.4
standard as the default.

On every order message (D, F, G, H, q): SenderSubID (50) = operator id, SenderLocationID (142) =
location ("US,IL"), both moved into the header by the codec; ManualOrderIndicator (1028) on D, F, G, q.
On D and G: Account (1), HandlInst (21), customer type indicator (582 by default), optional
CustomerOrFirm / OrderCapacity. Logon carries the application identification (1603/1604/1605).
"""

from __future__ import annotations

import re
from typing import Literal

from nautilus_trader.model.enums import OrderType, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from pydantic import model_validator

from macrofund.adapters.cme.symbology import CmeSymbology
from macrofund.adapters.fix.translate import (
    IDENTITY,
    PriceConvention,
    ProfileFields,
    check_order_supported,
    expire_fields,
)
from macrofund.config.base import FrozenModel

__all__ = ["CmeGatewayProfile", "CmeTagNumbers"]

Field = tuple[int, str]
OrderTypeName = Literal["market", "limit", "stop", "stop_limit"]
TifName = Literal["day", "gtc", "ioc", "fok", "gtd"]

_LOCATION = re.compile(r"^[A-Z]{2}(,[A-Z0-9]{2,3})?$")
_ORDER_MESSAGES = ("D", "F", "G", "H", "q")
_MANUAL_FLAG_MESSAGES = ("D", "F", "G", "q")
_TERMS_MESSAGES = ("D", "G")


class CmeTagNumbers(FrozenModel):
    """Tag numbers of the audit-trail fields on this gateway (FIX 4.4 / CME defaults)."""

    manual_order_indicator: int = 1028
    customer_type_indicator: int = 582
    customer_or_firm: int = 204
    order_capacity: int = 528
    application_system_name: int = 1603
    application_system_version: int = 1604
    application_system_vendor: int = 1605


class CmeGatewayProfile(FrozenModel):
    """Config of one FCM/ISV gateway session's application fields.

    ``operator_id`` is the registered Tag 50 ID of the person or algorithm responsible for the order;
    ``location`` the ISO 3166 country and, for US/CA, state or province of that operator ("US,IL");
    ``manual_order`` is False for an automated engine (1028=N). ``customer_type_indicator`` is CME's
    CTI code: 1 member trading its own account, 2 clearing firm house account, 3 member for another
    member, 4 any other (a fund trading through an FCM: 4).
    """

    operator_id: str
    location: str
    account: str | None = None
    manual_order: bool = False
    customer_type_indicator: Literal[1, 2, 3, 4] = 4
    customer_or_firm: Literal[0, 1] | None = None
    order_capacity: str | None = None
    handl_inst: Literal["1", "2", "3"] | None = "1"
    application_system_name: str = "macrofund"
    application_system_version: str = "0.1"
    application_system_vendor: str = "macrofund"
    tags: CmeTagNumbers = CmeTagNumbers()
    symbology: CmeSymbology = CmeSymbology()
    order_types: tuple[OrderTypeName, ...] = ("market", "limit", "stop", "stop_limit")
    time_in_force: tuple[TifName, ...] = ("day", "gtc", "ioc", "fok", "gtd")
    gtd_expiry: Literal["date", "time", "both"] = "date"
    timezone: str = "America/Chicago"

    @model_validator(mode="after")
    def _consistent(self) -> CmeGatewayProfile:
        for name in ("operator_id", "account", "order_capacity", "application_system_name",
                     "application_system_version", "application_system_vendor"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and (not value.strip() or "\x01" in value):
                raise ValueError(f"{name}: {value!r} is not a valid FIX field value (empty or contains SOH)")
        if not _LOCATION.match(self.location):
            raise ValueError(
                f"location: {self.location!r} must be an ISO country code, for US/CA with the state: 'US,IL'"
            )
        if not self.order_types or not self.time_in_force:
            raise ValueError("order_types and time_in_force must each list at least one value")
        return self

    @property
    def venue_timezone(self) -> str:
        return self.timezone

    def logon_fields(self) -> tuple[Field, ...]:
        """Application identification the session adds to its Logon (35=A): 1603, 1604, 1605."""
        return (
            (self.tags.application_system_name, self.application_system_name),
            (self.tags.application_system_version, self.application_system_version),
            (self.tags.application_system_vendor, self.application_system_vendor),
        )

    def fields_for(self, msg_type: str) -> ProfileFields:
        if msg_type not in _ORDER_MESSAGES:
            return ProfileFields()
        header: tuple[Field, ...] = ((50, self.operator_id), (142, self.location))
        leading: list[Field] = []
        trailing: list[Field] = []
        if msg_type in _TERMS_MESSAGES:
            if self.account is not None:
                leading.append((1, self.account))
            if self.handl_inst is not None:
                leading.append((21, self.handl_inst))
            if self.order_capacity is not None:
                trailing.append((self.tags.order_capacity, self.order_capacity))
            trailing.append((self.tags.customer_type_indicator, str(self.customer_type_indicator)))
            if self.customer_or_firm is not None:
                trailing.append((self.tags.customer_or_firm, str(self.customer_or_firm)))
        elif msg_type in ("F", "q") and self.account is not None:
            leading.append((1, self.account))
        if msg_type in _MANUAL_FLAG_MESSAGES:
            trailing.append((self.tags.manual_order_indicator, "Y" if self.manual_order else "N"))
        return ProfileFields(header=header, leading=tuple(leading), trailing=tuple(trailing))

    def instrument_fields(self, instrument_id: InstrumentId) -> tuple[Field, ...]:
        return self.symbology.instrument_fields(instrument_id)

    def price_convention(self, instrument_id: InstrumentId) -> PriceConvention:
        return IDENTITY

    def check_supported(self, order_type: OrderType, time_in_force: TimeInForce) -> None:
        check_order_supported("CME", self.order_types, self.time_in_force, order_type, time_in_force)

    def expire_fields(self, expire_time_ns: int) -> tuple[Field, ...]:
        return expire_fields(expire_time_ns, self.timezone, self.gtd_expiry)
