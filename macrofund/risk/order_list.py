"""How the orders of one ``SubmitOrderList`` count against the position limits, together.

A list is judged order by order, and each order used to be judged against the book alone: the list's
other orders were not working yet. Five buys of 10 in one list each passed a ``max_long`` of 10 and
made the position 50. Now each order is judged on the book **plus the list's earlier orders**, counted
the way the working-order book will count them once they are working, with the two contingencies a
bracket uses:

- OCO/OUO-linked orders count as one, the largest per side (``working_orders.link_group``): at most one
  of a bracket's stop-loss and take-profit fills.
- An order whose parent (OTO) is earlier in the list can only fill after the parent has filled, so it is
  judged with the parent **filled** (in the net position) rather than working. A bracket's exits are
  then what they are, orders that close the entry: a long-only limit (``max_short = 0``) admits them.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from macrofund.risk.context import OrderIntent
from macrofund.risk.exposure import Exposure
from macrofund.risk.working_orders import group_sides, link_group

_ZERO = Decimal(0)


class ListExposure:
    """The exposure a list's earlier orders add, for judging the next one (one list, one instrument)."""

    def __init__(self) -> None:
        # What is counted so far: per linked group (or an order alone), its members' (is_buy, qty).
        self._groups: dict[str, dict[Any, tuple[bool, Decimal]]] = defaultdict(dict)
        self._group_of: dict[Any, str] = {}

    def before(self, intent: OrderIntent) -> Exposure:
        """What the earlier orders add to the book for judging ``intent`` (parent counted as filled)."""
        net = buy = sell = _ZERO
        parent_id = intent.order.parent_order_id
        parent_group = self._group_of.get(parent_id) if parent_id is not None else None
        for key, members in self._groups.items():
            if key == parent_group:
                is_buy, qty = members[parent_id]
                net += qty if is_buy else -qty  # filled: the only way ``intent`` can ever fill
                members = {c: m for c, m in members.items() if c != parent_id}
            group_buy, group_sell = group_sides(members.values())
            buy += group_buy
            sell += group_sell
        return Exposure(net, buy, sell)

    def added(self, intent: OrderIntent) -> Decimal:
        """How much ``intent`` adds on its side: beyond what its linked group already counts there."""
        group = self._groups.get(self._key(intent))
        if not group:
            return intent.quantity
        buy, sell = group_sides(group.values())
        counted = buy if intent.is_buy else sell
        return max(intent.quantity - counted, _ZERO)

    def add(self, intent: OrderIntent) -> None:
        """``intent`` passed: the next orders are judged with it working."""
        key = self._key(intent)
        coid = intent.order.client_order_id
        self._groups[key][coid] = (intent.is_buy, intent.quantity)
        self._group_of[coid] = key

    @staticmethod
    def _key(intent: OrderIntent) -> str:
        order = intent.order
        return link_group(order) or order.client_order_id.value
