"""picmd.aio.Client against the real daemon: the same API as coroutines
(calls, quoting, error codes, 10,000 concurrent calls, events with
coroutine callbacks and async iteration, leases, AUTH, the Unix socket)
and reconnecting after the daemon restarts."""

import asyncio
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import daemon  # noqa: E402
from daemon import TOKEN, WAIT, echoed, random_strings  # noqa: E402

import picmd  # noqa: E402
import picmd.aio  # noqa: E402


async def wait_for(predicate, what):
    """Await predicate() (a coroutine function) until true, bounded."""
    deadline = time.monotonic() + WAIT
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("%s not reached within %.1f s"
                                 % (what, WAIT))
        await asyncio.sleep(0.02)


def quiet_debug_loop():
    """The test case runs its loop in debug mode, which logs every step
    over 0.1 s: a loaded CI machine is slow, not wrong."""
    asyncio.get_running_loop().slow_callback_duration = 60.0


class AioCase(unittest.IsolatedAsyncioTestCase):
    CONFIG = "[server]\ncommand_timeout_ms = 1500\n"

    @classmethod
    def setUpClass(cls):
        cls.d = daemon.Daemon(cls.CONFIG)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def client(self, **kw):
        kw.setdefault("host", "127.0.0.1")
        kw.setdefault("port", self.d.port)
        kw.setdefault("timeout", WAIT)
        return picmd.aio.Client(**kw)

    async def asyncSetUp(self):
        quiet_debug_loop()
        self.c = await self.client().connect()

    async def asyncTearDown(self):
        await self.c.close()


class AioClientTest(AioCase):

    async def test_calls_and_convenience_methods(self):
        c = self.c
        self.assertEqual(await c.call("PING"), "PONG")
        self.assertEqual(await c.call("gpio", "write", 17, True), "")
        self.assertEqual(await c.call("gpio", "read", 17), "1")
        self.assertEqual(await c.call("ECHO", 1, 2.5, False, b"b", "\u00fc"),
                         "1 2.5 0 b \u00fc")
        self.assertIsInstance(await c.ping(), float)
        self.assertIn("diag.sleep", await c.help())
        self.assertEqual(await c.help("diag sleep"), "diag sleep <ms>")
        self.assertEqual(await c.version(),
                         "picmd %s protocol 1" % picmd.__version__)
        self.assertGreaterEqual((await c.stats())["clients"], 1)
        self.assertTrue(c.connected)
        task = c.call_async("diag", "sleep", 10)
        self.assertEqual(await task, "slept 10")
        with self.assertRaises(ValueError):
            await c.call("ECHO", "\x00")

    async def test_quoting_round_trip(self):
        strings = random_strings(1000, seed=17)
        got = await asyncio.gather(*[self.c.call("ECHO", s)
                                     for s in strings])
        for s, reply in zip(strings, got):
            self.assertEqual(reply, echoed(s), repr(s))

    async def test_error_codes(self):
        cases = [
            (("nosuchcommand",), picmd.UnknownCommandError),
            (("gpio", "read", "x"), picmd.ArgsError),
            (("gpio", "read", 54), picmd.DeviceError),
            (("diag", "sleep", 5000), picmd.CommandTimeout),
            (("AUTH", "x"), picmd.DeniedError),
            (("diag", "error", "BUSY"), picmd.BusyError),
            (("diag", "error", "INTERNAL"), picmd.InternalError),
        ]
        for words, cls in cases:
            with self.assertRaises(cls, msg=words):
                await self.c.call(*words)
        with self.assertRaises(picmd.CommandTimeout) as cm:
            await self.c.call("diag", "sleep", 1000, timeout=0.2)
        self.assertIn("client side", cm.exception.message)
        with self.assertRaises(picmd.TooLongError):
            await self.c.call("ECHO", "y" * 5000)
        self.assertEqual(await self.c.call("PING"), "PONG", "reconnected")

    async def test_10000_concurrent_calls_out_of_order(self):
        order = []

        async def one(i, words):
            reply = await self.c.call(*words, timeout=60 * daemon.SLOW)
            order.append(i)
            return reply

        calls = [one("slow", ("diag", "sleep", 1000))]
        calls += [one(i, ("diag", "sleep", 1) if i % 2 else ("PING",))
                  for i in range(10000)]
        got = await asyncio.gather(*calls)
        self.assertEqual(got[0], "slept 1000")
        self.assertEqual(got[1:], ["slept 1" if i % 2 else "PONG"
                                   for i in range(10000)])
        self.assertNotEqual(order[0], "slow")
        self.assertNotEqual(order[:10000], list(range(10000)))

    async def test_subscribe_with_a_coroutine_callback(self):
        got, edge = [], asyncio.Event()

        async def on_edge(ev):
            await asyncio.sleep(0)
            got.append(ev)
            edge.set()

        await self.c.call("gpio", "watch", 12, "both")
        await self.c.subscribe("gpio.GPIO12", on_edge)
        self.assertEqual(await self.c.subscriptions(), ["gpio.12"])
        await self.c.call("gpio", "sim-set", 12, 1)
        await asyncio.wait_for(edge.wait(), WAIT)
        self.assertEqual((got[0].topic, got[0].edge, got[0].level),
                         ("gpio.12", "rising", 1))
        plain = []
        await self.c.subscribe("test.x", plain.append)
        await self.c.call("diag", "publish", "test.x", 1)

        async def called():
            return plain
        await wait_for(called, "plain callback")
        self.assertEqual(plain[0].args, ["1"])
        await self.c.unsubscribe("gpio.GPIO12")
        await self.c.unsubscribe("test.x")
        self.assertEqual(await self.c.subscriptions(), [])
        await self.c.call("gpio", "release", 12)

    async def test_async_for_events(self):
        await self.c.call("gpio", "watch", 13, "both")
        async with self.c.events("gpio.13", timeout=WAIT) as events:
            self.assertEqual(await self.c.subscriptions(), ["gpio.13"])
            await self.c.call("gpio", "sim-set", 13, 1)
            await self.c.call("gpio", "sim-set", 13, 0)
            edges = []
            async for ev in events:
                edges.append((ev.edge, ev.level))
                if len(edges) == 2:
                    break
        self.assertEqual(edges, [("rising", 1), ("falling", 0)])
        self.assertEqual(await self.c.subscriptions(), [])
        # Without "async with": subscribes on the first step; a timeout
        # with no event ends it.
        got = [ev async for ev in self.c.events("gpio.13", timeout=0.2)]
        self.assertEqual(got, [])
        await self.c.call("gpio", "release", 13)

    async def test_lease(self):
        await self.c.lease(600)
        # Three and a half lease periods: the keep-alive task holds the lease.
        await asyncio.sleep(2.1)
        st = await self.c.stats()
        self.assertEqual((st["leases"], st["leases_lost_total"]), (1, 0))
        await self.c.lease(None)
        st = await self.c.stats()
        self.assertEqual((st["leases"], st["leases_lost_total"]), (0, 0))

    async def test_unix_socket(self):
        async with picmd.aio.Client(unix=self.d.unix) as c:
            self.assertEqual(await c.call("PING"), "PONG")

    async def test_close_and_nothing_listening(self):
        c = await picmd.aio.connect("127.0.0.1", self.d.port)
        pending = c.call_async("diag", "sleep", 500)
        await asyncio.sleep(0)
        await c.close()
        with self.assertRaises(picmd.ConnectionLost):
            await pending
        with self.assertRaises(picmd.NotConnected):
            await c.call("PING")
        with self.assertRaises(picmd.NotConnected):
            await picmd.aio.connect("127.0.0.1", daemon.free_port(),
                                    timeout=0.5)


