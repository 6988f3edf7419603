"""Secrets and sessions: a loose TLS key is refused like a loose password file (at start and by
`check-config`); two daemons sharing a client id are told so; a clean stop logs no warning.

Real files and modes, real mosquitto, `station sync` and the central as processes.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sim.net import free_port


def client_pair(folder: Path) -> tuple[Path, Path]:
    """A self-signed client certificate and its unencrypted key (mode 0644 as written)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench-01")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "client.pem", folder / "client.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o644)
    return cert_path, key_path


def test_a_world_readable_tls_key_is_refused_like_a_password_file(
    station_env: Callable[..., Any], tmp_path: Path
) -> None:
    cert, key = client_pair(tmp_path / "pki")
    password = tmp_path / "mqtt.pass"
    password.write_text("secret\n")
    password.chmod(0o644)
    st = station_env(free_port(), tls_ca=cert, tls_cert=cert, tls_key=key)
    daemon = st.start()
    assert daemon.proc.wait(timeout=30) == 2, daemon.log
    assert f"mqtt.tls_key {key} is readable by group or others (mode 0644)" in daemon.log
    assert f"chmod 600 {key}" in daemon.log

    st.mqtt.update(username="bench-01", password_file=password)
    out = subprocess.run(
        [daemon.argv[0], "check-config", str(st.write_config())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2, out
    text = out.stdout + out.stderr
    assert "mqtt.tls_key: " in text and f"{key} is readable by group or others" in text
    assert "mqtt.password_file: " in text and f"{password} is readable by group" in text

    key.chmod(0o600)
    password.chmod(0o600)
    out = subprocess.run(
        [daemon.argv[0], "check-config", str(st.cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "readable by group" not in out.stdout + out.stderr
    daemon = st.start()
    daemon.wait_log("sync daemon started", 15.0)  # the key is accepted now
    assert daemon.terminate() == 0


@pytest.mark.mosquitto
def test_two_daemons_sharing_a_client_id_are_told_so(
    mosquitto: Any, station_env: Callable[..., Any], tmp_path: Path, procs: list[Any]
) -> None:
    first = station_env(mosquitto.port)
    second = type(first)(tmp_path / "second", mosquitto.port, procs, dict(first.mqtt))
    second.root.mkdir()
    a = first.start()
    a.wait_log("connected to", 15.0)
    b = second.start()
    b.wait_log("connected to", 15.0)
    said = "another client with client_id 'bench-01' took over the session"
    # mosquitto 2.0 drops the older connection without the 0x8E DISCONNECT: each daemon
    # sees its connection dropped right after the broker accepted it, again and again.
    a.wait_log(said, 30.0)
    b.wait_log(said, 30.0)
    assert "share mqtt.client_id" in a.log and "Session taken over" in a.log
    assert a.terminate() == 0 and b.terminate() == 0


@pytest.mark.mosquitto
def test_a_clean_stop_logs_no_warning(
    mosquitto: Any,
    station_env: Callable[..., Any],
    start_central: Callable[..., Any],
) -> None:
    central = start_central(mosquitto.port)
    st = station_env(mosquitto.port)
    st.fill(10)
    daemon = st.start()
    st.wait_pending(lambda n: n == 0, 20.0, "delivered")
    assert daemon.terminate() == 0
    assert central.terminate() == 0
    assert "WARNING" not in daemon.log, daemon.log
    assert "WARNING" not in central.log, central.log
    assert "INFO sim.central: disconnected: " in central.log


@pytest.mark.mosquitto
def test_the_broker_going_away_while_the_daemon_stops_is_no_warning(
    mosquitto: Any, station_env: Callable[..., Any]
) -> None:
    """As when the demo quits: broker and daemon get SIGTERM together."""
    st = station_env(mosquitto.port)
    daemon = st.start()
    daemon.wait_log("connected to", 15.0)
    assert mosquitto.proc is not None and daemon.proc is not None
    mosquitto.proc.send_signal(19)  # SIGSTOP: the offline status gets no PUBACK …
    daemon.proc.terminate()
    daemon.wait_log("stopping", 10.0)
    mosquitto.proc.kill()  # … and then the connection is gone, mid-stop
    mosquitto.proc.wait(timeout=10)
    assert daemon.proc.wait(timeout=20) == 0
    lines = [line for line in daemon.log.splitlines() if "WARNING" in line]
    assert not [line for line in lines if "lost" in line or "disconnected" in line], lines
