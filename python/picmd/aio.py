"""The asyncio picmd client: the API of :class:`picmd.Client` as
coroutines, on asyncio streams.

    async with picmd.aio.Client(port=15769) as c:
        await c.call("gpio", "write", 17, 1)
        async with c.events("gpio.4", timeout=10) as events:
            async for ev in events:
                print(ev.edge, ev.level)

One task reads each connection and completes the waiting calls by tag,
so any number of calls may be awaited at once; when the connection
drops, a task reconnects with backoff and restores AUTH, subscriptions
and the lease.  Calls in flight then raise ConnectionLost.
"""

import asyncio
import contextlib
import inspect
import itertools
import socket
import time

from . import _common
from .errors import CommandTimeout, ConnectionLost, Error, TooLongError
from .protocol import format_request

__all__ = ["Client", "EventStream", "connect"]

_STOP = object()
_LINE_LIMIT = 1 << 20


class _Unread(ConnectionLost):
    """The daemon closed after a TOOLONG line without reading this call:
    it never ran and goes out again."""


class _Conn:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.alive = True
        self.task = None


class EventStream:
    """An async iterator over events, from :meth:`Client.events`.  Use
    ``async with`` (it subscribes on entry, so no event after that is
    missed) or just ``async for`` (it subscribes on the first step).
    Iteration ends when no event came within its timeout or the stream or
    client is closed."""

    def __init__(self, client, pattern, timeout):
        self.pattern = pattern
        self.timeout = timeout
        self._client = client
        self._queue = asyncio.Queue()
        self._owns = False
        self._started = False
        self._closed = False

    def push(self, event):
        """Queue an event for the iterator (the client does this)."""
        self._queue.put_nowait(event)

    async def start(self):
        """Register the stream and subscribe its pattern (once)."""
        if not self._started:
            self._started = True
            await self._client._add_stream(self)

    async def get(self, timeout=None):
        """The next event, waiting at most timeout seconds (None: for
        ever); None when none came or the stream is closed."""
        await self.start()
        if self._closed:
            return None
        try:
            event = await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None
        if event is _STOP:
            self._closed = True
            return None
        return event

    def __aiter__(self):
        return self

    async def __anext__(self):
        event = await self.get(self.timeout)
        if event is None:
            raise StopAsyncIteration
        return event

    async def close(self):
        """Stop the stream; unsubscribe its pattern when the stream made
        that subscription and nothing else uses it."""
        if self._started and not self._closed:
            self._closed = True
            await self._client._drop_stream(self)
        self._closed = True

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc):
        await self.close()


