"""A tiny fake HJ 212 platform for the simulator tests.

An asyncio server that decodes what stations send with :class:`protocol.Decoder`,
answers 9014 (:func:`protocol.encode_data_ack`) to every upload that asks for one
— unless ``drop(frame, attempt)`` says to drop that transmission — and can send
downlink commands to a station by MN.  HJ 212-2025: ``sm4_keys`` (MN → keys) lets it
read encrypted uploads, a 9015 heartbeat gets its 9013, and commands can be encrypted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from protocol import (
    DataUpload,
    Decoder,
    Frame,
    FrameError,
    Heartbeat,
    InfoUpload,
    StatusUpload,
    encode_data_ack,
    encode_notify_ack,
    encode_request,
)

DropPolicy = Callable[[Frame, int], bool]


def never(frame: Frame, attempt: int) -> bool:
    return False


@dataclass(eq=False)
class Session(asyncio.Protocol):
    platform: FakePlatform
    transport: asyncio.Transport | None = None
    decoder: Decoder = field(default_factory=lambda: Decoder(max_length=1024))
    mn: str | None = None
    local: tuple[str, int] | None = None
    peer: tuple[str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        self.platform.connections += 1
        self.platform.open.add(self)
        self.platform.peers.append(self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.platform.open.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.platform.raw.append(data)
        for event in self.decoder.feed(data):
            self.platform.on_event(self, event)

    def eof_received(self) -> bool | None:
        for event in self.decoder.close():
            self.platform.on_event(self, event)
        return None

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)


class FakePlatform:
    def __init__(
        self,
        *,
        drop: DropPolicy = never,
        max_length: int = 1024,
        sm4_keys: Callable[[str], Sequence[bytes]] | None = None,
    ) -> None:
        self.drop = drop
        self.sm4_keys = sm4_keys
        self.raw: list[bytes] = []  # every chunk received, as on the wire
        self.max_length = max_length
        self.frames: list[Frame] = []
        self.times: list[float] = []  # loop time of each frame's arrival
        self.errors: list[FrameError] = []
        self.sessions: dict[str, Session] = {}
        self.open: set[Session] = set()
        self.peers: list[tuple[str, int] | None] = []
        self.attempts: dict[tuple[str | None, str | None], int] = {}
        self.acks_sent = 0
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0
        self._changed = asyncio.Event()

    async def start(self, host: str = "127.0.0.1") -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: Session(
                self, decoder=Decoder(max_length=self.max_length, sm4_keys=self.sm4_keys)
            ),
            host,
            0,
            backlog=4096,
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for session in list(self.open):
                if session.transport is not None:
                    session.transport.abort()
            await self.server.wait_closed()

    async def __aenter__(self) -> FakePlatform:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def on_event(self, session: Session, event: Frame | FrameError) -> None:
        if isinstance(event, FrameError):
            self.errors.append(event)
        else:
            self.frames.append(event)
            self.times.append(asyncio.get_running_loop().time())
            if event.mn:
                session.mn = event.mn
                self.sessions[event.mn] = session
            if event.ack_requested and isinstance(event, DataUpload | StatusUpload | InfoUpload):
                key = (event.mn, event.effective_qn)
                attempt = self.attempts.get(key, 0)
                self.attempts[key] = attempt + 1
                if not self.drop(event, attempt):
                    session.write(encode_data_ack(event))
                    self.acks_sent += 1
            elif isinstance(event, Heartbeat) and event.cn == 9015:
                session.write(encode_notify_ack(event))  # 9015 is answered by 9013
        self._changed.set()

    def uploads(self, cn: int | None = None, mn: str | None = None) -> list[Frame]:
        return [
            f
            for f in self.frames
            if isinstance(f, DataUpload | StatusUpload | InfoUpload)
            and (cn is None or f.cn == cn)
            and (mn is None or f.mn == mn)
        ]

    def of(self, cn: int, mn: str | None = None) -> list[Frame]:
        return [f for f in self.frames if f.cn == cn and (mn is None or f.mn == mn)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("condition not met in time")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
            except TimeoutError:
                pass

    def command(
        self,
        mn: str,
        cn: int,
        cp: dict[str, str | int] | None = None,
        *,
        qn: str = "20240501120000123",
        st: str = "22",
        pw: str = "123456",
        edition: str = "2017",
        sm4_key: bytes | None = None,
    ) -> None:
        session = self.sessions[mn]
        session.write(
            encode_request(
                cn, qn=qn, st=st, mn=mn, pw=pw, edition=edition, cp=cp or {}, sm4_key=sm4_key
            )
        )
