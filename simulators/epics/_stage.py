"""A simulated sample changer: a linear stage on a motor record, a gripper and a barcode
reader, served over PV Access (EPICS base's soft IOC has no motor record; ``p4p``'s server
serves the record's fields as PVs, with put-completion on ``.VAL`` as the record gives
it). The stage carries vials between the places along its track in the workcell."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from simulators.clock import SimClock
from simulators.workcell import Vial, Workcell

#: how often (real seconds) a moving stage updates its readback
TICK_S = 0.01


class StageTwin:
    """A stage at the places ``positions`` names (mm along its axis), served over PVA
    behind a prefix of its own.

    Args:
        clock: the simulation's clock (the stage moves at ``speed_mm_s`` of lab time).
        workcell: where the vials are.
        prefix: the PV prefix the lab file names (``LAB:SC1:``).
        positions: place -> mm along the axis.
        home: the place it starts at.
        speed_mm_s: its speed (lab time).
    """

    def __init__(
        self,
        clock: SimClock,
        workcell: Workcell,
        prefix: str,
        positions: dict[str, float],
        home: str,
        speed_mm_s: float = 200.0,
    ) -> None:
        self.clock = clock
        self.workcell = workcell
        self.positions = positions
        self.speed = speed_mm_s
        self.served_prefix = f"SIM{secrets.token_hex(4).upper()}:{prefix}"
        self.held: Vial | None = None
        self.stopped = False
        self._at = positions[home]
        self._server: Any = None
        self._pvs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def place(self) -> str | None:
        """The place the stage is at, if any."""
        return next((p for p, mm in self.positions.items() if abs(mm - self._at) < 0.01), None)

    async def start(self) -> None:
        """Serve the stage's PVs."""
        from p4p.nt import NTScalar
        from p4p.server import Server
        from p4p.server.thread import SharedPV

        low, high = min(self.positions.values()), max(self.positions.values())
        motor = {
            "EGU": ("s", "mm"), "MRES": ("d", 0.001), "SREV": ("i", 200), "UREV": ("d", 1.0),
            "ERES": ("d", 0.001), "VELO": ("d", self.speed), "OFF": ("d", 0.0),
            "RBV": ("d", self._at), "VAL": ("d", self._at), "VMAX": ("d", self.speed),
            "ACCL": ("d", 0.0), "PREC": ("i", 3), "RDBD": ("d", 0.01), "DMOV": ("i", 1),
            "LLM": ("d", low), "HLM": ("d", high), "DLLM": ("d", low), "DHLM": ("d", high),
            "FOFF": ("s", "Variable"), "HLS": ("i", 0), "LLS": ("i", 0), "OUT": ("s", "sim"),
            "SET": ("s", "Use"), "STOP": ("i", 0),
        }  # fmt: skip
        p = self.served_prefix
        for field, (kind, value) in motor.items():
            self._pvs[f"{p}STAGE.{field}"] = SharedPV(nt=NTScalar(kind), initial=value)
        extra = {"GRIP": ("?", False), "BARCODE": ("s", ""), "ESTOP": ("?", False)}
        for name, (kind, value) in extra.items():
            self._pvs[f"{p}{name}"] = SharedPV(nt=NTScalar(kind), initial=value)
        self._pvs[f"{p}ID"] = SharedPV(
            nt=NTScalar("s"), initial="SimLab,EPICS sample changer,SC-0001,1.0"
        )
        self._pvs[f"{p}STAGE.VAL"].put(self._on_move)
        self._pvs[f"{p}STAGE.STOP"].put(self._on_stop)
        self._pvs[f"{p}GRIP"].put(self._on_grip)
        self._pvs[f"{p}ESTOP"].put(self._on_estop)
        for name in ("VELO", "ACCL", "LLM", "HLM", "DLLM", "DHLM", "OFF", "FOFF", "SET"):
            self._pvs[f"{p}STAGE.{name}"].put(_accept)
        self._server = Server(providers=[self._pvs])

    async def stop(self) -> None:
        """Stop serving."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def _post(self, field: str, value: Any) -> None:
        self._pvs[f"{self.served_prefix}{field}"].post(value)

    def _on_move(self, pv: Any, op: Any) -> None:
        """``.VAL``: travel there; the put completes on arrival (put-completion)."""
        target = float(op.value())
        if self.stopped:
            op.done(error="the emergency stop is latched")
            return
        pv.post(target)
        threading.Thread(target=self._travel, args=(target, op), daemon=True).start()

    def _travel(self, target: float, op: Any) -> None:
        self._post("STAGE.DMOV", 0)
        start, t0 = self._at, self.clock.now()
        with self._lock:
            self._moving = True
        while True:
            if self.stopped or not self._moving:
                break
            moved = self.speed * (self.clock.now() - t0)
            self._at = (
                target
                if moved >= abs(target - start)
                else start + moved * (1 if target > start else -1)
            )
            self._post("STAGE.RBV", self._at)
            if self._at == target:
                break
            time.sleep(TICK_S)
        self._post("STAGE.DMOV", 1)
        op.done()

    def _on_stop(self, pv: Any, op: Any) -> None:
        if int(op.value()):
            self._moving = False
        op.done()

    def _on_grip(self, pv: Any, op: Any) -> None:
        """Close (take the vial at this place) or open (set it down here)."""
        close, place = bool(op.value()), self.place()
        if place is None:
            op.done(error="the stage is between places")
            return
        if close and self.held is None:
            vial = self.workcell.take(place)
            if vial is None:
                op.done(error=f"no vial at {place}")
                return
            self.held = vial
        elif not close and self.held is not None:
            if not self.workcell.put(place, self.held):
                op.done(error=f"{place} is occupied")
                return
            self.held = None
        pv.post(close)
        self._post("BARCODE", self.held.id if self.held else "")
        op.done()

    def _on_estop(self, pv: Any, op: Any) -> None:
        self.stopped = bool(op.value())
        if self.stopped:
            self._moving = False
        pv.post(self.stopped)
        op.done()


def _accept(pv: Any, op: Any) -> None:
    pv.post(op.value())
    op.done()
