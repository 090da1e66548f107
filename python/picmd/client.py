"""The threaded picmd client: one connection shared by any number of
threads, every request tagged so replies complete out of order.

Threads: a connection thread (connects, reconnects, and is the only
writer), one reader per connection (the only reader; it completes the
futures and queues events), a dispatcher that runs event callbacks, and
a keep-alive while a lease is held.
"""

import collections
import concurrent.futures
import itertools
import queue
import socket
import threading
import time

from . import _common
from .errors import CommandTimeout, ConnectionLost, Error, TooLongError
from .protocol import format_request

__all__ = ["Client", "EventStream"]

_BATCH_BYTES = 256 * 1024
_STOP = object()


class _Call:
    """One request: its future, its line, and the connection it went out
    on (None while it waits to be written)."""

    __slots__ = ("tag", "data", "future", "deadline", "conn")

    def __init__(self, tag, data, deadline):
        self.tag = tag
        self.data = data
        self.future = concurrent.futures.Future()
        self.deadline = deadline
        self.conn = None


class _Conn:
    """One connected socket and whether it is still usable."""

    def __init__(self, sock):
        self.sock = sock
        self.alive = True
        self.reader = None


def _settle(future, result=None, exc=None):
    """Complete a future unless it already is (cancelled, timed out)."""
    if future.done():
        return
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except concurrent.futures.InvalidStateError:
        pass


