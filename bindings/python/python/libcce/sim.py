"""The embedded CTI Server simulator: :class:`Simulator`.

A simulated peripheral gateway (agents, skill groups with queues, calls) that answers
every CTI request of the protocol, at versions 15 to 25, optionally as a duplex pair
(side A and B) with fault injection, scenario scripts and load generation. See
``docs/simulator.md`` for the event sequences and the JSON forms.

Example::

    import libcce

    with libcce.Simulator({"bind_b": "127.0.0.1:0"}) as sim:
        sim.set_agent_state("1001", "AGENT_STATE_AVAILABLE")
        call_id = sim.offer_call(ani="5551234", dnis="8000")
        sim.answer_call(call_id)
        sim.kill_side("A")          # side B takes over
        sim.restart_side("A")       # back as standby
        sim.add_fault({"request": "HOLD_CALL_REQ", "times": 1,
                       "action": "failure_conf", "status": "E_CTI_INVALID_CALLID"})
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Optional, Union

from . import _native
from ._native import Closed, InvalidArgument

BytesLike = Union[bytes, bytearray, memoryview]


def _dumps(value: Mapping[str, Any], what: str) -> str:
    """Renders a mapping as JSON for the native layer; anything else is InvalidArgument."""
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{what} must be a mapping, not {type(value).__name__}")
    try:
        return json.dumps(dict(value), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"{what} is not JSON-serialisable: {e}") from e


def _merge(spec: Optional[Mapping[str, Any]], fields: Mapping[str, Any], what: str) -> str:
    merged: dict[str, Any] = dict(spec) if spec is not None else {}
    merged.update(fields)
    return _dumps(merged, what)


class Simulator:
    """An embedded CTI Server simulator listening on loopback.

    ``config`` keys (all optional): ``bind`` (``"127.0.0.1:0"``: ephemeral port),
    ``bind_b`` (side B address: a duplex pair), ``peripheral_id`` (5000), ``agents``
    (list of ``{"agent_id", "extension", "instrument", "state", "skill_groups",
    "team_id", "supervisor", "after_call_state"}``; default one agent 1001 at extension
    and instrument 5001, ``AGENT_STATE_NOT_READY``), ``skill_groups``, ``teams``,
    ``dialed_numbers``, ``password`` (required ClientPassword), ``auto_answer_ms``,
    ``enforce_services`` (True), ``maintenance_timeout_ms`` (5000),
    ``standby_refusal`` and ``tls`` (TLS listeners per side: ``cert_pem``/``cert_file``,
    ``key_pem``/``key_file``, ``client_ca_pem``/``client_ca_file``, ``secure_only``,
    ``bind``, ``bind_b``; see docs/security.md).

    Sides are ``"A"`` and ``"B"``. Use it as a context manager to stop it on exit.
    """

    def __init__(self, config: Optional[Mapping[str, Any]] = None) -> None:
        self._sim = _native.CtiSim(
            _dumps(config if config is not None else {}, "simulator config")
        )
        self._stopped = False

    @property
    def port(self) -> int:
        """Side A's listening port."""
        return self._sim.port

    @property
    def address(self) -> str:
        """Side A's address as ``"host:port"``, ready for :meth:`CtiSession.open`."""
        return self._sim.address

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` has succeeded."""
        return self._stopped

    # -- calls and agents ------------------------------------------------------

    def inject_call(self, call: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> int:
        """Plays a complete scripted inbound call at once; returns its ConnectionCallID.

        The call is given as a dict, keyword arguments, or both (keywords win): ``ani``,
        ``dnis``, ``call_variables`` (list of up to 10 strings), ``named_variables``
        (list of ``(name, value)`` pairs, or a mapping) and ``agent_id`` (default: the
        first agent). camelCase keys (``callVariables``) are accepted too.
        The agent must be ``AGENT_STATE_AVAILABLE``; else :class:`InvalidArgument`.
        """
        return self._sim.inject_call(_merge(call, fields, "call"))

    def offer_call(self, call: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> int:
        """Offers a live inbound call; returns its ConnectionCallID.

        Same keys as :meth:`inject_call`, plus ``skill_group``, ``answer_after_ms``,
        ``talk_ms``, ``caller_entered_digits`` and ``name``. It is routed to an
        available agent (or queued until one is) and rings until answered.
        """
        return self._sim.offer_call(_merge(call, fields, "call"))

    def answer_call(self, call_id: int, agent_id: Optional[str] = None) -> None:
        """The ringing agent (or ``agent_id``) answers the call."""
        self._sim.answer_call(call_id, agent_id)

    def hangup(self, call_id: int) -> None:
        """The caller hangs up."""
        self._sim.hangup(call_id)

    def clear_call(self, call_id: int) -> None:
        """Clears the whole call."""
        self._sim.clear_call(call_id)

    def set_agent_state(self, agent_id: str, state: str, reason: int = 0) -> None:
        """Sets an agent's state from the peripheral side (e.g. ``AGENT_STATE_AVAILABLE``)."""
        self._sim.set_agent_state(agent_id, state, reason)

    def agent_state(self, agent_id: str) -> Optional[int]:
        """Current AgentState value of an agent, or None for an unknown agent."""
        return self._sim.agent_state(agent_id)

    def calls(self) -> list[dict[str, Any]]:
        """The calls in progress."""
        result: list[dict[str, Any]] = self.status()["calls"]
        return result

    def status(self) -> dict[str, Any]:
        """Sides, sessions, agents and calls."""
        result: dict[str, Any] = json.loads(self._sim.status_json())
        return result

    def set_peripheral_online(self, online: bool) -> None:
        """Takes the peripheral offline (SYSTEM_EVENT, END_CALL for every call) or back."""
        self._sim.set_peripheral_online(online)

    # -- duplex ----------------------------------------------------------------

    def side_port(self, side: str) -> Optional[int]:
        """A side's port; None for side B of a simplex simulator."""
        return self._sim.side_port(side)

    def side_state(self, side: str) -> str:
        """``"Active"``, ``"Standby"``, ``"Maintenance"`` or ``"Down"``."""
        return self._sim.side_state(side)

    def kill_side(self, side: str) -> None:
        """Closes a side's listener and connections; the other side takes over."""
        self._sim.kill_side(side)

    def restart_side(self, side: str) -> int:
        """Restarts a killed side on its port (as standby); returns the port."""
        return self._sim.restart_side(side)

    def switch_active(self, side: str) -> None:
        """Makes a side active and the other standby."""
        self._sim.switch_active(side)

    def maintenance(self, side: str) -> dict[str, Any]:
        """Runs the v24+ maintenance handshake on the active side; returns the outcome
        (``accepted``, ``accepted_by``, ``rejected_by``, ``no_answer``, ``stopped``,
        ``forced``)."""
        result: dict[str, Any] = json.loads(self._sim.maintenance(side))
        return result

    def end_maintenance(self, side: str) -> None:
        """Ends a side's maintenance (it becomes standby)."""
        self._sim.end_maintenance(side)

    def session_count(self) -> int:
        """Open client sessions on both sides."""
        return self._sim.session_count()

    # -- faults ----------------------------------------------------------------

    def set_answer_heartbeats(self, answer: bool, side: Optional[str] = None) -> None:
        """Turns heartbeat answers on or off (on one side, or both); TCP stays open."""
        if side is None:
            self._sim.set_answer_heartbeats(answer)
        else:
            self._sim.set_answer_heartbeats_on(side, answer)

    def unanswered_heartbeats(self) -> int:
        """Number of HEARTBEAT_REQs left unanswered so far."""
        return self._sim.unanswered_heartbeats()

    def add_fault(self, fault: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> None:
        """Adds a request fault rule: ``request`` (message name or ``"*"``), ``times``
        (default: every time), ``side``, and ``action``: ``failure_conf`` (``status``),
        ``control_failure`` (``failure_code``, ``peripheral_error``), ``delay``
        (``delay_ms``), ``drop``, ``ignore``, ``close`` or ``malformed``."""
        self._sim.add_fault(_merge(fault, fields, "fault"))

    def clear_faults(self) -> None:
        """Removes every fault rule."""
        self._sim.clear_faults()

    def send_failure_event(self, status: Union[str, int], side: Optional[str] = None) -> None:
        """Sends FAILURE_EVENT with a Status Codes name or number."""
        self._sim.send_failure_event(str(status), side)

    def close_sessions(self, side: Optional[str] = None) -> None:
        """Closes every connection (of one side) without a word."""
        self._sim.close_sessions(side)

    def send_malformed(self, side: Optional[str] = None) -> None:
        """Sends a malformed frame to every connection (of one side)."""
        self._sim.send_malformed(side)

    def send_raw(self, data: BytesLike) -> None:
        """Writes raw bytes to every connection (fault injection)."""
        self._sim.send_raw(bytes(data))

    def encode_errors(self) -> int:
        """Messages the simulator could not encode (0 unless it has a bug)."""
        return self._sim.encode_errors()

    # -- commands, scenarios, load -----------------------------------------------

    def command(self, command: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> Any:
        """Runs one command (``{"op": ..., ...}``, see docs/simulator.md); returns its result."""
        return json.loads(self._sim.command(_merge(command, fields, "command")))

    def run_scenario(self, scenario: Mapping[str, Any]) -> dict[str, Any]:
        """Runs a scenario (``{"steps": [...]}``) to its end; returns the report."""
        result: dict[str, Any] = json.loads(
            self._sim.run_scenario(_dumps(scenario, "scenario"))
        )
        return result

    def start_scenario(self, scenario: Mapping[str, Any]) -> None:
        """Starts a scenario in the background."""
        self._sim.start_scenario(_dumps(scenario, "scenario"))

    def run_load(self, load: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> dict[str, Any]:
        """Runs a load (``agents``, ``calls_per_second``, ``calls``, ``ring_ms``,
        ``talk_ms``, ...) to completion; returns the report."""
        result: dict[str, Any] = json.loads(self._sim.run_load(_merge(load, fields, "load")))
        return result

    # -- lifecycle ---------------------------------------------------------------

    def stop(self) -> None:
        """Stops the simulator and closes its sessions; raises :class:`Closed` if stopped."""
        self._sim.stop()
        self._stopped = True

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._stopped:
            try:
                self.stop()
            except Closed:
                pass

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<libcce.Simulator {self.address} {state}>"
