"""An asyncio client of baresip's ctrl_tcp interface: JSON in netstrings, one connection per line.

A request is ``{"command": …, "params": …, "token": …}``; baresip answers with the same token
(``{"response": true, "ok": …, "data": …}``) and, on the same connection, reports what happens to
calls as events (``{"event": true, "type": "CALL_ESTABLISHED", "id": CALL-ID, "param": …}``).
Events are queued in arrival order for the one call the line carries at a time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("robot.phone")

#: A netstring longer than this is not from baresip (its replies are short JSON).
MAX_FRAME = 1 << 20


class CtrlError(RuntimeError):
    """The line refused a command, or its connection is gone."""


@dataclass(frozen=True)
class Event:
    type: str
    call_id: str = ""
    param: str = ""
    peer: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(type=str(data.get("type", "")), call_id=str(data.get("id", "") or ""),
                   param=str(data.get("param", "") or ""), peer=str(data.get("peeruri", "") or ""))


def encode(message: dict[str, Any]) -> bytes:
    payload = json.dumps(message, ensure_ascii=False).encode()
    return b"%d:%s," % (len(payload), payload)


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """One netstring's JSON object; IncompleteReadError at the end of the stream."""
    head = await reader.readuntil(b":")
    length = int(head[:-1])
    if not 0 <= length <= MAX_FRAME:
        raise CtrlError(f"netstring of {length} bytes from baresip")
    body = await reader.readexactly(length + 1)
    if body[-1:] != b",":
        raise CtrlError("netstring without its trailing comma")
    return json.loads(body[:-1])


class Ctrl:
    """One long-lived connection to one baresip line."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.events: asyncio.Queue[Event | None] = asyncio.Queue()
        self._tokens = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._pump is not None and not self._pump.done()

    async def connect(self, timeout: float = 5.0) -> None:
        self._reader, self._writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), timeout)
        self._pump = asyncio.create_task(self._read_loop(), name=f"baresip-ctrl-{self.port}")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        if self._pump is not None:
            await asyncio.gather(self._pump, return_exceptions=True)

    async def command(self, command: str, params: str = "", timeout: float = 5.0) -> str:
        """Send a command and wait for its answer; the answer's data, or CtrlError when refused."""
        if not self.connected or self._writer is None:
            raise CtrlError(f"no connection to baresip at {self.host}:{self.port}")
        token = str(next(self._tokens))
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[token] = answer
        try:
            self._writer.write(encode({"command": command, "params": params, "token": token}))
            await self._writer.drain()
            reply = await asyncio.wait_for(answer, timeout)
        finally:
            self._waiting.pop(token, None)
        if not reply.get("ok"):
            raise CtrlError(f"baresip refused {command} {params}: {reply.get('data', '')}".strip())
        return str(reply.get("data", "") or "")

    def drain_events(self) -> None:
        """Forget events left from an earlier call."""
        while not self.events.empty():
            self.events.get_nowait()

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while True:
                message = await read_frame(self._reader)
                if message.get("response"):
                    waiting = self._waiting.get(str(message.get("token", "")))
                    if waiting is not None and not waiting.done():
                        waiting.set_result(message)
                elif message.get("event"):
                    self.events.put_nowait(Event.from_json(message))
        except (asyncio.IncompleteReadError, ConnectionError, CtrlError, ValueError) as error:
            log.warning("baresip ctrl connection %s:%s ended: %s", self.host, self.port, error)
        finally:
            for waiting in self._waiting.values():
                if not waiting.done():
                    waiting.set_exception(CtrlError("baresip ctrl connection closed"))
            # None tells a call in progress that the line is gone (its outcome is then unknown).
            self.events.put_nowait(None)
