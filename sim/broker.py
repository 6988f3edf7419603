"""A small embedded MQTT broker (3.1.1 and 5.0) for `station demo` on a machine without mosquitto.

It is not a production broker: no persistence to disk, no authentication, no TLS, one process.
It exists so that the demo runs with nothing installed but the package, speaking **MQTT v5** to
the sync daemon (amqtt, the usual embedded choice, speaks 3.1.1 only; see the pinned test toolchain
(pyproject.toml)). It
implements what the station's contract uses (OASIS MQTT v5.0 and v3.1.1 sections cited):

- CONNECT/CONNACK with clean start and in-memory sessions (§3.1.2.4): a client reconnecting with
  Clean Start 0 keeps its subscriptions and gets the QoS 1 messages queued while it was away.
- PUBLISH QoS 0 and 1 (QoS 2 is downgraded to 1 on delivery; the handshake is completed).
- Retained messages (§3.3.1.3), an empty retained payload clears the topic.
- SUBSCRIBE/UNSUBSCRIBE with `+` and `#` wildcards (§4.7); `$`-topics not matched by wildcards.
- Last will on an abnormal disconnect (§3.1.2.5); DISCONNECT with reason 0x04 also sends it.
- PINGREQ, keep-alive timeout at 1.5 × keep alive (§3.1.2.10).

Run: `python -m sim.broker --port 1883` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14
MAX_QUEUED = 100_000


class ProtocolError(Exception):
    """The peer sent something this broker cannot accept; the connection is closed."""


def encode_varint(n: int) -> bytes:
    """MQTT variable byte integer (§1.5.5)."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode_str(s: str | bytes) -> bytes:
    """UTF-8 string / binary data with a two-byte length prefix (§1.5.4)."""
    data = s.encode("utf-8") if isinstance(s, str) else s
    return len(data).to_bytes(2, "big") + data


def packet(ptype: int, flags: int, body: bytes) -> bytes:
    """A whole control packet: fixed header + body."""
    return bytes([(ptype << 4) | flags]) + encode_varint(len(body)) + body


