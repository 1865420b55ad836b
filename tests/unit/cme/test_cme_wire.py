"""The CME gateway profile on the wire: audit-trail tags, symbology, Logon application id."""

from __future__ import annotations

import pandas as pd
import pytest
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId, StrategyId, TraderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order
from pydantic import ValidationError

from macrofund.adapters.cme.profile import CmeGatewayProfile, CmeTagNumbers
from macrofund.adapters.cme.symbology import CmeSymbology
from macrofund.adapters.fix.translate import (
    new_order_single,
    order_cancel_replace_request,
    order_cancel_request,
    order_mass_cancel_request,
    order_status_request,
)

TS = 1_796_155_200_000_000_000  # 2026-12-01T20:00:00Z, 14:00 in Chicago
STAMP = "20261201-20:00:00.000"
ES = InstrumentId.from_str("ESZ6.CME")

PROFILE = CmeGatewayProfile(operator_id="OPS-ALGO-7", location="US,IL", account="FUND01")
HEADER = [(50, "OPS-ALGO-7"), (142, "US,IL")]
ES_BLOCK = [(55, "ESZ6"), (207, "CME")]


def _order(kind: str, tif: TimeInForce = TimeInForce.DAY, side: OrderSide = OrderSide.SELL) -> Order:
    f = OrderFactory(TraderId("T-001"), StrategyId("S-001"), TestClock())
    qty, price, trigger = Quantity.from_int(2), Price.from_str("6012.25"), Price.from_str("6010.00")
    extra: dict[str, object] = {"time_in_force": tif}
    if tif == TimeInForce.GTD:
        extra["expire_time"] = pd.Timestamp("2026-12-04T22:00:00Z")  # 16:00 on the 4th in Chicago
    if kind == "market":
        return f.market(ES, side, qty, **extra)  # type: ignore[arg-type]
    if kind == "limit":
        return f.limit(ES, side, qty, price, **extra)  # type: ignore[arg-type]
    if kind == "stop":
        return f.stop_market(ES, side, qty, trigger, **extra)  # type: ignore[arg-type]
    return f.stop_limit(ES, side, qty, price, trigger, **extra)  # type: ignore[arg-type]


_TERMS = {
    "market": [(40, "1")],
    "limit": [(40, "2"), (44, "6012.25")],
    "stop": [(40, "3"), (99, "6010.00")],
    "stop_limit": [(40, "4"), (44, "6012.25"), (99, "6010.00")],
}
_TIF = {
    TimeInForce.DAY: [(59, "0")],
    TimeInForce.GTC: [(59, "1")],
    TimeInForce.IOC: [(59, "3")],
    TimeInForce.FOK: [(59, "4")],
    TimeInForce.GTD: [(59, "6"), (432, "20261204")],
}
_CASES = [
    (kind, tif)
    for kind in _TERMS
    for tif in _TIF
    if not (kind == "market" and tif in (TimeInForce.GTC, TimeInForce.GTD))
]


@pytest.mark.parametrize(("kind", "tif"), _CASES)
def test_new_order_single_carries_cme_audit_trail_tags(kind: str, tif: TimeInForce) -> None:
    order = _order(kind, tif)
    message = new_order_single(order, PROFILE, TS)
    assert message.fields == [
        *HEADER, (11, order.client_order_id.value), (1, "FUND01"), (21, "1"), *ES_BLOCK, (54, "2"),
        (60, STAMP), (38, "2"), *_TERMS[kind], *_TIF[tif], (582, "4"), (1028, "N"),
    ]  # fmt: skip


