"""CTI over TLS through the Python binding: mutual TLS to the simulator's side A,
failover to a TLS side B, and a typed exception for every failure class. The key
material is generated at test time (``CCE_TEST_PKI`` names a directory made by
``cargo run -p libcce --example test_pki``; without it the test makes one)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import time
from typing import Any

import libcce
import pytest

WAIT = 10.0
ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env_dir = os.environ.get("CCE_TEST_PKI")
    if env_dir:
        d = pathlib.Path(env_dir)
    else:
        d = tmp_path_factory.mktemp("pki")
        subprocess.run(
            ["cargo", "run", "-q", "-p", "libcce", "--example", "test_pki", "--", str(d)],
            cwd=ROOT, check=True,
        )
    return {p.name: p.read_text() for p in d.iterdir()}


def sim_config(pki: dict[str, str], server: str = "server", client_ca: bool = True,
               duplex: bool = False) -> dict[str, Any]:
    tls: dict[str, Any] = {"cert_pem": pki[f"{server}.pem"], "key_pem": pki[f"{server}.key"],
                           "secure_only": True}
    if client_ca:
        tls["client_ca_pem"] = pki["ca.pem"]
    config: dict[str, Any] = {"tls": tls}
    if duplex:
        config["bind_b"] = "127.0.0.1:0"
    return config


def client_tls(pki: dict[str, str], **over: Any) -> dict[str, Any]:
    tls = {"ca_pem": pki["ca.pem"], "cert_pem": pki["client.pem"], "key_pem": pki["client.key"]}
    tls.update(over)
    return {k: v for k, v in tls.items() if v is not None}


def open_session(port: int, tls: dict[str, Any] | None) -> libcce.CtiSession:
    config: dict[str, Any] = {"address": f"127.0.0.1:{port}", "client_id": "py-tls",
                              "peripheral_id": 5000, "connect_timeout_ms": 5000}
    if tls is not None:
        config["tls"] = tls
    return libcce.CtiSession(config)


def wait_for(session: libcce.CtiSession, pred: Any) -> dict[str, Any]:
    for event in session.events(timeout=WAIT):
        if pred(event):
            return event
    raise AssertionError("expected event did not arrive")


def test_mutual_tls_on_side_a_then_failover_to_tls_side_b(pki: dict[str, str]) -> None:
    with libcce.Simulator(sim_config(pki, duplex=True)) as sim:
        session = libcce.CtiSession({
            "address": f"127.0.0.1:{sim.side_port('A')}",
            "address_b": f"127.0.0.1:{sim.side_port('B')}",
            "client_id": "py-tls", "peripheral_id": 5000,
            "expected_clients": 0, "reconnect_time_scale": 0.001,
            "tls": client_tls(pki),
        })
        with session:
            assert session.state()["side"] == "A"
            sim.kill_side("A")
            back = wait_for(session, lambda e: e["MessageName"] == "CONNECTION_STATE"
                            and e["state"] == "Connected")
            assert (back["side"], back["reconnected"]) == ("B", True)
            # A new TLS config is accepted now and applies at the next reconnect.
            session.set_tls(client_tls(pki))
            with pytest.raises(libcce.InvalidArgument):
                session.set_tls({"min_version": "1.0"})


@pytest.mark.parametrize("server,tls,reason", [
    ("server", {"ca_pem": "other_ca.pem"}, "unknown_issuer"),
    ("wrong_name", {}, "name_mismatch"),
    ("server", {"server_name": "cti.example"}, "name_mismatch"),
    ("expired", {}, "expired"),
    ("server", {"cert_pem": None, "key_pem": None}, "client_certificate_refused"),
])
def test_certificate_failures_are_typed(pki: dict[str, str], server: str, tls: dict[str, Any],
                                        reason: str) -> None:
    over = {k: (pki[v] if k == "ca_pem" else v) for k, v in tls.items()}
    with libcce.Simulator(sim_config(pki, server=server)) as sim:
        started = time.monotonic()
        with pytest.raises(libcce.CertificateInvalid) as err:
            open_session(sim.side_port("A"), client_tls(pki, **over))
        assert time.monotonic() - started < WAIT
        assert err.value.kind == "CertificateInvalid"
        assert err.value.reason == reason
        assert isinstance(err.value, libcce.CceError)
        assert "PRIVATE KEY" not in str(err.value)


def test_plain_and_tls_mismatches_are_handshake_errors(pki: dict[str, str]) -> None:
    with libcce.Simulator(sim_config(pki)) as secure:
        with pytest.raises(libcce.TlsHandshake) as err:
            open_session(secure.side_port("A"), None)
        assert err.value.kind == "TlsHandshake"
    with libcce.Simulator() as plain:
        with pytest.raises(libcce.TlsHandshake):
            open_session(plain.port, client_tls(pki))
