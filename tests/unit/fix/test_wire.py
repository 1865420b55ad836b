"""The wire view of inbound reports and how order events are paired with the report that caused them."""

from __future__ import annotations

from macrofund.adapters.fix.message import FixMessage
from macrofund.adapters.fix.wire import WireCorrelator, wire_report


def _report(cl_ord_id: str, exec_type: str, exec_id: str, **extra: str) -> FixMessage:
    fields = [(11, cl_ord_id), (37, "V1"), (17, exec_id), (150, exec_type), (39, "0"), (14, "0"), (151, "1")]
    fields += [(int(k[1:]), v) for k, v in extra.items()]
    return FixMessage("8", fields)


def test_a_report_keeps_the_wire_strings_and_names_its_event() -> None:
    report = wire_report(_report("R1", "F", "E9", t31="150000.50", t32="1"), "T1", 5)
    assert report.client_order_id == "T1" and report.event_type == "OrderFilled"
    assert report.fields["ClOrdID"] == "R1" and report.fields["LastPx"] == "150000.50"
    assert "OrigClOrdID" not in report.fields  # absent on the wire, absent here


def test_an_event_pairs_with_its_own_report_and_skips_ones_that_made_no_event() -> None:
    wire = WireCorrelator()
    wire.add(wire_report(_report("T1", "0", "E1"), "T1", 1))
    wire.add(wire_report(_report("T1", "0", "E2"), "T1", 2))  # a duplicate ack: no Nautilus event
    wire.add(wire_report(_report("T1", "F", "E3", t31="1", t32="1"), "T1", 3))
    wire.add(wire_report(_report("T1", "F", "E4", t31="1", t32="1"), "T1", 4))
    assert (m := wire.match("OrderAccepted", "T1")) is not None and m.fields["ExecID"] == "E1"
    assert (m := wire.match("OrderFilled", "T1", "E4")) is not None and m.fields["ExecID"] == "E4"
    assert wire.match("OrderFilled", "T1", "E3") is None  # older than a matched report: dropped
    assert wire.match("OrderCanceled", "T2") is None
