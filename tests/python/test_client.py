"""picmd.Client against the real daemon (tests/python/daemon.py): calls
and their payloads, argument types and quoting (1,000 random strings
through ECHO), each error code's exception, client-side timeouts,
10,000 pipelined calls completing out of order, threads sharing a
client, events (callbacks, iterators, aliases), AUTH, the Unix socket,
leases and the failsafe when a client dies, and reconnecting after the
daemon restarts."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import daemon  # noqa: E402
from daemon import (TOKEN, WAIT, echoed, random_strings,  # noqa: E402
                    wait_until)

import picmd  # noqa: E402

class ClientTest(unittest.TestCase):
    """One daemon for the class; a client per test."""

    @classmethod
    def setUpClass(cls):
        cls.d = daemon.Daemon("[server]\ncommand_timeout_ms = 1500\n")

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def setUp(self):
        self.c = self.d.client()
        self.addCleanup(self.c.close)

    def test_call_returns_the_payload(self):
        self.assertEqual(self.c.call("PING"), "PONG")
        self.assertEqual(self.c.call("gpio", "write", 17, 1), "")
        self.assertEqual(self.c.call("gpio", "read", 17), "1")
        self.assertEqual(self.c.call("gpio", "write", "GPIO17", False), "")
        self.assertEqual(self.c.call("gpio", "read", 17), "0")
        self.assertEqual(self.c.call("ping"), "PONG", "names ignore case")

    def test_argument_types(self):
        self.assertEqual(self.c.call("ECHO", 1, -2, 2.5, True, False,
                                     b"bytes", "\u00fc".encode(), "\u20ac"),
                         "1 -2 2.5 1 0 bytes \u00fc \u20ac")
        self.assertEqual(self.c.call("ECHO"), "")
        self.assertEqual(self.c.call("ECHO", ""), "")
        self.assertEqual(self.c.call("ECHO", "#x", "a"), "#x a")
        with self.assertRaises(TypeError):
            self.c.call("ECHO", None)
        with self.assertRaises(ValueError):
            self.c.call("ECHO", "bell\x07")
        with self.assertRaises(ValueError):
            self.c.call()
        self.assertEqual(self.c.call("PING"), "PONG", "nothing was sent")

    def test_quoting_round_trip_of_1000_random_strings(self):
        strings = random_strings(1000, seed=16)
        futures = [self.c.call_async("ECHO", s) for s in strings]
        for s, f in zip(strings, futures):
            self.assertEqual(f.result(WAIT), echoed(s), repr(s))
        # Several words in one request, with call().
        for i in range(0, 300, 3):
            words = strings[i:i + 3]
            self.assertEqual(self.c.call("ECHO", *words), echoed(*words),
                             repr(words))

    def test_each_error_code_raises_its_exception(self):
        cases = [
            (("nosuchcommand",), picmd.UnknownCommandError, "UNKNOWN"),
            (("gpio", "read", "x"), picmd.ArgsError, "ARGS"),
            (("gpio", "read"), picmd.ArgsError, "ARGS"),
            (("gpio", "read", 54), picmd.DeviceError, "DEVICE"),
            (("diag", "sleep", 5000), picmd.CommandTimeout, "TIMEOUT"),
            (("AUTH", "x"), picmd.DeniedError, "DENIED"),
            (("diag", "error", "BUSY", "full"), picmd.BusyError, "BUSY"),
            (("diag", "error", "INTERNAL", "bug"), picmd.InternalError,
             "INTERNAL"),
            (("diag", "error", "DEVICE", "two words"), picmd.DeviceError,
             "DEVICE"),
        ]
        for words, cls, code in cases:
            with self.assertRaises(cls, msg=words) as cm:
                self.c.call(*words)
            self.assertEqual(cm.exception.code, code)
            self.assertIsInstance(cm.exception, picmd.Error)
        self.assertEqual(cm.exception.message, "two words")
        # A plain Error for a code the client does not know cannot come
        # from this daemon; picmd.errors is tested for it in
        # test_protocol.  PROTO cannot come from a correct client.

    def test_too_long_line(self):
        before = self.c.call_async("diag", "sleep", 200)
        too_long = self.c.call_async("ECHO", "x" * 5000)
        after = [self.c.call_async("ECHO", i) for i in range(50)]
        with self.assertRaises(picmd.TooLongError) as cm:
            too_long.result(WAIT)
        self.assertIn("longer than 4096", cm.exception.message)
        self.assertEqual(before.result(WAIT), "slept 200")
        # The daemon read nothing after the long line and closed: the
        # calls after it never ran, and go out on the next connection.
        self.assertEqual([f.result(WAIT) for f in after],
                         [str(i) for i in range(50)])
        self.assertEqual(self.c.call("PING"), "PONG")

    def test_client_side_timeout(self):
        start = time.monotonic()
        with self.assertRaises(picmd.CommandTimeout) as cm:
            self.c.call("diag", "sleep", 1000, timeout=0.2)
        self.assertLess(time.monotonic() - start, 0.9)
        self.assertIn("client side", cm.exception.message)
        # The late reply is dropped; the connection goes on.
        self.assertEqual(self.c.call("diag", "sleep", 1200), "slept 1200")
        self.assertEqual(self.c.call("PING"), "PONG")

    def test_10000_pipelined_calls_complete_out_of_order(self):
        done = []
        slow = self.c.call_async("diag", "sleep", 1000)
        slow.add_done_callback(lambda f: done.append("slow"))
        futures = []
        for i in range(10000):
            f = self.c.call_async(*(("diag", "sleep", 1) if i % 2
                                    else ("PING",)))
            f.add_done_callback(lambda f, i=i: done.append(i))
            futures.append(f)
        for i, f in enumerate(futures):
            self.assertEqual(f.result(60 * daemon.SLOW),
                             "slept 1" if i % 2 else "PONG")
        self.assertEqual(slow.result(WAIT), "slept 1000")
        wait_until(lambda: len(done) == 10001, what="all callbacks")
        self.assertNotEqual(done[0], "slow", "tagged replies wait for no one")
        self.assertNotEqual(done[:10000], list(range(10000)),
                            "sleeps and PINGs interleave out of order")
        st = self.c.stats()
        self.assertEqual(st["inflight"], 0)

    def test_threads_share_one_client(self):
        errors = []

        def worker(n):
            try:
                for i in range(100):
                    want = "t%d-%d" % (n, i)
                    got = self.c.call("ECHO", want)
                    if got != want:
                        errors.append((want, got))
            except Exception as e:        # reported below
                errors.append(e)

        before = self.c.stats()["connections_total"]
        threads = [threading.Thread(target=worker, args=(n,))
                   for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60 * daemon.SLOW)
        self.assertEqual(errors, [])
        self.assertEqual(self.c.stats()["connections_total"], before,
                         "one connection for all threads")

    def test_convenience_methods(self):
        self.assertIsInstance(self.c.ping(), float)
        st = self.c.stats()
        self.assertGreaterEqual(st["clients"], 1)
        self.assertIsInstance(st["commands_total"], int)
        names = self.c.help()
        self.assertIn("diag.sleep", names)
        self.assertIn("ping", names)
        self.assertEqual(self.c.help("diag sleep"), "diag sleep <ms>")
        self.assertEqual(self.c.help("diag.sleep"), "diag sleep <ms>")
        with self.assertRaises(picmd.Error):
            self.c.help("no such")
        self.assertEqual(self.c.version(),
                         "picmd %s protocol 1" % picmd.__version__)
        self.assertTrue(self.c.connected)

    def test_subscribe_with_a_callback(self):
        got, threads = [], []
        ready = threading.Event()

        def on_edge(ev):
            got.append(ev)
            threads.append(threading.current_thread().name)
            ready.set()

        self.c.call("gpio", "watch", 4, "both")
        self.c.subscribe("gpio.4", on_edge)
        self.assertEqual(self.c.subscriptions(), ["gpio.4"])
        self.c.call("gpio", "sim-set", 4, 1)
        self.assertTrue(ready.wait(WAIT), "no edge event")
        ev = got[0]
        self.assertEqual((ev.topic, ev.edge, ev.level, ev.args[:2]),
                         ("gpio.4", "rising", 1, ["rising", "1"]))
        self.assertIsInstance(ev.ts, float)
        self.assertIsInstance(ev.mono, float)
        self.assertEqual(ev.seq, 1)
        self.assertEqual(threads, ["picmd-dispatcher"])
        self.c.unsubscribe("gpio.4")
        self.assertEqual(self.c.subscriptions(), [])
        self.c.call("gpio", "sim-set", 4, 0)
        self.c.call("gpio", "release", 4)

    def test_a_callback_for_an_alias_and_a_pattern(self):
        alias, pattern = [], []
        both = threading.Event()

        def note(where):
            def cb(ev):
                where.append(ev)
                if alias and pattern:
                    both.set()
            return cb

        self.c.call("gpio", "watch", 6, "rising")
        self.c.subscribe("gpio.GPIO6", note(alias))
        self.c.subscribe("gpio.*", note(pattern))
        self.assertEqual(self.c.subscriptions(), ["gpio.6", "gpio.*"])
        self.c.call("gpio", "sim-set", 6, 1)
        self.assertTrue(both.wait(WAIT))
        self.assertEqual(alias[0].topic, "gpio.6")
        self.assertEqual(pattern[0].line, alias[0].line)
        self.c.call("gpio", "release", 6)

    def test_events_iterator(self):
        self.c.call("gpio", "watch", 5, "both")
        with self.c.events("gpio.5", timeout=WAIT) as events:
            self.assertEqual(self.c.subscriptions(), ["gpio.5"])
            self.c.call("gpio", "sim-set", 5, 1)
            self.c.call("gpio", "sim-set", 5, 0)
            first, second = next(events), next(events)
        self.assertEqual([first.edge, second.edge], ["rising", "falling"])
        self.assertEqual([first.level, second.level], [1, 0])
        self.assertEqual(second.seq, first.seq + 1)
        self.assertEqual(self.c.subscriptions(), [],
                         "the stream's own subscription ends with it")
        # No event within the timeout ends the iteration.
        self.assertEqual(list(self.c.events("gpio.5", timeout=0.2)), [])
        self.c.call("gpio", "release", 5)

    def test_events_of_every_subscription(self):
        self.c.subscribe("test.a")
        self.c.subscribe("test.b")
        with self.c.events(timeout=WAIT) as events:
            self.c.call("diag", "publish", "test.a", 2)
            self.c.call("diag", "publish", "test.b", 1)
            got = [next(events) for _ in range(3)]
        self.assertEqual([(e.topic, e.args) for e in got],
                         [("test.a", ["1"]), ("test.a", ["2"]),
                          ("test.b", ["1"])])
        self.assertEqual(self.c.subscriptions(), ["test.a", "test.b"],
                         "a stream without a pattern subscribes nothing")

    def test_subscribe_errors(self):
        with self.assertRaises(picmd.ArgsError):
            self.c.subscribe("bad topic!")
        self.assertEqual(self.c.subscriptions(), [])

    def test_lease_kept_alive_and_ended(self):
        watcher = self.d.text_client()
        self.c.lease(600)
        self.assertIn(" leases=1 ", watcher.ask("STATS") + " ")
        # Three and a half lease periods of silence from the caller: the
        # keep-alive holds it.  (Waiting for nothing to happen needs a wait.)
        time.sleep(2.1)
        st = self.c.stats()
        self.assertEqual((st["leases"], st["leases_lost_total"]), (1, 0))
        self.c.lease(None)
        st = self.c.stats()
        self.assertEqual((st["leases"], st["leases_lost_total"]), (0, 0))
        with self.assertRaises(picmd.ArgsError):
            self.c.lease(0)
        with self.assertRaises(picmd.ArgsError):
            self.c.lease(50)       # the daemon's minimum is 100

    def test_close(self):
        c = self.d.client()
        with c:
            pending = c.call_async("diag", "sleep", 500)
        with self.assertRaises(picmd.ConnectionLost):
            pending.result(WAIT)
        with self.assertRaises(picmd.NotConnected):
            c.call("PING")
        self.assertFalse(c.connected)
        c.close()

    def test_unix_socket_and_environment(self):
        with picmd.Client(unix=self.d.unix) as c:
            self.assertEqual(c.call("PING"), "PONG")
        env = {"PICMD_HOST": "127.0.0.1", "PICMD_PORT": str(self.d.port)}
        with mock.patch.dict(os.environ, env), picmd.Client() as c:
            self.assertEqual(c.call("PING"), "PONG")

    def test_nothing_listening(self):
        start = time.monotonic()
        with self.assertRaises(picmd.NotConnected):
            picmd.Client("127.0.0.1", daemon.free_port(), timeout=0.5)
        self.assertLess(time.monotonic() - start, 5.0)


class AuthTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = daemon.Daemon("[security]\ntoken = %s\n" % TOKEN)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def test_without_a_token_only_ping(self):
        with self.d.client() as c:
            self.assertEqual(c.call("PING"), "PONG")
            with self.assertRaises(picmd.DeniedError) as cm:
                c.call("VERSION")
            self.assertEqual(cm.exception.message,
                             "authentication required")

    def test_wrong_token(self):
        with self.assertRaises(picmd.DeniedError):
            self.d.client(token="wrong")

    def test_token_argument_file_and_environment(self):
        with self.d.client(token=TOKEN) as c:
            self.assertTrue(c.version().startswith("picmd "))
        with tempfile.NamedTemporaryFile("w", suffix=".token") as f:
            f.write(TOKEN + "\nignored second line\n")
            f.flush()
            with self.d.client(token_file=f.name) as c:
                self.assertTrue(c.version().startswith("picmd "))
        with mock.patch.dict(os.environ, {"PICMD_TOKEN": TOKEN}), \
                self.d.client() as c:
            self.assertTrue(c.version().startswith("picmd "))

    def test_unix_socket_is_trusted(self):
        with picmd.Client(unix=self.d.unix) as c:
            self.assertTrue(c.version().startswith("picmd "))


class LeaseLossTest(unittest.TestCase):
    """A client holding a lease dies (SIGKILL, no LEASE OFF): the daemon
    runs [failsafe] on_lost and the output goes low."""

    CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import picmd
c = picmd.Client("127.0.0.1", int(sys.argv[2]))
c.call("gpio", "write", 17, 1)
c.lease(300)
print("ready", flush=True)
sys.stdin.read()
"""

    def test_failsafe_runs_when_the_client_dies(self):
        d = daemon.Daemon("[failsafe]\non_lost = gpio write 17 0\n")
        self.addCleanup(d.stop)
        child = subprocess.Popen(
            [sys.executable, "-c", self.CHILD,
             os.path.join(daemon.TOP, "python"), str(d.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(child.stdout.close)
        self.addCleanup(child.stdin.close)
        self.addCleanup(child.wait, WAIT)
        self.addCleanup(child.kill)
        self.assertEqual(child.stdout.readline(), b"ready\n")
        watcher = d.text_client()
        self.assertEqual(watcher.ask("gpio read 17"), "OK 1")
        self.assertIn(" leases=1 ", watcher.ask("STATS"))
        mark = len(d.lines)
        child.send_signal(signal.SIGKILL)
        d.wait_log("failsafe on_lost: gpio write 17 0: OK", start=mark)
        wait_until(lambda: watcher.ask("gpio read 17") == "OK 0",
                   what="gpio 17 low after the lease was lost")


class ReconnectTest(unittest.TestCase):
    """The daemon dies and comes back on the same port."""

    def setUp(self):
        self.d = daemon.Daemon(port=daemon.free_port())
        self.addCleanup(self.d.stop)

    def restart(self):
        self.d.kill()
        self.d.start()

    def test_state_restored_and_in_flight_call_lost(self):
        c = self.d.client()
        got, edge = [], threading.Event()

        def on_edge(ev):
            got.append(ev)
            edge.set()

        c.subscribe("gpio.9", on_edge)
        c.subscribe("test.*")
        c.lease(2000)
        in_flight = c.call_async("diag", "sleep", 2000)
        wait_until(lambda: c.stats()["workers_busy"] == 1,
                   what="diag sleep running")
        port = self.d.port
        self.restart()
        self.assertEqual(self.d.port, port)
        with self.assertRaises(picmd.ConnectionLost) as cm:
            in_flight.result(WAIT)
        self.assertNotIsInstance(cm.exception, picmd.NotConnected)
        # New calls wait for the new connection.
        self.assertEqual(c.call("PING"), "PONG")
        self.assertEqual(c.subscriptions(), ["gpio.9", "test.*"])
        self.assertEqual(c.stats()["leases"], 1, "lease taken again")
        other = self.d.text_client()
        self.assertEqual(other.ask("gpio watch 9 both"), "OK 0")
        self.assertEqual(other.ask("gpio sim-set 9 1"), "OK")
        self.assertTrue(edge.wait(WAIT), "no edge after the restart")
        self.assertEqual((got[0].topic, got[0].edge), ("gpio.9", "rising"))
        c.close()
        self.assertEqual(self.d.text_client().ask("STATS").count(
            " leases=0 "), 1, "close() ended the lease")

    def test_calls_while_down_wait_then_fail_unsent(self):
        c = self.d.client(timeout=0.5)
        self.d.kill()
        # Until the reader sees the end of the stream, a call may still be
        # written to the dead socket and is then lost in flight, not unsent.
        wait_until(lambda: not c.connected, what="the drop noticed")
        start = time.monotonic()
        with self.assertRaises(picmd.NotConnected):
            c.call("PING")
        self.assertLess(time.monotonic() - start, 3.0)
        queued = c.call_async("PING")
        with self.assertRaises(picmd.NotConnected):
            queued.result(WAIT)
        self.d.start()
        wait_until(lambda: c.connected, what="reconnected")
        self.assertEqual(c.call("PING", timeout=WAIT), "PONG")

    def test_no_reconnect(self):
        c = self.d.client(reconnect=False)
        in_flight = c.call_async("diag", "sleep", 2000)
        wait_until(lambda: c.stats()["workers_busy"] == 1,
                   what="diag sleep running")
        self.d.kill()
        with self.assertRaises(picmd.ConnectionLost):
            in_flight.result(WAIT)
        wait_until(lambda: not c.connected, what="disconnected")
        with self.assertRaises(picmd.NotConnected):
            c.call("PING")
        self.d.start()


if __name__ == "__main__":
    unittest.main()