class AioAuthTest(AioCase):
    CONFIG = "[security]\ntoken = %s\n" % TOKEN

    async def test_token(self):
        with self.assertRaises(picmd.DeniedError):
            await self.c.call("VERSION")
        async with self.client(token=TOKEN) as c:
            self.assertTrue((await c.version()).startswith("picmd "))
        with self.assertRaises(picmd.DeniedError):
            await self.client(token="wrong").connect()


class AioReconnectTest(unittest.IsolatedAsyncioTestCase):

    def setUp(self):
        self.d = daemon.Daemon(port=daemon.free_port())
        self.addCleanup(self.d.stop)

    async def test_state_restored_and_in_flight_call_lost(self):
        quiet_debug_loop()
        c = await picmd.aio.connect("127.0.0.1", self.d.port, timeout=WAIT)
        self.addAsyncCleanup(c.close)
        events = c.events("gpio.9", timeout=WAIT)
        await events.start()
        await c.lease(2000)
        in_flight = c.call_async("diag", "sleep", 2000)

        async def sleeping():
            return (await c.stats())["workers_busy"] == 1
        await wait_for(sleeping, "diag sleep running")
        self.d.kill()
        with self.assertRaises(picmd.ConnectionLost):
            await in_flight
        await asyncio.get_running_loop().run_in_executor(None, self.d.start)
        self.assertEqual(await c.call("PING"), "PONG")
        self.assertEqual(await c.subscriptions(), ["gpio.9"])
        self.assertEqual((await c.stats())["leases"], 1)
        await c.call("gpio", "watch", 9, "both")
        await c.call("gpio", "sim-set", 9, 1)
        ev = await events.get(WAIT)
        self.assertEqual((ev.topic, ev.edge), ("gpio.9", "rising"))
        await events.close()


if __name__ == "__main__":
    unittest.main()
