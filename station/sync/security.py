"""Broker credentials and TLS for the sync daemon, checked before anything connects.

- The password lives in its own file (contract station.md: "never a password in this file").
  The daemon refuses to start when that file is missing, unreadable, or readable by group or
  others (mode & 0o077), the same rule ssh applies to private keys: a secret readable by every
  local account is not a secret. The client's TLS private key (`tls_key`) is a secret by the
  same rule and gets the same check (`secret_file_problem`, also run by `check-config`). The
  password is never logged or put in an exception.
- TLS turns on with `tls_ca`. Verification is on (certificate chain and host name, via
  `ssl.create_default_context`), the minimum version is TLS 1.2 (mosquitto 2.0.11 still
  allows 1.1 unless told otherwise, mosquitto.conf(5) `tls_version`), and an encrypted
  client key is refused instead of letting OpenSSL prompt on a terminal that a service does
  not have (Python `ssl.SSLContext.load_cert_chain`).
"""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

from station.settings import MqttSettings


class SecurityConfigError(Exception):
    """The MQTT credentials or TLS files cannot be used; the message says which and why."""


def secret_file_problem(key: str, path: Path) -> str | None:
    """Why the secret file `path` (config key `key`) must not be used, or None."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"{key} {path} does not exist"
    except OSError as exc:
        return f"{key} {path}: {exc.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return f"{key} {path} is not a regular file"
    if st.st_mode & 0o077:
        return (
            f"{key} {path} is readable by group or others (mode "
            f"{stat.S_IMODE(st.st_mode):04o}); refusing to use it: run `chmod 600 {path}`"
        )
    return None


def read_password(path: Path) -> str:
    """The password in `path`, without its trailing newline; refuses loose permissions."""
    problem = secret_file_problem("mqtt.password_file", path)
    if problem is not None:
        raise SecurityConfigError(problem)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise SecurityConfigError(f"mqtt.password_file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SecurityConfigError(f"mqtt.password_file {path} is not UTF-8 text") from None
    password = text.rstrip("\r\n")
    if not password:
        raise SecurityConfigError(f"mqtt.password_file {path} is empty")
    return password


def _no_key_password() -> str:
    raise SecurityConfigError("encrypted")


def tls_context(mqtt: MqttSettings) -> ssl.SSLContext | None:
    """The client's TLS context, or None when TLS is off (no `tls_ca`)."""
    if mqtt.tls_ca is None:
        return None
    try:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(mqtt.tls_ca))
    except FileNotFoundError:
        raise SecurityConfigError(f"mqtt.tls_ca {mqtt.tls_ca} does not exist") from None
    except (OSError, ssl.SSLError) as exc:
        raise SecurityConfigError(
            f"mqtt.tls_ca {mqtt.tls_ca}: not a readable PEM CA certificate ({exc})"
        ) from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if mqtt.tls_cert is not None and mqtt.tls_key is not None:
        problem = secret_file_problem("mqtt.tls_key", mqtt.tls_key)
        if problem is not None:
            raise SecurityConfigError(problem)
        try:
            ctx.load_cert_chain(str(mqtt.tls_cert), str(mqtt.tls_key), password=_no_key_password)
        except SecurityConfigError:
            raise SecurityConfigError(
                f"mqtt.tls_key {mqtt.tls_key} is encrypted; the daemon cannot type a passphrase:"
                " store it unencrypted and readable only by the service user (chmod 600)"
            ) from None
        except FileNotFoundError as exc:
            raise SecurityConfigError(
                f"mqtt client certificate/key: {exc.filename} does not exist"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise SecurityConfigError(
                f"mqtt.tls_cert {mqtt.tls_cert} / mqtt.tls_key {mqtt.tls_key}: cannot load the"
                f" client certificate and key ({exc})"
            ) from None
    return ctx


def describe_tls_error(exc: BaseException, mqtt: MqttSettings) -> str:
    """A log line a technician can act on for a failed TLS handshake."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS: the broker's certificate was not accepted ({exc.verify_message}); check that"
            f" mqtt.tls_ca {mqtt.tls_ca} is the CA that signed the broker's certificate and that"
            f" the certificate names host {mqtt.host!r}"
        )
    return f"TLS handshake with {mqtt.host}:{mqtt.port} failed: {exc}"


__all__ = [
    "SecurityConfigError",
    "describe_tls_error",
    "read_password",
    "secret_file_problem",
    "tls_context",
]
