"""The matching engine without sockets: matching rules, validation, isolation, and its state file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from macrofund.adapters.exchange_sim.config import default_config
from macrofund.adapters.exchange_sim.messages import (
    CancelRequest,
    InstrumentRef,
    MassCancelRequest,
    NewOrderRequest,
    ReplaceRequest,
    StatusRequest,
)
from macrofund.adapters.exchange_sim.state import VenueStateFile
from macrofund.adapters.exchange_sim.venue import ExchangeSimVenue, Outbound
from macrofund.errors import ConfigError

ES = InstrumentRef("ESZ9", None, None)
NOW = 1_900_000_000_000_000_000  # 2030-03-17


def venue(tmp_path: Path | None = None, **overrides: Any) -> ExchangeSimVenue:
    values: dict[str, Any] = {
        "sessions": [{"comp_id": "MF01"}, {"comp_id": "MF02"}],
        "instruments": [{"instrument_id": "ESZ9.CME", "start_price": "6000.00", "max_qty": 100}],
        "reference": {"source": "static"},
    }
    values.update(overrides)
    state = VenueStateFile(tmp_path / "orders.json") if tmp_path is not None else None
    return ExchangeSimVenue(default_config("cme", **values), state, clock=lambda: NOW)


def new(
    cl: str,
    qty: str = "1",
    ord_type: str = "2",
    price: str | None = "5990.00",
    side: str = "1",
    stop: str | None = None,
    tif: str = "0",
) -> NewOrderRequest:
    return NewOrderRequest(
        cl,
        ES,
        side,
        Decimal(qty),
        ord_type,
        Decimal(price) if price else None,
        Decimal(stop) if stop else None,
        tif,
        None,
    )


def kinds(out: list[Outbound]) -> list[tuple[str | None, ...]]:
    return [(m.msg_type, m.get(150), m.get(39)) for _, m in out]


def test_buy_stop_triggers_when_the_ask_reaches_it_and_fills_at_the_ask() -> None:
    v = venue()
    assert kinds(v.new_order("MF01", new("S1", ord_type="3", price=None, stop="6002.00"))) == [
        ("8", "0", "0")
    ]
    assert v.on_quote("ESZ9.CME", Decimal("6001.50"), Decimal("6001.75")) == []
    out = v.on_quote("ESZ9.CME", Decimal("6001.75"), Decimal("6002.00"))
    assert kinds(out) == [("8", "F", "2")]
    assert out[0][1].get(31) == "6002.00"


def test_stop_limit_triggers_then_rests_at_its_limit() -> None:
    v = venue()
    v.new_order("MF01", new("SL", ord_type="4", price="6002.00", stop="6002.00"))
    assert v.on_quote("ESZ9.CME", Decimal("6002.25"), Decimal("6002.50")) == []  # triggered, not marketable
    assert v.working_orders[0].triggered
    out = v.on_quote("ESZ9.CME", Decimal("6001.75"), Decimal("6002.00"))
    assert kinds(out) == [("8", "F", "2")] and out[0][1].get(31) == "6002.00"


def test_fok_limit_that_cannot_fill_is_canceled_not_rested() -> None:
    v = venue()
    out = v.new_order("MF01", new("F1", tif="4"))
    assert kinds(out) == [("8", "0", "0"), ("8", "4", "4")]
    assert v.working_orders == []


def test_one_session_cannot_see_or_cancel_another_sessions_orders() -> None:
    v = venue()
    v.new_order("MF01", new("A1"))
    out = v.cancel("MF02", CancelRequest("X1", "A1", None, "1"))
    assert kinds(out) == [("9", None, "8")] and out[0][1].get(102) == "1"
    status = v.status("MF02", StatusRequest("A1", None, None, ES, "1"))
    assert status[0][1].get(39) == "8" and "unknown order" in (status[0][1].get(58) or "")
    assert [m.get(533) for _, m in v.mass_cancel("MF02", MassCancelRequest("M", "7", ES, None))] == ["0"]
    assert len(v.working_orders) == 1


def test_mass_cancel_by_side_and_unsupported_request_type() -> None:
    v = venue()
    v.new_order("MF01", new("B1"))
    v.new_order("MF01", new("S1", side="2", price="6010.00"))
    out = v.mass_cancel("MF01", MassCancelRequest("M1", "1", ES, "2"))
    assert [(m.msg_type, m.get(11), m.get(150)) for _, m in out] == [("r", "M1", None), ("8", "S1", "4")]
    rejected = v.mass_cancel("MF01", MassCancelRequest("M2", "3", ES, None))
    assert [(m.get(531), m.get(532)) for _, m in rejected] == [("0", "0")]
    assert [o.cl_ord_id for o in v.working_orders] == ["B1"]


def test_replace_below_the_filled_quantity_is_refused_and_the_order_is_unchanged() -> None:
    v = venue(partial_fill_qty=1)
    v.new_order("MF01", new("P1", qty="3"))
    v.on_quote("ESZ9.CME", Decimal("5989.75"), Decimal("5990.00"))  # one lot fills per quote
    v.on_quote("ESZ9.CME", Decimal("5989.75"), Decimal("5990.00"))
    out = v.replace("MF01", ReplaceRequest("P1", None, new("P2", qty="2")))
    assert kinds(out) == [("9", None, "1")]
    assert "not above the filled 2" in (out[0][1].get(58) or "")
    assert v.working_orders[0].qty == 3 and v.working_orders[0].cl_ord_id == "P1"


def test_state_file_keeps_working_orders_and_counters_across_restarts(tmp_path: Path) -> None:
    first = venue(tmp_path)
    first.new_order("MF01", new("K1", qty="4"))
    exec_ids = {m.get(17) for _, m in first.new_order("MF01", new("K2", ord_type="1", price=None))}
    second = venue(tmp_path)
    (working,) = second.working_orders
    assert (working.cl_ord_id, working.qty, working.price, working.order_id) == (
        "K1",
        4,
        Decimal("5990.00"),
        "CME-1",
    )
    out = second.new_order("MF01", new("K3"))
    assert out[0][1].get(37) == "CME-3"
    assert out[0][1].get(17) not in exec_ids
    assert kinds(second.new_order("MF01", new("K2"))) == [("8", "8", "8")]  # ClOrdIDs are remembered too


def test_corrupt_state_file_is_one_line_config_error(tmp_path: Path) -> None:
    lines = [{"version": 1, "counters": {"next_order": "x", "exec_seq": 0}}, {"reference": {}}]
    (tmp_path / "orders.json").write_text("\n".join(json.dumps(line) for line in lines))
    with pytest.raises(ConfigError, match=r"orders.json: line 1: venue state is malformed .*move it away"):
        venue(tmp_path)


def test_a_journal_line_torn_by_a_kill_is_skipped(tmp_path: Path) -> None:
    first = venue(tmp_path)
    first.new_order("MF01", new("T1"))
    first.new_order("MF01", new("T2"))
    path = tmp_path / "orders.json"
    path.write_bytes(path.read_bytes()[:-40])  # T2's journal write cut short: T2 was never acknowledged
    second = venue(tmp_path)
    assert [o.cl_ord_id for o in second.working_orders] == ["T1"]
    assert second.new_order("MF01", new("T3"))[0][1].get(37) == "CME-3"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"instruments": [{"instrument_id": "QQQZ9.CME", "start_price": "1"}]}, "QQQZ9.CME"),
        ({"instruments": [{"instrument_id": "WINZ9.B3", "start_price": "1"}]}, "not a CME instrument"),
        (
            {
                "fill_model": {
                    "kind": "almgren_chriss",
                    "impact": {"ZN": {"sigma": 1, "eta": 0, "gamma": 0, "epsilon": 0}},
                }
            },
            "no Almgren-Chriss",
        ),
        ({"sessions": [{"comp_id": "CME"}]}, "the venue's own comp_id"),
        ({"partial_fill_qty": 0}, "partial_fill_qty"),
    ],
)
def test_bad_config_is_a_config_error_naming_the_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        venue(**overrides)


def test_missing_password_env_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XS_TEST_PASSWORD", raising=False)
    config = default_config("cme", sessions=[{"comp_id": "MF01", "password_env": "XS_TEST_PASSWORD"}])
    with pytest.raises(ConfigError, match="XS_TEST_PASSWORD is not set"):
        config.session_configs()


def test_cme_root_and_maturity_symbology_resolves_the_contract() -> None:
    v = venue(cme_symbology={"style": "root_maturity"})
    request = NewOrderRequest(
        "R1", InstrumentRef("ES", None, "202912"), "1", Decimal(1), "1", None, None, "0", None
    )
    assert kinds(v.new_order("MF01", request)) == [("8", "0", "0"), ("8", "F", "2")]
    assert v.orders[0].instrument_id == "ESZ9.CME"


def test_day_order_expires_at_the_session_close_and_gtd_at_its_expire_time() -> None:
    clock = [NOW]
    config = default_config(
        "cme",
        sessions=[{"comp_id": "MF01"}],
        instruments=[{"instrument_id": "ESZ9.CME", "start_price": "6000.00", "max_qty": 100}],
    )
    v = ExchangeSimVenue(config, None, clock=lambda: clock[0])
    close = v.instruments["ESZ9.CME"].spec.session.next_close(NOW)
    v.new_order("MF01", new("DAY1"))
    gtd = new("GTD1", tif="6")
    v.new_order("MF01", NewOrderRequest(**{**gtd.__dict__, "expire_time": "20300317-17:46:41"}))
    clock[0] = NOW + 2_000_000_000
    assert [(m.get(11), m.get(150), m.get(39)) for _, m in v.expire_due()] == [("GTD1", "C", "C")]
    clock[0] = close - 1
    assert v.expire_due() == []
    clock[0] = close
    out = v.expire_due()
    assert [(m.get(11), m.get(150)) for _, m in out] == [("DAY1", "C")]
    assert "session close" in (out[0][1].get(58) or "")
    assert v.working_orders == []


@pytest.mark.parametrize(
    ("expire_time", "expire_date", "text"),
    [
        (None, None, "needs ExpireTime (126) or ExpireDate (432)"),
        ("20200101-00:00:00", None, "in the past"),
        (None, "2030-12-01", "not a valid time or date"),
    ],
)
def test_gtd_without_a_usable_expiry_is_rejected(
    expire_time: str | None, expire_date: str | None, text: str
) -> None:
    gtd = new("G1", tif="6")
    request = NewOrderRequest(**{**gtd.__dict__, "expire_time": expire_time, "expire_date": expire_date})
    out = venue().new_order("MF01", request)
    assert kinds(out) == [("8", "8", "8")] and text in (out[0][1].get(58) or "")


def test_gtd_by_date_lasts_until_the_end_of_that_venue_local_day() -> None:
    gtd = new("G2", tif="6")
    v = venue()
    v.new_order("MF01", NewOrderRequest(**{**gtd.__dict__, "expire_date": "20300318"}))
    # 2030-03-19 00:00 in Chicago (CDT, UTC-5) = 05:00 UTC
    assert v.working_orders[0].expire_ns == 1_900_126_800_000_000_000
