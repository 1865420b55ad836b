"""The kill-switch actor: operator requests, the scheduled drill and the periodic loss-limit check.

All three run on the kernel's clock and thread, so they act the same in backtest, paper and live.
Operator polling is paced in *wall* time: each poll schedules the next one ``poll_interval`` of wall
time ahead, measured as sim time by how fast the clock ran since the last poll. In paper and live that
is simply ``poll_interval``; in a backtest running 10,000x faster than real time it is ~10,000x longer in
sim time, so a fast backtest does not pay for a file-system poll every simulated second and a slow one
still answers ``macrofund kill`` within about ``poll_interval``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.component import TimeEvent
from nautilus_trader.config import ActorConfig

from macrofund.risk.config import check_scope
from macrofund.risk.control_files import HEARTBEAT, now_iso, pending_requests, write_json_atomic
from macrofund.risk.kill_switch import KillSwitch

POLL_TIMER = "macrofund-kill-switch-poll"
DRILL_TIMER = "macrofund-kill-switch-drill"
LOSS_TIMER = "macrofund-risk-loss-check"
_MAX_GROWTH = 4  # the poll interval grows at most 4x per poll, so a burst of fast sim time cannot overshoot


class KillSwitchActorConfig(ActorConfig, frozen=True):
    """Identity only; behaviour comes from the run config through the constructor."""

    component_id: str = "MacrofundKillSwitch"


class KillSwitchActor(Actor):
    """Polls ``control_dir`` for requests, fires the drill, and re-checks loss limits on a sim timer."""

    def __init__(
        self,
        kill_switch: KillSwitch,
        *,
        control_dir: Path | None,
        poll_interval_ns: int,
        drill_at_ns: int | None,
        loss_check_interval_ns: int | None = None,
        on_loss_check: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(KillSwitchActorConfig())
        self._kill_switch = kill_switch
        self._control_dir = control_dir
        self._poll_ns = poll_interval_ns
        self._drill_at_ns = drill_at_ns
        self._loss_interval_ns = loss_check_interval_ns
        self._on_loss_check = on_loss_check
        self._interval_ns = poll_interval_ns
        self._last_poll: tuple[int, int] | None = None  # (sim ns, wall ns)
        self.requests_processed = 0
        self._polls = 0
        self.ended = False
        if control_dir is not None:
            control_dir.mkdir(parents=True, exist_ok=True)

    # -- lifecycle ----------------------------------------------------------------------------------

    def on_start(self) -> None:
        now = self.clock.timestamp_ns()
        if self._drill_at_ns is not None:
            self.clock.set_time_alert_ns(DRILL_TIMER, max(self._drill_at_ns, now), self._on_drill)
        if self._control_dir is not None:
            self._write_heartbeat("running", now)
            self.clock.set_time_alert_ns(POLL_TIMER, now + self._poll_ns, self._on_poll)
        if self._loss_interval_ns and self._on_loss_check is not None:
            self.clock.set_timer_ns(
                LOSS_TIMER, self._loss_interval_ns, now + self._loss_interval_ns, 0, self._on_loss
            )

    def mark_ended(self, ts_ns: int) -> None:
        """The run is over: tell `macrofund kill` nobody is listening any more (idempotent)."""
        if self.ended:
            return
        self.ended = True
        if self._control_dir is not None:
            self._write_heartbeat("ended", ts_ns)

    # -- timers -------------------------------------------------------------------------------------

    def _on_drill(self, event: TimeEvent) -> None:
        cfg = self._kill_switch.config
        self._kill_switch.kill(cfg.drill_scope, trigger="drill", reason="scheduled kill-switch drill")

    def _on_loss(self, event: TimeEvent) -> None:
        if self._on_loss_check is not None:
            self._on_loss_check(event.ts_event)

    def _on_poll(self, event: TimeEvent) -> None:
        if self.ended:
            return
        self.process_requests(event.ts_event)
        self._write_heartbeat("running", event.ts_event)
        # A live clock still holds this alert's name while its callback runs, so re-arming under the
        # same name fails ("already contained"): alternate between two names.
        self._polls += 1
        self.clock.set_time_alert_ns(
            f"{POLL_TIMER}-{self._polls % 2}",
            event.ts_event + self._next_interval(event.ts_event),
            self._on_poll,
        )

    def _next_interval(self, sim_now: int) -> int:
        wall_now = time.monotonic_ns()
        if self._last_poll is not None:
            sim_then, wall_then = self._last_poll
            speed = (sim_now - sim_then) / max(wall_now - wall_then, 1)
            wanted = int(self._poll_ns * max(speed, 1.0))
            self._interval_ns = max(self._poll_ns, min(wanted, self._interval_ns * _MAX_GROWTH))
        self._last_poll = (sim_now, wall_now)
        return self._interval_ns

    # -- requests -----------------------------------------------------------------------------------

    def process_requests(self, ts_ns: int) -> int:
        """Act on every pending request file, oldest first; returns how many were processed."""
        if self._control_dir is None:
            return 0
        done = 0
        for path in pending_requests(self._control_dir):
            ack = self._handle(path)
            ack["sim_ts"] = ts_ns
            ack["processed_at"] = now_iso()
            write_json_atomic(self._control_dir / f"ack-{ack['id']}.json", ack)
            os.replace(path, path.with_name("done-" + path.name.removeprefix("request-")))
            done += 1
        self.requests_processed += done
        return done

    def _handle(self, path: Path) -> dict[str, Any]:
        fallback_id = path.stem.rsplit("-", 1)[-1]
        try:
            request = json.loads(path.read_text(encoding="utf-8"))
            request_id = str(request.get("id") or fallback_id)
            action = request["action"]
            scope = check_scope(str(request.get("scope", "all")))
            reason = str(request.get("reason") or "")
            operator = str(request.get("operator") or "unknown")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return {
                "id": fallback_id,
                "outcome": "error",
                "detail": f"{path.name}: unreadable request: {exc}",
            }
        text = f"operator {operator}" + (f": {reason}" if reason else "")
        if action == "kill":
            flatten = request.get("flatten")
            result = self._kill_switch.kill(
                scope, trigger="operator", reason=text, flatten=None if flatten is None else bool(flatten)
            )
        elif action == "reenable":
            result = self._kill_switch.reenable(scope, trigger="operator", reason=text)
        else:
            return {"id": request_id, "outcome": "error", "detail": f"unknown action {action!r}"}
        return {
            "id": request_id,
            "action": action,
            "scope": scope,
            "outcome": result.outcome,
            "action_id": result.action_id,
            "detail": result.detail,
        }

    def _write_heartbeat(self, state: str, ts_ns: int) -> None:
        assert self._control_dir is not None
        write_json_atomic(
            self._control_dir / HEARTBEAT,
            {
                "state": state,
                "pid": os.getpid(),
                "wall": now_iso(),
                "sim_ts": ts_ns,
                "poll_interval_s": self._poll_ns / 1e9,
            },
        )