def test_cancel_replace_status_and_mass_cancel_tags() -> None:
    order = _order("limit")
    cancel = order_cancel_request(order, PROFILE, "CXL-9", TS)
    assert cancel.fields == [
        *HEADER, (41, order.client_order_id.value), (11, "CXL-9"), (1, "FUND01"), *ES_BLOCK, (54, "2"),
        (60, STAMP), (38, "2"), (1028, "N"),
    ]  # fmt: skip
    replace = order_cancel_replace_request(order, PROFILE, "RPL-9", TS, price=Price.from_str("6013.00"))
    assert replace.fields == [
        *HEADER, (41, order.client_order_id.value), (11, "RPL-9"), (1, "FUND01"), (21, "1"), *ES_BLOCK,
        (54, "2"), (60, STAMP), (38, "2"), (40, "2"), (44, "6013.00"), (59, "0"), (582, "4"), (1028, "N"),
    ]  # fmt: skip
    status = order_status_request(order, PROFILE)
    assert status.fields == [*HEADER, (11, order.client_order_id.value), *ES_BLOCK, (54, "2")]
    mass = order_mass_cancel_request(PROFILE, "MC-1", TS)
    assert mass.fields == [*HEADER, (11, "MC-1"), (530, "7"), (1, "FUND01"), (60, STAMP), (1028, "N")]


def test_manual_orders_and_custom_tag_numbers() -> None:
    profile = CmeGatewayProfile(
        operator_id="JSMITH",
        location="GB",
        manual_order=True,
        customer_type_indicator=2,
        customer_or_firm=1,
        order_capacity="P",
        handl_inst=None,
        tags=CmeTagNumbers(customer_type_indicator=9702),
    )
    order = _order("limit", side=OrderSide.BUY)
    message = new_order_single(order, profile, TS)
    assert message.fields[:3] == [(50, "JSMITH"), (142, "GB"), (11, order.client_order_id.value)]
    assert message.fields[-4:] == [(528, "P"), (9702, "2"), (204, "1"), (1028, "Y")]
    assert 21 not in message and 1 not in message


def test_logon_carries_application_identification() -> None:
    profile = PROFILE.model_copy(
        update={
            "application_system_name": "MF",
            "application_system_version": "2.1",
            "application_system_vendor": "Acme",
        }
    )
    assert profile.logon_fields() == ((1603, "MF"), (1604, "2.1"), (1605, "Acme"))


def test_root_maturity_symbology_and_overrides() -> None:
    symbology = CmeSymbology(
        style="root_maturity", security_ids={"ESZ6.CME": "ES-1234"}, symbols={"NQZ6.CME": "NQ Dec26"}
    )
    assert symbology.instrument_fields(ES) == (
        (55, "ES"), (167, "FUT"), (200, "202612"), (48, "ES-1234"), (22, "8"), (207, "CME"),
    )  # fmt: skip
    nq = InstrumentId.from_str("NQZ6.CME")
    assert symbology.instrument_fields(nq) == ((55, "NQ Dec26"), (207, "CME"))
    assert symbology.instrument_id("ES", maturity_month_year="202612") == ES
    assert symbology.instrument_id("anything", security_id="ES-1234") == ES
    assert symbology.instrument_id("NQ Dec26") == nq
    with pytest.raises(ValueError, match="tag 200"):
        symbology.instrument_id("ES", maturity_month_year="2026")


def test_order_through_a_root_maturity_gateway() -> None:
    profile = PROFILE.model_copy(
        update={"symbology": CmeSymbology(style="root_maturity", security_exchange=None)}
    )
    message = new_order_single(_order("limit"), profile, TS)
    assert [(t, v) for t, v in message.fields if t in (55, 167, 200, 207)] == [
        (55, "ES"),
        (167, "FUT"),
        (200, "202612"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"location": "Chicago"}, "location"),
        ({"location": "us,il"}, "location"),
        ({"operator_id": ""}, "operator_id"),
        ({"customer_type_indicator": 5}, "customer_type_indicator"),
        ({"handl_inst": "9"}, "handl_inst"),
        ({"time_in_force": ("gtx",)}, "time_in_force"),
    ],
)
def test_profile_validation_names_the_key(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"operator_id": "OPS", "location": "US,IL"}
    with pytest.raises(ValidationError, match=message):
        CmeGatewayProfile(**{**base, **kwargs})  # type: ignore[arg-type]


def test_operator_and_location_are_required() -> None:
    with pytest.raises(ValidationError, match="operator_id"):
        CmeGatewayProfile(location="US,IL")  # type: ignore[call-arg]


def test_symbology_refuses_other_venues() -> None:
    with pytest.raises(ValidationError, match="only CME instruments"):
        CmeSymbology(symbols={"WINZ26.B3": "WIN"})
