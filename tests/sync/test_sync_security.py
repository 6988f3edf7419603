"""TLS, password authentication and ACLs, against a real mosquitto configured for each.

The CA and certificates are generated here with `cryptography`; the password file with
`mosquitto_passwd`. What is checked is what a technician sees: the records delivered or not,
and the daemon's log line saying why.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sim.net import free_port, wait_until

pytestmark = pytest.mark.mosquitto

PASSWORD = "s3cret-Pa55"


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(folder: Path, label: str) -> Pki:
    """A CA and a server certificate for 127.0.0.1/localhost signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} test CA"))
        .issuer_name(_name(f"{label} test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


def broker_passwords(folder: Path) -> Path:
    binary = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not Path(binary).exists():
        pytest.fail("mosquitto_passwd is not installed: run `bash .ci/test`")
    path = folder / "broker.passwd"
    subprocess.run([binary, "-c", "-b", str(path), "bench-01", PASSWORD], check=True)
    return path


def password_file(folder: Path, password: str = PASSWORD, mode: int = 0o600) -> Path:
    path = folder / "mqtt.pass"
    path.write_text(password + "\n")
    path.chmod(mode)
    return path


def tls_broker(factory: Any, folder: Path, pki: Pki, *, acl: str | None = None) -> Any:
    folder.mkdir(parents=True, exist_ok=True)
    conf = [
        f"cafile {pki.ca}",
        f"certfile {pki.cert}",
        f"keyfile {pki.key}",
        "tls_version tlsv1.2",
        f"password_file {broker_passwords(folder)}",
        "allow_anonymous false",
    ]
    if acl is not None:
        (folder / "acl").write_text(acl)
        conf.append(f"acl_file {folder / 'acl'}")
    broker = factory(workdir=folder, extra_conf="\n".join(conf) + "\n")
    broker.start()
    return broker


def tls_station(
    mosquitto_factory: Any,
    station_env: Callable[..., Any],
    tmp_path: Path,
    *,
    records: int,
    trust: Path | None = None,
    password: str = PASSWORD,
    acl: str | None = None,
) -> Any:
    """A TLS broker with a password file (and `acl`), and a station configured for it:
    user bench-01 with `password`, trusting the broker's CA unless `trust` names another.
    The station's store holds `records` pending records; the daemon is not started."""
    pki = make_pki(tmp_path / "pki", "plant")
    broker = tls_broker(mosquitto_factory, tmp_path / "broker", pki, acl=acl)
    st = station_env(
        broker.port,
        ack="broker",
        tls_ca=trust or pki.ca,
        username="bench-01",
        password_file=password_file(tmp_path, password),
    )
    st.fill(records)
    return st


def test_tls_with_a_ca_and_a_password_delivers(
    mosquitto_factory: Any, station_env: Callable[..., Any], tmp_path: Path
) -> None:
    st = tls_station(mosquitto_factory, station_env, tmp_path, records=50)
    daemon = st.start()
    st.wait_pending(lambda n: n == 0, 20.0, "50 records PUBACKed over TLS")
    assert "tls=on" in daemon.log
    assert PASSWORD not in daemon.log
    assert daemon.terminate() == 0


def test_a_broker_certificate_from_another_ca_is_refused_clearly(
    mosquitto_factory: Any, station_env: Callable[..., Any], tmp_path: Path
) -> None:
    stranger = make_pki(tmp_path / "other", "stranger")
    st = tls_station(mosquitto_factory, station_env, tmp_path, records=50, trust=stranger.ca)
    daemon = st.start()
    daemon.wait_log("TLS: the broker's certificate was not accepted", 15.0)
    assert any(
        why in daemon.log  # OpenSSL's words depend on what chain the broker sends
        for why in ("unable to get local issuer certificate", "self-signed certificate in")
    )
    assert f"check that mqtt.tls_ca {stranger.ca} is the CA" in daemon.log
    assert st.pending() == 50
    assert daemon.alive()  # it keeps retrying (with backoff) until someone fixes the CA
    assert daemon.terminate() == 0


def test_a_wrong_password_is_refused_clearly(
    mosquitto_factory: Any, station_env: Callable[..., Any], tmp_path: Path
) -> None:
    st = tls_station(
        mosquitto_factory, station_env, tmp_path, records=5, password="not-the-password"
    )
    daemon = st.start()
    daemon.wait_log("refused the connection", 15.0)
    assert "check mqtt.username and mqtt.password_file" in daemon.log
    assert "not-the-password" not in daemon.log
    assert st.pending() == 5
    assert daemon.terminate() == 0


@pytest.mark.parametrize(
    ("mode", "message"),
    [(0o640, "is readable by group or others (mode 0640)"), (None, "does not exist")],
)
def test_a_loose_or_missing_password_file_stops_the_start(
    station_env: Callable[..., Any], tmp_path: Path, mode: int | None, message: str
) -> None:
    path = password_file(tmp_path, mode=mode or 0o600)
    if mode is None:
        path.unlink()
    st = station_env(free_port(), username="bench-01", password_file=path)
    daemon = st.start()
    assert daemon.proc.wait(timeout=30) == 2, daemon.log
    assert message in daemon.log
    assert str(path) in daemon.log


def test_an_acl_refusal_leaves_records_pending_and_says_so(
    mosquitto_factory: Any, station_env: Callable[..., Any], tmp_path: Path
) -> None:
    acl = (
        "user bench-01\n"
        "topic readwrite qms/v1/plant-a/bench-01/status\n"
        "topic read qms/v1/plant-a/master/#\n"
    )
    st = tls_station(mosquitto_factory, station_env, tmp_path, records=30, acl=acl)
    daemon = st.start()
    daemon.wait_log("broker refused record seq 1: Not authorized", 15.0)
    assert "NOT delivered, it stays pending" in daemon.log
    assert "Check the broker's ACL for user 'bench-01'" in daemon.log
    assert st.pending() == 30
    # The daemon logs the refusal, then writes its state for `station status`: wait for it.
    wait_until("the refusal in the sync state", lambda: "broker refuses" in st.sync_state()[1], 15)
    online, detail = st.sync_state()
    assert online is True and "broker refuses records: Not authorized" in detail
    assert st.cli_status()["pending"] == 30
    assert daemon.terminate() == 0
