"""picmd: a client for picmdd, the daemon that runs commands on a
Raspberry Pi over a line-based text protocol (docs/PROTOCOL.md).

    import picmd
    with picmd.Client("pi.local", token="...") as c:
        c.call("gpio", "write", 17, 1)
        for ev in c.events("gpio.4", timeout=10):
            print(ev.topic, ev.edge, ev.level)

:class:`Client` is the threaded client, :mod:`picmd.aio` the asyncio one;
every error reply raises a subclass of :class:`Error`.
"""

from ._version import __version__
from .client import Client, EventStream
from .errors import (ArgsError, BusyError, CommandTimeout, ConnectionLost,
                     DeniedError, DeviceError, Error, InternalError,
                     NotConnected, ProtocolError, TooLongError,
                     UnknownCommandError)
from .protocol import Event

__all__ = [
    "Client", "EventStream", "Event", "__version__",
    "Error", "UnknownCommandError", "ArgsError", "ProtocolError",
    "BusyError", "CommandTimeout", "TooLongError", "DeniedError",
    "DeviceError", "InternalError", "ConnectionLost", "NotConnected",
]