class Client(_common.LineRouter):
    """An asyncio connection to picmdd; arguments as for
    :class:`picmd.Client`.  Creating it does not connect: ``await
    c.connect()`` or ``async with Client(...) as c`` does (raising
    NotConnected or DeniedError as the threaded client's constructor).
    Every method is a coroutine unless it says otherwise."""

    def __init__(self, host=None, port=None, unix=None, token=None,
                 token_file=None, timeout=5.0, reconnect=True):
        self._settings = _common.Settings(host, port, unix, token,
                                          token_file, timeout, reconnect)
        self.timeout = timeout
        self._conn = None
        self._up = None             # asyncio.Event, made in the loop
        self._calls = {}            # tag -> (future, conn, line length)
        self._tags = itertools.count(1)
        self._closed = False
        self._registry = _common.Registry()
        self._sub_lock = None
        self._drain_lock = None
        self._lease_ms = None
        self._tasks = set()         # the client's own tasks
        self._calling = set()       # call_async's tasks
        self._callbacks = None
        self._dispatcher = None
        self._reconnector = None

    # ---- connecting ----

    async def connect(self):
        """Connect, retrying with backoff until timeout; returns self.
        Raises NotConnected, or DeniedError for a refused token."""
        if self._up is None:
            self._up = asyncio.Event()
            self._sub_lock = asyncio.Lock()
            self._drain_lock = asyncio.Lock()
            self._callbacks = asyncio.Queue()
        deadline = None if self.timeout is None \
            else time.monotonic() + self.timeout
        for delay in _common.backoff_delays():
            got = await self._try_connect(restoring=False)
            if isinstance(got, _Conn):
                return self
            if _common.is_fatal(got):
                raise got
            if deadline is not None and time.monotonic() + delay > deadline:
                raise self._settings.not_connected(str(got)) from got
            await asyncio.sleep(delay)

    async def _open(self):
        s = self._settings
        if s.unix is not None:
            opening = asyncio.open_unix_connection(s.unix, limit=_LINE_LIMIT)
        else:
            opening = asyncio.open_connection(s.host, s.port,
                                              limit=_LINE_LIMIT)
        reader, writer = await asyncio.wait_for(opening, self.timeout)
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(reader, writer)
        conn.task = self._spawn(self._read(conn))
        return conn

    async def _try_connect(self, restoring):
        try:
            conn = await self._open()
        except (OSError, asyncio.TimeoutError) as e:
            return e
        try:
            await self._handshake(conn, restoring)
        except Error as e:
            self._lost(conn)
            return e
        if not conn.alive or self._closed:
            self._lost(conn)
            return ConnectionLost("connection lost during the handshake")
        self._conn = conn
        self._up.set()
        return conn

    async def _handshake(self, conn, restoring):
        if self._settings.token is not None:
            await self._request(conn, ["AUTH", self._settings.token],
                                self.timeout)
        if not restoring:
            return
        restore = [["SUBSCRIBE", p] for p in self._registry.patterns()]
        if self._lease_ms is not None:
            restore.append(_common.lease_words(self._lease_ms))
        for words in restore:
            try:
                await self._request(conn, words, self.timeout)
            except ConnectionLost:
                raise
            except Error as e:
                _common.log_restore_failure(" ".join(map(str, words)), e)

    async def _reconnect(self):
        for delay in _common.backoff_delays():
            got = await self._try_connect(restoring=True)
            if isinstance(got, _Conn) or self._closed:
                return
            await asyncio.sleep(delay)

    def _spawn(self, coro, tasks=None):
        """A task kept referenced until done; the client's own tasks
        (tasks None) are cancelled by close(), the callers' are not."""
        tasks = self._tasks if tasks is None else tasks
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return task

    # ---- requests ----

    async def call(self, *words, timeout=None):
        """Send one request and return its payload (str, "" for a bare
        OK).  Raises as :meth:`picmd.Client.call`: the Error subclass of
        the reply, CommandTimeout when no reply came within timeout
        (default: the client's), ConnectionLost when the connection
        dropped while it was in flight, NotConnected when it could not
        be sent, ValueError or TypeError for an unsendable argument."""
        wait = self.timeout if timeout is None else timeout
        deadline = None if wait is None else time.monotonic() + wait
        format_request(words)               # unsendable: raise at once
        while True:
            conn = await self._wait_connected(deadline)
            try:
                return await self._request(conn, words, _left(deadline))
            except _Unread:
                continue

    def call_async(self, *words, timeout=None):
        """Not a coroutine: start :meth:`call` as a task and return it."""
        return self._spawn(self.call(*words, timeout=timeout),
                           self._calling)

    async def _wait_connected(self, deadline):
        if self._closed:
            raise _common.closed_error()
        if self._conn is not None:
            return self._conn
        if self._up is None:
            raise self._settings.not_connected("connect() was not called")
        if not self._settings.reconnect:
            raise self._settings.not_connected(
                "connection lost, reconnect=False")
        try:
            await asyncio.wait_for(self._up.wait(), _left(deadline))
        except asyncio.TimeoutError:
            raise self._settings.not_connected(
                "not connected in time") from None
        if self._conn is None:
            raise _common.closed_error()
        return self._conn

    async def _request(self, conn, words, wait):
        tag = "a%x" % next(self._tags)
        data = (format_request(words, tag) + "\n").encode("utf-8")
        if not conn.alive:
            raise _common.lost_error(self._settings)
        future = asyncio.get_running_loop().create_future()
        self._calls[tag] = (future, conn, len(data) - 1)
        deadline = None if wait is None else time.monotonic() + wait
        conn.writer.write(data)
        transport = conn.writer.transport
        try:
            if transport.get_write_buffer_size() > \
                    transport.get_write_buffer_limits()[1]:
                await asyncio.wait_for(self._drain(conn), wait)
            return await asyncio.wait_for(asyncio.shield(future),
                                          _left(deadline))
        except asyncio.TimeoutError:
            self._calls.pop(tag, None)
            raise CommandTimeout("no reply within %.3g s (client side); "
                                 "the command may still run"
                                 % wait) from None

    async def _drain(self, conn):
        """Wait while the daemon does not read (max_inflight); the reader
        task goes on taking replies meanwhile."""
        try:
            async with self._drain_lock:
                await conn.writer.drain()
        except (OSError, RuntimeError):
            self._lost(conn)

    # ---- reading ----

    async def _read(self, conn):
        try:
            while True:
                raw = await conn.reader.readline()
                if not raw.endswith(b"\n"):
                    break
                self._on_line(conn, raw[:-1])
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            self._lost(conn)

    def _guard(self):
        return contextlib.nullcontext()

    def _on_reply(self, reply):
        future = self._calls.pop(reply.tag, (None,))[0]
        if future is not None and not future.done():
            if reply.ok:
                future.set_result(reply.text)
            else:
                future.set_exception(reply.error())

    def _on_toolong(self, conn, reply, limit):
        """As picmd.Client: the first call longer than the limit gets the
        TOOLONG; the daemon read none of the later ones, which go out
        again on the next connection."""
        found = False
        for tag, (future, owner, size) in list(self._calls.items()):
            if owner is not conn or (not found and size <= limit):
                continue
            del self._calls[tag]
            exc = _Unread() if found else TooLongError(reply.text)
            found = True
            if not future.done():
                future.set_exception(exc)
        self._lost(conn)

    def _lost(self, conn):
        if not conn.alive:
            return
        conn.alive = False
        current = self._conn is conn
        if current:
            self._conn = None
            self._up.clear()
        conn.writer.close()
        exc = _common.lost_error(self._settings)
        for tag, (future, owner, _) in list(self._calls.items()):
            if owner is conn:
                del self._calls[tag]
                if not future.done():
                    future.set_exception(exc)
        # Only the connection in use starts the (one) reconnecting task;
        # one that fails its handshake is that task's own business.
        if current and self._settings.reconnect and not self._closed and \
                (self._reconnector is None or self._reconnector.done()):
            self._reconnector = self._spawn(self._reconnect())

    # ---- convenience ----

    async def ping(self):
        """PING; returns the round trip time in seconds (float)."""
        start = time.monotonic()
        await self.call("PING")
        return time.monotonic() - start

    async def stats(self):
        """STATS as a dict (values int when they are numbers)."""
        return _common.parse_stats(await self.call("STATS"))

    async def help(self, command=None):
        """HELP: the list of command names, or the usage of command."""
        return _common.help_result(
            command, await self.call(*_common.help_words(command)))

    async def version(self):
        """VERSION's payload, e.g. "picmd 0.1.0 protocol 1"."""
        return await self.call("VERSION")

    # ---- events ----

    async def subscribe(self, pattern, callback=None):
        """SUBSCRIBE pattern; callback(event) (a function or a coroutine
        function) runs for each matching event, on the client's dispatch
        task.  Restored after a reconnect.  Raises as :meth:`call`."""
        async with self._sub_lock:
            await self._ensure_subscribed(pattern)
            if callback is not None:
                self._registry.subs[pattern].callbacks.append(callback)
                if self._dispatcher is None:
                    self._dispatcher = self._spawn(self._dispatch())

    async def unsubscribe(self, pattern):
        """UNSUBSCRIBE pattern and forget its callbacks."""
        async with self._sub_lock:
            if self._registry.remove(pattern):
                await self.call("UNSUBSCRIBE", pattern)

    async def subscriptions(self):
        """The daemon's list of this connection's topics."""
        return (await self.call("SUBSCRIPTIONS")).split()

    def events(self, pattern=None, timeout=None):
        """Not a coroutine: an :class:`EventStream` of the events matching
        pattern (subscribed when the stream starts, unless the client
        already is, and unsubscribed when it closes), or of every event
        the client gets when pattern is None.  Iteration stops after
        timeout seconds without an event (None: never)."""
        return EventStream(self, pattern, timeout)

    async def _ensure_subscribed(self, pattern):
        if pattern in self._registry.subs:
            return
        before = await self.call("SUBSCRIPTIONS")
        await self.call("SUBSCRIBE", pattern)
        after = await self.call("SUBSCRIPTIONS")
        self._registry.add(pattern, before, after)

    async def _add_stream(self, stream):
        async with self._sub_lock:
            self._registry.streams.append(stream)
            if stream.pattern is None:
                return
            stream._owns = stream.pattern not in self._registry.subs
            try:
                await self._ensure_subscribed(stream.pattern)
            except BaseException:
                self._registry.streams.remove(stream)
                raise
            self._registry.subs[stream.pattern].streams += 1

    async def _drop_stream(self, stream):
        async with self._sub_lock:
            if stream in self._registry.streams:
                self._registry.streams.remove(stream)
            sub = self._registry.subs.get(stream.pattern)
            if sub is None:
                return
            sub.streams -= 1
            if not (stream._owns and sub.idle() and not self._closed):
                return
        try:
            await self.unsubscribe(stream.pattern)
        except Error:
            pass

    async def _dispatch(self):
        while True:
            item = await self._callbacks.get()
            if item is _STOP:
                return
            callback, event = item
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                _common.log.exception("picmd: event callback %r failed",
                                      callback)

    # ---- lease ----

    async def lease(self, ms):
        """Hold a lease of ms milliseconds, kept by a PING every ms/3 from
        a task and taken again after a reconnect; lease(None) ends it
        cleanly (LEASE OFF)."""
        if ms is None:
            return await self.lease_off()
        await self.call(*_common.lease_words(ms))
        first = self._lease_ms is None
        self._lease_ms = ms
        if first:
            self._spawn(self._keep_alive())

    async def lease_off(self):
        """End the lease cleanly (LEASE OFF) and stop the keep-alive."""
        self._lease_ms = None
        await self.call(*_common.lease_words(None))

    async def _keep_alive(self):
        while self._lease_ms is not None and not self._closed:
            await asyncio.sleep(_common.keepalive_interval(self._lease_ms))
            if self._lease_ms is not None and self._conn is not None:
                try:
                    await self.call("PING")
                except Error:
                    pass

    # ---- closing ----

    async def close(self):
        """End a held lease cleanly, close the connection, stop the
        client's tasks; calls still waiting raise ConnectionLost."""
        if self._closed:
            return
        if self._lease_ms is not None and self._conn is not None:
            try:
                await self.lease_off()
            except Error:
                pass
        self._closed = True
        if self._conn is not None:
            self._lost(self._conn)
        if self._up is not None:
            self._up.set()                  # waiters see it is closed
        for stream in list(self._registry.streams):
            stream.push(_STOP)
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def connected(self):
        """True while a connection is up and authenticated."""
        return self._conn is not None

    async def __aenter__(self):
        return await self.connect()

    async def __aexit__(self, *exc):
        await self.close()


async def connect(*args, **kwargs):
    """A connected :class:`Client`: ``c = await picmd.aio.connect(...)``."""
    return await Client(*args, **kwargs).connect()


def _left(deadline):
    if deadline is None:
        return None
    return max(0.0, deadline - time.monotonic())
