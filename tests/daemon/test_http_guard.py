"""The daemon's HTTP server against idle and slow clients, in-process on a real socket."""

from __future__ import annotations

import asyncio
import socket
import time

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from opsbook.daemon.http_server import descriptor_budget, server


async def _ok(_: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


APP = Starlette(routes=[Route("/health", _ok)])


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_idle_connections_are_evicted_oldest_first_and_slow_headers_time_out() -> None:
    async def scenario() -> tuple[list[bool], bytes, bool, bool]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        srv = server(APP, max_connections=4, header_timeout=0.5)
        task = asyncio.create_task(srv.serve(sockets=[listener]))
        while not srv.started:
            await asyncio.sleep(0.01)
        idle = []
        for _ in range(6):  # with the request, three more than allowed: the oldest go
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setblocking(False)
            idle.append(sock)
            await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        evicted = [_closed(s) for s in idle]
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /health HTTP/1.1\r\nHost:")  # and never the rest
        slow.setblocking(False)
        start = time.monotonic()
        while not _closed(slow) and time.monotonic() - start < 5:
            await asyncio.sleep(0.05)
        slow_closed = _closed(slow)
        srv.should_exit = True
        await task
        for sock in [*idle, slow]:
            sock.close()
        return evicted, answer, slow_closed, time.monotonic() - start < 5

    evicted, answer, slow_closed, in_time = asyncio.run(scenario())
    assert b"200 OK" in answer and answer.endswith(b"ok")
    assert evicted[:3] == [True, True, True]  # the oldest idle ones made room
    assert evicted[-1] is False  # the newest stays
    assert slow_closed and in_time


def test_the_inbound_budget_keeps_a_reserve_for_the_checks() -> None:
    assert descriptor_budget(256) == 64  # 128 kept back, 64 for one accept burst
    assert descriptor_budget(1024) == 448
    assert descriptor_budget(1_048_576) == 1024
    assert descriptor_budget(20) == 16
