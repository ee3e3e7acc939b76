"""Type stubs of the native module ``cce._native`` (JSON-text layer over libcce).

Use the :mod:`cce` package instead: it wraps these in dict-based classes.
"""

from typing import final

__all__ = [
    "__version__",
    "CtiSim",
    "CtiSession",
    "StreamDecoder",
    "decode_json",
    "encode_json",
    "CceError",
    "InvalidArgument",
    "ConnectionFailed",
    "Timeout",
    "Refused",
    "ControlFailed",
    "Closed",
    "CodecError",
    "ProtocolError",
    "Disconnected",
]

__version__: str

class CceError(Exception):
    """Base class of every libcce error."""

    kind: str | None
    """Core error kind: "InvalidArgument", "Io", "Timeout", "Refused",
    "ControlFailed", "Closed", "Codec" or "Protocol" (None on the base class)."""
    status: int | None
    """CTI status or failure code, when the server sent one."""
    status_name: str | None
    """Name of that code, e.g. "E_CTI_INVALID_AGENT_DATA"."""

class InvalidArgument(CceError):
    """A configuration, JSON document or argument is invalid."""

class ConnectionFailed(CceError):
    """A network or operating-system failure (kind "Io")."""

class Timeout(CceError):
    """No answer in time."""

class Refused(CceError):
    """The server refused: FAILURE_CONF, including a refused OPEN_REQ."""

class ControlFailed(CceError):
    """Call control failed (CONTROL_FAILURE_CONF)."""

class Closed(CceError):
    """The session or simulator is closed."""

class CodecError(CceError):
    """A message could not be encoded or decoded (kind "Codec")."""

class ProtocolError(CceError):
    """The server broke the protocol or stopped answering heartbeats (kind "Protocol")."""

class Disconnected(CceError):
    """The link to the server is down and being re-established; retry later (kind "Disconnected")."""

@final
class CtiSim:
    """An embedded CTI Server simulator."""

    def __new__(cls, config_json: str = "{}") -> CtiSim: ...
    @property
    def port(self) -> int: ...
    @property
    def address(self) -> str: ...
    def inject_call(self, call_json: str) -> int: ...
    def set_answer_heartbeats(self, answer: bool) -> None: ...
    def unanswered_heartbeats(self) -> int: ...
    def agent_state(self, agent_id: str) -> int | None: ...
    def send_raw(self, data: bytes) -> None: ...
    def stop(self) -> None: ...

@final
class CtiSession:
    """An open CTI session."""

    def __new__(cls, config_json: str) -> CtiSession: ...
    def open_conf_json(self) -> str: ...
    @property
    def version(self) -> int: ...
    def send_json(self, msg_json: str) -> int: ...
    def request_json(self, msg_json: str, timeout: float | None = None) -> tuple[int, str]: ...
    def call_json(
        self, name: str, fields_json: str, timeout: float | None = None
    ) -> tuple[int, str]: ...
    def model_json(self) -> str: ...
    def state_json(self) -> str: ...
    def next_event(self, timeout: float | None = None) -> tuple[int, str, bool] | None: ...
    def close(self) -> str: ...

@final
class StreamDecoder:
    """A streaming decoder for messages received in pieces."""

    def __new__(cls, version: int) -> StreamDecoder: ...
    def push(self, data: bytes) -> None: ...
    def next(self) -> tuple[int, str] | None: ...
    @property
    def pending(self) -> int: ...

def decode_json(data: bytes, version: int) -> tuple[int, str]: ...
def requests_json() -> str: ...
def encode_json(msg_json: str, version: int) -> bytes: ...

@final
class GcSession:
    """A Generic Connector client session."""

    def __new__(cls, config_json: str) -> GcSession: ...
    def send_json(self, command_json: str) -> None: ...
    def state_json(self) -> str: ...
    def next_event(self, timeout: float | None = None) -> tuple[str, bool] | None: ...
    def close(self) -> None: ...

@final
class GcSim:
    """A Generic Connector simulator on a broker."""

    def __new__(cls, config_json: str) -> GcSim: ...
    def control_json(self, action_json: str) -> str: ...
    def stop(self) -> None: ...

def gc_encode_command(command_json: str) -> tuple[str, str]: ...
def gc_parse_event(body: bytes, jms_type: str | None = None) -> str: ...
