"""A simulated upstream platform (省/国家平台) that envgrid forwards to: an HJ 212 server
on loopback for the forwarding tests and ``envgrid bench forward``.

It decodes what it receives (HJ 212-2017 and 2025, SM4 with the key it is given), keeps
every data frame in :attr:`UpstreamServer.frames` and answers 9014 — unless told to
misbehave: delay each ack (``ack_delay_s``), drop acks (``drop_acks``: how many of the
next acks to swallow, or a predicate on the frame), answer under another MN
(``answer_mn``), or reset a connection after a number of frames (``reset_after``).
:meth:`UpstreamServer.down` closes the listener and every connection (an outage);
:meth:`UpstreamServer.up` listens again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from protocol import Decoder, Frame, FrameError, Role, encode_data_ack, encode_reply

__all__ = ["UpstreamServer"]


@dataclass(eq=False)
class UpstreamServer:
    host: str = "127.0.0.1"
    port: int = 0
    sm4_key: bytes | None = None
    ack_delay_s: float = 0.0
    #: swallow the next N acks (a counter), or the acks of the frames the predicate picks
    drop_acks: int | Callable[[Frame], bool] = 0
    #: reset (RST) a connection after this many frames, once (then None)
    reset_after: int | None = None
    #: answer with this MN instead of the frame's (a platform that writes its own)
    answer_mn: str | None = None
    frames: list[Frame] = field(default_factory=list)
    errors: list[FrameError] = field(default_factory=list)
    connections: int = 0
    acks_sent: int = 0
    acks_dropped: int = 0
    #: connections the forwarder reset or dropped while this server read from them
    peer_resets: int = 0
    _server: asyncio.Server | None = field(default=None, init=False)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set, init=False)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def up(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """An outage: stop listening and drop every connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in list(self._writers):
            _reset(w)
        self._writers.clear()

    async def __aenter__(self) -> UpstreamServer:
        await self.up()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.down()

    async def wait_for(self, count: int, within: float = 10.0) -> None:
        """Until at least ``count`` data frames arrived (``TimeoutError`` after ``within`` s)."""
        async with asyncio.timeout(within):
            while len(self.frames) < count:
                self._arrived.clear()
                await self._arrived.wait()

    def _keys(self, mn: str) -> tuple[bytes, ...]:
        del mn
        return () if self.sm4_key is None else (self.sm4_key,)

    def _drop(self, frame: Frame) -> bool:
        rule = self.drop_acks
        if callable(rule):
            return rule(frame)
        if rule > 0:
            self.drop_acks = rule - 1
            return True
        return False

    def _answer(self, frame: Frame) -> bytes:
        if self.answer_mn is None:
            return encode_data_ack(frame)
        return encode_reply(
            9014, qn=frame.qn, mn=self.answer_mn, pw=frame.pw, edition=frame.edition, cp=()
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        decoder = Decoder(role=Role.PLATFORM, sm4_keys=self._keys)
        try:
            while data := await reader.read(65536):
                acks: list[bytes] = []
                for event in decoder.feed(data):
                    if isinstance(event, FrameError):
                        self.errors.append(event)
                        continue
                    if not isinstance(event, Frame):
                        continue
                    self.frames.append(event)
                    self._arrived.set()
                    if self.reset_after is not None and len(self.frames) >= self.reset_after:
                        self.reset_after = None
                        _reset(writer)
                        return
                    if event.flag is not None and event.flag & 1:
                        if self._drop(event):
                            self.acks_dropped += 1
                        else:
                            acks.append(self._answer(event))
                if acks:
                    if self.ack_delay_s:
                        await asyncio.sleep(self.ack_delay_s)
                    writer.write(b"".join(acks))
                    self.acks_sent += len(acks)
                    await writer.drain()
        except (ConnectionError, OSError):  # the forwarder reset or dropped the link
            self.peer_resets += 1
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(OSError):
                writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a crashed or firewalled peer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    writer.transport.abort()
