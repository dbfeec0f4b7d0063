"""A TCP relay that delays every byte by a fixed time each way: a network to the database.

Why: the capacity model (docs/scaling.md) is checked with app nodes that are a
network hop away from PostgreSQL. `tc netem` would add that delay, but this
machine's kernel has no netem qdisc, so this relay does it instead: it accepts
TCP connections on an address of the bench's own (namespaced) links and forwards
each one to PostgreSQL's unix socket, holding every chunk `delay` seconds in each
direction, in order. It only moves bytes; it does not read the protocol.

`python -m bench.delay_relay HOST PORT UNIX_SOCKET DELAY_MS`
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def receive() -> None:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
        queue.put_nowait((loop.time() + delay, b""))

    async def send() -> None:
        while True:
            due, data = await queue.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    try:
        await asyncio.gather(receive(), send())
    except (ConnectionError, OSError):
        writer.close()


async def _serve(host: str, port: int, socket_path: str, delay: float) -> None:
    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter):
        try:
            db_reader, db_writer = await asyncio.open_unix_connection(socket_path)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pipe(client_reader, db_writer, delay),
            _pipe(db_reader, client_writer, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(relay, host, port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    host, port, socket_path, delay_ms = sys.argv[1:5]
    asyncio.run(_serve(host, int(port), socket_path, float(delay_ms) / 1000))


if __name__ == "__main__":
    main()