class EventStream:
    """An iterator over the events of one pattern (or of all the client's
    subscriptions), from :meth:`Client.events`.  Iteration ends when no
    event came within its timeout or when the stream or the client is
    closed.  Use it in a ``with`` block or call :meth:`close`."""

    def __init__(self, client, pattern, timeout, owns):
        self.pattern = pattern
        self.timeout = timeout
        self._client = client
        self._owns = owns
        self._queue = queue.Queue()
        self._closed = False

    def push(self, event):
        """Queue an event for the iterator (the client does this)."""
        self._queue.put(event)

    def get(self, timeout=None):
        """The next event, waiting at most timeout seconds (None: for
        ever); None when none came or the stream is closed."""
        if self._closed:
            return None
        try:
            event = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is _STOP:
            self._closed = True
            return None
        return event

    def __iter__(self):
        return self

    def __next__(self):
        event = self.get(self.timeout)
        if event is None:
            raise StopIteration
        return event

    def close(self):
        """Stop the stream; unsubscribe its pattern when the stream made
        that subscription and nothing else uses it."""
        if not self._closed:
            self._closed = True
            self._client._drop_stream(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Client(_common.LineRouter):
    """A connection to picmdd, shared safely by many threads.

    Client(host=None, port=None, unix=None, token=None, token_file=None,
    timeout=5.0, reconnect=True)

    - host, port: TCP endpoint; default $PICMD_HOST or localhost and
      $PICMD_PORT or 15769 (the variables of the picmd command).
    - unix: path of the daemon's Unix socket, used instead of TCP.
    - token, token_file: sent with AUTH on every connect; default
      $PICMD_TOKEN.  token_file's first line is the token.
    - timeout: seconds to connect and, by default, to wait for a reply
      (None: no limit).
    - reconnect: when the connection drops, connect again in the
      background (0.1 s doubling to 5 s between tries) and restore AUTH,
      every subscription and the lease.  Requests that were in flight
      raise :class:`~picmd.ConnectionLost`; they are never sent again.

    The constructor connects: it raises :class:`~picmd.NotConnected`
    when no connection could be made within timeout, and
    :class:`~picmd.DeniedError` when the token is refused.  Use it as a
    context manager, or call :meth:`close`.
    """

    def __init__(self, host=None, port=None, unix=None, token=None,
                 token_file=None, timeout=5.0, reconnect=True):
        self._settings = _common.Settings(host, port, unix, token,
                                          token_file, timeout, reconnect)
        self.timeout = timeout
        self._cond = threading.Condition(threading.Lock())
        self._outq = collections.deque()    # _Calls not yet written
        self._calls = {}                    # tag -> _Call awaiting a reply
        self._tags = itertools.count(1)
        self._conn = None
        self._closed = False
        self._registry = _common.Registry()
        self._sub_lock = threading.RLock()  # one SUBSCRIBE at a time
        self._lease_ms = None
        self._lease_wake = threading.Event()
        self._keepalive = None
        self._callbacks = queue.SimpleQueue()
        self._dispatcher = None
        self._connect_first()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="picmd-connection")
        self._thread.start()

    # ---- public API ----

    def call(self, *words, timeout=None):
        """Send one request (its words: str, int, float, bool or UTF-8
        bytes) and wait for its reply.

        Returns the reply's payload as str ("" for a bare OK).  Raises
        the :class:`~picmd.Error` subclass for the daemon's ERR code,
        :class:`~picmd.CommandTimeout` when no reply came within timeout
        (default: the client's), :class:`~picmd.ConnectionLost` when the
        connection dropped while it was in flight (it may have run),
        :class:`~picmd.NotConnected` when it could not be sent at all,
        ValueError or TypeError for an argument that cannot be sent."""
        wait = self.timeout if timeout is None else timeout
        call = self._submit(words, wait)
        try:
            return call.future.result(wait)
        except concurrent.futures.TimeoutError:
            pass
        unsent = self._abandon(call)
        if call.future.done() and not call.future.cancelled():
            return call.future.result()
        if unsent and not self.connected:
            raise self._settings.not_connected("not connected within "
                                               "%.3g s" % wait)
        if unsent:
            raise CommandTimeout("not sent within %.3g s: the daemon was "
                                 "not reading (max_inflight); it did not "
                                 "run" % wait)
        raise CommandTimeout("no reply within %.3g s (client side); the "
                             "command may still run" % wait)

    def call_async(self, *words):
        """Send one request without waiting: returns a
        concurrent.futures.Future whose result is the payload str, or
        whose exception is as for :meth:`call` (NotConnected when no
        connection came within the client's timeout).  Any number may
        be in flight; they complete in whatever order the daemon
        answers.  Done-callbacks run on the reader thread: they must not
        block on this client."""
        return self._submit(words, self.timeout).future

    def ping(self):
        """PING; returns the round trip time in seconds (float).  Raises
        as :meth:`call`."""
        start = time.monotonic()
        self.call("PING")
        return time.monotonic() - start

    def stats(self):
        """STATS as a dict (values int when they are numbers)."""
        return _common.parse_stats(self.call("STATS"))

    def help(self, command=None):
        """HELP: the list of command names, or the usage (str) of command
        ("gpio read" or "gpio.read").  Raises UnknownCommandError for a
        command the daemon does not have."""
        return _common.help_result(
            command, self.call(*_common.help_words(command)))

    def version(self):
        """VERSION's payload, e.g. "picmd 0.1.0 protocol 1"."""
        return self.call("VERSION")

    def subscribe(self, pattern, callback=None):
        """SUBSCRIBE pattern ("gpio.17", "gpio.*", "*") and, when callback
        is given, call callback(event) for each matching event on the
        client's dispatcher thread.  The subscription is restored after
        a reconnect.  Returns None; raises ArgsError for a topic the
        daemon refuses, and as :meth:`call`."""
        with self._sub_lock:
            self._ensure_subscribed(pattern)
            if callback is not None:
                with self._cond:
                    self._registry.subs[pattern].callbacks.append(callback)
                self._start_dispatcher()

    def unsubscribe(self, pattern):
        """UNSUBSCRIBE pattern and forget its callbacks.  Returns None;
        raises as :meth:`call`."""
        with self._sub_lock:
            with self._cond:
                last = self._registry.remove(pattern)
            if last:
                self.call("UNSUBSCRIBE", pattern)

    def subscriptions(self):
        """The daemon's list of this connection's topics (SUBSCRIPTIONS)."""
        return self.call("SUBSCRIPTIONS").split()

    def events(self, pattern=None, timeout=None):
        """An :class:`EventStream` (iterator) of events: those matching
        pattern, subscribing it first when the client has not (and
        unsubscribing it when the stream closes), or with pattern None
        every event of the client's subscriptions.  Iteration stops when
        no event came within timeout seconds (None: waits for ever) or
        the client closes.  Raises as :meth:`subscribe`."""
        with self._sub_lock:
            with self._cond:
                owns = pattern is not None and \
                    pattern not in self._registry.subs
                stream = EventStream(self, pattern, timeout, owns)
                self._registry.streams.append(stream)
            if pattern is not None:
                try:
                    self._ensure_subscribed(pattern)
                except BaseException:
                    self._remove_stream(stream)
                    raise
                with self._cond:
                    self._registry.subs[pattern].streams += 1
        return stream

    def lease(self, ms):
        """Hold a lease of ms milliseconds (LEASE ms) and keep it with a
        PING every ms/3 from a background thread; it is taken again after
        a reconnect.  lease(None) ends it cleanly (LEASE OFF).  Returns
        None; raises ArgsError for a length the daemon refuses."""
        if ms is None:
            return self.lease_off()
        self.call(*_common.lease_words(ms))
        with self._cond:
            self._lease_ms = ms
            self._lease_wake.set()
            if self._keepalive is None or not self._keepalive.is_alive():
                self._keepalive = threading.Thread(
                    target=self._keep_alive, daemon=True,
                    name="picmd-keepalive")
                self._keepalive.start()

    def lease_off(self):
        """End the lease cleanly (LEASE OFF: no failsafe runs) and stop
        the keep-alive.  Returns None; raises as :meth:`call`."""
        with self._cond:
            self._lease_ms = None
            self._lease_wake.set()
        self.call(*_common.lease_words(None))

    def close(self):
        """End the lease cleanly if one is held, close the connection and
        stop the client's threads.  Requests still waiting raise
        ConnectionLost or NotConnected.  Closing twice does nothing."""
        if self._lease_ms is not None and self._conn is not None:
            try:
                self.lease_off()
            except Error:
                pass
        with self._cond:
            if self._closed:
                return
            self._closed = True
            conn = self._conn
            self._cond.notify_all()
            self._lease_wake.set()
        if conn is not None:
            self._lost(conn)
        self._fail_waiting(_common.closed_error())
        with self._cond:
            streams = list(self._registry.streams)
        for stream in streams:
            stream.push(_STOP)
        self._callbacks.put(_STOP)
        current = threading.current_thread()
        for thread in (self._thread, self._dispatcher, self._keepalive):
            if thread is not None and thread is not current:
                thread.join(5.0)

    @property
    def connected(self):
        """True while a connection is up and authenticated."""
        return self._conn is not None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- requests ----

    def _submit(self, words, wait):
        tag = "p%x" % next(self._tags)
        data = (format_request(words, tag) + "\n").encode("utf-8")
        deadline = None if wait is None else time.monotonic() + wait
        call = _Call(tag, data, deadline)
        with self._cond:
            if self._closed:
                _settle(call.future, exc=_common.closed_error())
                return call
            if self._conn is None and not self._settings.reconnect:
                _settle(call.future, exc=self._settings.not_connected(
                    "connection lost, reconnect=False"))
                return call
            self._calls[tag] = call
            self._outq.append(call)
            self._cond.notify_all()
        return call

    def _abandon(self, call):
        """Forget a call whose caller stopped waiting; True when it was
        never written (so it will never run)."""
        with self._cond:
            self._calls.pop(call.tag, None)
            unsent = call.conn is None
            if unsent:
                try:
                    self._outq.remove(call)
                except ValueError:
                    pass
        call.future.cancel()
        return unsent

    def _request_on(self, conn, words):
        """Send a request on conn at once, ahead of the queue, and wait
        for its reply (the handshake after a connect).  Only the thread
        that writes may call this."""
        tag = "h%x" % next(self._tags)
        call = _Call(tag, (format_request(words, tag) + "\n").encode("utf-8"),
                     None)
        call.conn = conn
        with self._cond:
            self._calls[call.tag] = call
        try:
            conn.sock.sendall(call.data)
        except OSError as e:
            self._lost(conn)
            raise ConnectionLost("connection lost: %s" % e) from None
        try:
            return call.future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            self._lost(conn)
            raise CommandTimeout("no reply to %s within %.3g s"
                                 % (words[0], self.timeout)) from None

    def _fail_waiting(self, exc, only_expired=False):
        """Fail the calls not yet written (all, or those past their
        deadline)."""
        now = time.monotonic()
        failed = []
        with self._cond:
            for call in list(self._outq):
                if only_expired and (call.deadline is None or
                                     call.deadline > now):
                    continue
                self._outq.remove(call)
                self._calls.pop(call.tag, None)
                failed.append(call)
        for call in failed:
            _settle(call.future, exc=exc)

    # ---- connecting ----

    def _open(self):
        s = self._settings
        if s.unix is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.connect(s.unix)
            except OSError:
                sock.close()
                raise
        else:
            sock = socket.create_connection((s.host, s.port), self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        conn = _Conn(sock)
        conn.reader = threading.Thread(target=self._read, args=(conn,),
                                       daemon=True, name="picmd-reader")
        conn.reader.start()
        return conn

    def _handshake(self, conn, restoring):
        """AUTH, then (after a reconnect) every subscription and the
        lease.  A refused token raises; a subscription or lease the
        daemon no longer takes is logged."""
        if self._settings.token is not None:
            self._request_on(conn, ["AUTH", self._settings.token])
        if not restoring:
            return
        with self._cond:
            patterns = self._registry.patterns()
            lease_ms = self._lease_ms
        for pattern in patterns:
            try:
                self._request_on(conn, ["SUBSCRIBE", pattern])
            except ConnectionLost:
                raise
            except Error as e:
                _common.log_restore_failure("SUBSCRIBE %s" % pattern, e)
        if lease_ms is not None:
            try:
                self._request_on(conn, _common.lease_words(lease_ms))
            except ConnectionLost:
                raise
            except Error as e:
                _common.log_restore_failure("LEASE %d" % lease_ms, e)

    def _try_connect(self, restoring):
        """One connection attempt with its handshake; the connection, or
        the exception that stopped it."""
        try:
            conn = self._open()
        except OSError as e:
            return e
        try:
            self._handshake(conn, restoring)
        except Error as e:
            self._lost(conn)
            return e
        with self._cond:
            usable = conn.alive and not self._closed
            if usable:
                self._conn = conn
                self._cond.notify_all()
        if not usable:
            self._lost(conn)
            return ConnectionLost("connection lost during the handshake")
        return conn

    def _connect_first(self):
        deadline = None if self.timeout is None \
            else time.monotonic() + self.timeout
        for delay in _common.backoff_delays():
            got = self._try_connect(restoring=False)
            if isinstance(got, _Conn):
                return
            if _common.is_fatal(got):
                raise got
            if deadline is not None and time.monotonic() + delay > deadline:
                raise self._settings.not_connected(str(got)) from got
            time.sleep(delay)

    def _reconnect(self):
        """Connect again with backoff until it works or the client is
        closed; calls waiting longer than their timeout fail meanwhile."""
        for delay in _common.backoff_delays():
            got = self._try_connect(restoring=True)
            if isinstance(got, _Conn):
                return True
            if _common.is_fatal(got):
                self._fail_waiting(got)
            end = time.monotonic() + delay
            while True:
                self._fail_waiting(self._settings.not_connected(str(got)),
                                   only_expired=True)
                with self._cond:
                    left = end - time.monotonic()
                    if self._closed:
                        return False
                    if left <= 0:
                        break
                    self._cond.wait(min(left, 0.05))
        return False

    def _run(self):
        """The connection thread: write while connected, reconnect when
        the connection drops."""
        while True:
            with self._cond:
                conn = self._conn
            if conn is not None:
                self._write(conn)
            with self._cond:
                if self._closed:
                    return
            if not self._settings.reconnect:
                self._fail_waiting(self._settings.not_connected(
                    "connection lost, reconnect=False"))
                return
            if not self._reconnect():
                return

    def _write(self, conn):
        """Write queued requests in batches until conn dies.  A blocked
        send (the daemon stopped reading at max_inflight) only blocks
        this thread; the reader keeps taking replies."""
        while True:
            with self._cond:
                while not self._outq and conn.alive and not self._closed:
                    self._cond.wait()
                if not conn.alive or self._closed:
                    return
                batch, size = [], 0
                while self._outq and size < _BATCH_BYTES:
                    call = self._outq.popleft()
                    if call.future.done():
                        continue
                    call.conn = conn
                    batch.append(call.data)
                    size += len(call.data)
            try:
                conn.sock.sendall(b"".join(batch))
            except OSError:
                self._lost(conn)
                return

    # ---- reading ----

    def _read(self, conn):
        buf = b""
        try:
            while True:
                data = conn.sock.recv(65536)
                if not data:
                    break
                buf += data
                if b"\n" not in data:
                    continue
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    self._on_line(conn, raw)
        except OSError:
            pass
        finally:
            self._lost(conn)

    def _guard(self):
        return self._cond

    def _on_reply(self, reply):
        with self._cond:
            call = self._calls.pop(reply.tag, None)
        if call is not None:
            if reply.ok:
                _settle(call.future, reply.text)
            else:
                _settle(call.future, exc=reply.error())

    def _on_toolong(self, conn, reply, limit):
        """Every request is tagged, so an untagged reply is the daemon's
        TOOLONG for a line it could not read: it belongs to the first
        request sent longer than the limit it names.  Every earlier
        request has been answered, and the daemon reads nothing after it
        and closes: the requests still waiting never ran, so they go out
        again on the next connection."""
        with self._cond:
            waiting = [c for c in self._calls.values() if c.conn is conn]
            long = [c for c in waiting if len(c.data) - 1 > limit][:1]
            for call in long:
                del self._calls[call.tag]
            for call in reversed(waiting):
                if call not in long and call.tag.startswith("p"):
                    call.conn = None
                    self._outq.appendleft(call)
        for call in long:
            _settle(call.future, exc=TooLongError(reply.text))
        self._lost(conn)

    def _lost(self, conn):
        """conn is dead: close it and fail what was in flight on it."""
        with self._cond:
            if not conn.alive:
                return
            conn.alive = False
            if self._conn is conn:
                self._conn = None
            lost = [c for c in self._calls.values() if c.conn is conn]
            for call in lost:
                del self._calls[call.tag]
            self._cond.notify_all()
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.sock.close()
        exc = _common.lost_error(self._settings)
        for call in lost:
            _settle(call.future, exc=exc)

    # ---- events ----

    def _start_dispatcher(self):
        with self._cond:
            if self._dispatcher is None:
                self._dispatcher = threading.Thread(
                    target=self._dispatch, daemon=True,
                    name="picmd-dispatcher")
                self._dispatcher.start()

    def _dispatch(self):
        while True:
            item = self._callbacks.get()
            if item is _STOP:
                return
            callback, event = item
            try:
                callback(event)
            except Exception:
                _common.log.exception("picmd: event callback %r failed",
                                      callback)

    def _ensure_subscribed(self, pattern):
        """SUBSCRIBE pattern unless the client already has; learn the
        daemon's name for it.  The caller holds _sub_lock."""
        with self._cond:
            if pattern in self._registry.subs:
                return
        before = self.call("SUBSCRIPTIONS")
        self.call("SUBSCRIBE", pattern)
        after = self.call("SUBSCRIPTIONS")
        with self._cond:
            self._registry.add(pattern, before, after)

    def _remove_stream(self, stream):
        with self._cond:
            if stream in self._registry.streams:
                self._registry.streams.remove(stream)
            sub = self._registry.subs.get(stream.pattern)
        return sub

    def _drop_stream(self, stream):
        with self._sub_lock:
            sub = self._remove_stream(stream)
            if sub is None:
                return
            with self._cond:
                sub.streams -= 1
                drop = stream._owns and sub.idle() and not self._closed
            if drop:
                try:
                    self.unsubscribe(stream.pattern)
                except Error:
                    pass

    # ---- lease ----

    def _keep_alive(self):
        """PING every third of the lease while it is held and connected."""
        next_ping = None
        while True:
            with self._cond:
                ms, up = self._lease_ms, self._conn is not None
                if ms is None or self._closed:
                    return
            interval = _common.keepalive_interval(ms)
            now = time.monotonic()
            if next_ping is None or next_ping - now > interval:
                next_ping = now + interval
            if now < next_ping:
                self._lease_wake.wait(next_ping - now)
                self._lease_wake.clear()
                continue
            next_ping = now + interval
            if up:
                future = self.call_async("PING")
                future.add_done_callback(lambda f: f.exception())