class Reader:
    """Cursor over one packet body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError("packet shorter than its fields")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def binary(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        try:
            return self.binary().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("string is not UTF-8") from exc

    def varint(self) -> int:
        mult, value = 1, 0
        for _ in range(4):
            byte = self.u8()
            value += (byte & 0x7F) * mult
            if not byte & 0x80:
                return value
            mult *= 128
        raise ProtocolError("malformed variable byte integer")

    def skip_properties(self) -> None:
        """Properties are accepted and ignored (v5 §2.2.2)."""
        self.take(self.varint())

    def rest(self) -> bytes:
        out = self.data[self.pos :]
        self.pos = len(self.data)
        return out


def topic_matches(filt: str, topic: str) -> bool:
    """MQTT topic filter matching (§4.7.1); wildcards never match `$`-topics at the first level."""
    if topic.startswith("$") and filt[:1] in ("+", "#"):
        return False
    f_parts, t_parts = filt.split("/"), topic.split("/")
    for i, part in enumerate(f_parts):
        if part == "#":
            return True
        if i >= len(t_parts):
            return False
        if part not in ("+", t_parts[i]):
            return False
    return len(f_parts) == len(t_parts)


@dataclass
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool = False


@dataclass
class Session:
    client_id: str
    subscriptions: dict[str, int] = field(default_factory=dict)
    queue: deque[Message] = field(default_factory=deque)
    inflight: dict[int, Message] = field(default_factory=dict)
    next_mid: int = 1
    conn: Connection | None = None
    expiry_s: int = 0
    version: int = 5

    def new_mid(self) -> int:
        for _ in range(65535):
            mid = self.next_mid
            self.next_mid = mid % 65535 + 1
            if mid not in self.inflight:
                return mid
        raise ProtocolError("no free packet identifier")


class Connection:
    """One client connection; reads packets and writes through the broker's loop."""

    def __init__(self, broker: Broker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.broker = broker
        self.reader = reader
        self.writer = writer
        self.session: Session | None = None
        self.version = 4
        self.will: Message | None = None
        self.keepalive = 0

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    async def read_packet(self) -> tuple[int, int, bytes]:
        first = await self.reader.readexactly(1)
        mult, length = 1, 0
        for _ in range(4):
            byte = (await self.reader.readexactly(1))[0]
            length += (byte & 0x7F) * mult
            if not byte & 0x80:
                break
            mult *= 128
        else:
            raise ProtocolError("malformed remaining length")
        body = await self.reader.readexactly(length) if length else b""
        return first[0] >> 4, first[0] & 0x0F, body

    async def serve(self) -> None:
        clean_exit = False
        try:
            ptype, _, body = await asyncio.wait_for(self.read_packet(), timeout=10)
            if ptype != CONNECT:
                raise ProtocolError("first packet is not CONNECT")
            self.handle_connect(body)
            while True:
                timeout = self.keepalive * 1.5 if self.keepalive else None
                ptype, flags, body = await asyncio.wait_for(self.read_packet(), timeout)
                if ptype == DISCONNECT:
                    r = Reader(body)
                    reason = r.u8() if body else 0
                    clean_exit = reason != 0x04  # 0x04: disconnect with will message
                    break
                self.dispatch(ptype, flags, body)
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        except ProtocolError as exc:
            log.warning("closing client %s: %s", self.session and self.session.client_id, exc)
        finally:
            self.broker.disconnected(self, clean_exit)
            with contextlib.suppress(Exception):
                self.writer.close()

    def handle_connect(self, body: bytes) -> None:
        r = Reader(body)
        if r.text() not in ("MQTT", "MQIsdp"):
            raise ProtocolError("unknown protocol name")
        self.version = r.u8()
        flags = r.u8()
        self.keepalive = r.u16()
        expiry = 0
        if self.version == 5:
            props = Reader(r.take(r.varint()))
            while props.pos < len(props.data):
                pid = props.u8()
                if pid == 0x11:  # Session Expiry Interval
                    expiry = int.from_bytes(props.take(4), "big")
                elif pid in (0x21, 0x22):  # Receive Maximum, Topic Alias Maximum
                    props.take(2)
                elif pid == 0x27:  # Maximum Packet Size
                    props.take(4)
                elif pid in (0x17, 0x19):  # request problem/response information
                    props.take(1)
                elif pid == 0x26:  # user property
                    props.text()
                    props.text()
                elif pid == 0x15:  # authentication method
                    props.text()
                elif pid == 0x16:
                    props.binary()
                else:
                    raise ProtocolError(f"unknown CONNECT property 0x{pid:02x}")
        client_id = r.text() or f"auto-{id(self):x}"
        if flags & 0x04:
            if self.version == 5:
                r.skip_properties()
            topic = r.text()
            payload = r.binary()
            self.will = Message(topic, payload, (flags >> 3) & 0x03, bool(flags & 0x20))
        if flags & 0x80:
            r.text()
        if flags & 0x40:
            r.binary()
        clean = bool(flags & 0x02)
        if self.version == 4:
            expiry = 0 if clean else 0xFFFFFFFF
        present = self.broker.attach(self, client_id, clean, expiry)
        if self.version == 5:
            self.send(packet(CONNACK, 0, bytes([int(present), 0]) + encode_varint(0)))
        else:
            self.send(packet(CONNACK, 0, bytes([int(present), 0])))
        self.broker.flush(self.session)

    def dispatch(self, ptype: int, flags: int, body: bytes) -> None:
        r = Reader(body)
        if ptype == PUBLISH:
            qos = (flags >> 1) & 0x03
            topic = r.text()
            mid = r.u16() if qos else 0
            if self.version == 5:
                r.skip_properties()
            self.broker.route(Message(topic, r.rest(), min(qos, 1), bool(flags & 0x01)))
            if qos == 1:
                self.send(packet(PUBACK, 0, mid.to_bytes(2, "big")))
            elif qos == 2:
                self.send(packet(PUBREC, 0, mid.to_bytes(2, "big")))
        elif ptype == PUBREL:
            self.send(packet(PUBCOMP, 0, r.take(2)))
        elif ptype in (PUBACK, PUBCOMP):
            if self.session is not None:
                self.session.inflight.pop(r.u16(), None)
                self.broker.flush(self.session)
        elif ptype == PUBREC:
            self.send(packet(PUBREL, 0x02, r.take(2)))
        elif ptype == SUBSCRIBE:
            self.handle_subscribe(r)
        elif ptype == UNSUBSCRIBE:
            mid = r.u16()
            if self.version == 5:
                r.skip_properties()
            codes = bytearray()
            while r.pos < len(r.data):
                filt = r.text()
                if self.session is not None:
                    self.session.subscriptions.pop(filt, None)
                codes.append(0)
            props = encode_varint(0) + bytes(codes) if self.version == 5 else b""
            self.send(packet(UNSUBACK, 0, mid.to_bytes(2, "big") + props))
        elif ptype == PINGREQ:
            self.send(packet(PINGRESP, 0, b""))
        else:
            raise ProtocolError(f"unexpected packet type {ptype}")

    def handle_subscribe(self, r: Reader) -> None:
        mid = r.u16()
        if self.version == 5:
            r.skip_properties()
        granted = bytearray()
        filters: list[tuple[str, int]] = []
        while r.pos < len(r.data):
            filt = r.text()
            qos = min(r.u8() & 0x03, 1)
            filters.append((filt, qos))
            granted.append(qos)
        if self.session is None:
            raise ProtocolError("SUBSCRIBE before CONNECT")
        for filt, qos in filters:
            self.session.subscriptions[filt] = qos
        props = encode_varint(0) if self.version == 5 else b""
        self.send(packet(SUBACK, 0, mid.to_bytes(2, "big") + props + bytes(granted)))
        for filt, qos in filters:
            for msg in self.broker.retained_for(filt):
                self.broker.enqueue(self.session, Message(msg.topic, msg.payload, qos, True))
        self.broker.flush(self.session)


class Broker:
    """The broker state; every method runs on the broker's event loop thread."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.retained: dict[str, Message] = {}
        self.connections: set[Connection] = set()
        self.max_inflight = 20

    def attach(self, conn: Connection, client_id: str, clean: bool, expiry: int) -> bool:
        old = self.sessions.get(client_id)
        if old is not None and old.conn is not None:
            # §3.1.4-3: a second connection with the same client id takes over.
            old.conn.will = None
            with contextlib.suppress(Exception):
                old.conn.writer.close()
            old.conn = None
        present = old is not None and not clean
        if not present:
            old = Session(client_id)
            self.sessions[client_id] = old
        assert old is not None
        old.conn, old.expiry_s, old.version = conn, expiry, conn.version
        conn.session = old
        # Resend unacknowledged messages first, with their ids (§4.4).
        for mid, msg in list(old.inflight.items()):
            conn.send(self.publish_packet(old, msg, mid, dup=True))
        return present

    def disconnected(self, conn: Connection, clean_exit: bool) -> None:
        session = conn.session
        if session is None or session.conn is not conn:
            return
        session.conn = None
        if conn.will is not None and not clean_exit:
            self.route(conn.will)
        if session.expiry_s == 0:
            self.sessions.pop(session.client_id, None)

    def route(self, msg: Message) -> None:
        if msg.retain:
            if msg.payload:
                self.retained[msg.topic] = msg
            else:
                self.retained.pop(msg.topic, None)
        for session in list(self.sessions.values()):
            qos = max(
                (q for f, q in session.subscriptions.items() if topic_matches(f, msg.topic)),
                default=-1,
            )
            if qos < 0:
                continue
            self.enqueue(session, Message(msg.topic, msg.payload, min(qos, msg.qos), False))
            self.flush(session)

    def enqueue(self, session: Session, msg: Message) -> None:
        if session.conn is None and msg.qos == 0:
            return
        if len(session.queue) >= MAX_QUEUED:
            log.warning("queue full for %s: message on %s dropped", session.client_id, msg.topic)
            return
        session.queue.append(msg)

    def flush(self, session: Session | None) -> None:
        if session is None or session.conn is None:
            return
        while session.queue and len(session.inflight) < self.max_inflight:
            msg = session.queue.popleft()
            mid = 0
            if msg.qos:
                mid = session.new_mid()
                session.inflight[mid] = msg
            session.conn.send(self.publish_packet(session, msg, mid))

    def publish_packet(self, session: Session, msg: Message, mid: int, dup: bool = False) -> bytes:
        flags = (0x08 if dup else 0) | (msg.qos << 1) | (0x01 if msg.retain else 0)
        body = encode_str(msg.topic) + (mid.to_bytes(2, "big") if msg.qos else b"")
        if session.version == 5:
            body += encode_varint(0)
        return packet(PUBLISH, flags, body + msg.payload)

    def retained_for(self, filt: str) -> list[Message]:
        return [m for t, m in self.retained.items() if topic_matches(filt, t)]


class EmbeddedBroker:
    """The broker on its own thread and event loop, listening on 127.0.0.1."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.state = Broker()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self.state, reader, writer)
        self.state.connections.add(conn)
        try:
            await conn.serve()
        finally:
            self.state.connections.discard(conn)
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.state.connections):
            conn.will = None  # the broker going away is not the clients' abnormal disconnect
            conn.writer.close()
        for _ in range(100):
            if not self.state.connections:
                break
            await asyncio.sleep(0.01)
        if self._server is not None:
            await self._server.wait_closed()
        asyncio.get_running_loop().stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._client, self.host, self.port)
            )
            self.port = int(self._server.sockets[0].getsockname()[1])
        except OSError as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._close_leftovers(loop)
            loop.close()

    def _close_leftovers(self, loop: asyncio.AbstractEventLoop) -> None:
        """Abort the connections `_shutdown` did not see end within its wait (a loaded
        machine), and let their tasks finish, so no socket is left for the garbage collector
        to find open (a ResourceWarning in whatever test runs then)."""
        for conn in list(self.state.connections):
            conn.writer.transport.abort()
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))

    def start(self) -> EmbeddedBroker:
        """Start listening; returns once the port accepts connections."""
        self._thread = threading.Thread(target=self._run, name="embedded-mqtt", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError(f"embedded MQTT broker on {self.host}: not listening within 10 s")
        if self._error is not None:
            raise OSError(
                f"embedded MQTT broker cannot listen on {self.host}:{self.port}: {self._error}"
            ) from self._error
        return self

    def stop(self) -> None:
        """Stop the loop and close every connection."""
        if self._loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
            self._thread.join(10)
            self._loop = None


def main(argv: list[str] | None = None) -> int:
    """Command line entry: serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.broker", description=__doc__.split("\n", 1)[0]
    )
    parser.add_argument(
        "--port",
        type=int,
        default=1883,
        help="TCP port to listen on at 127.0.0.1 (default %(default)s; 0 picks a free one)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    broker = EmbeddedBroker(port=args.port).start()
    print(f"embedded MQTT broker on 127.0.0.1:{broker.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
