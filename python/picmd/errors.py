"""The exceptions of the picmd client.

Every ``ERR <CODE> <message>`` reply of the daemon becomes an instance of
:class:`Error` (or of its subclass for that code), carrying the code and
the message.  Codes this version does not know give a plain :class:`Error`,
as docs/PROTOCOL.md asks of clients.
"""

__all__ = [
    "Error", "UnknownCommandError", "ArgsError", "ProtocolError",
    "BusyError", "CommandTimeout", "TooLongError", "DeniedError",
    "DeviceError", "InternalError", "ConnectionLost", "NotConnected",
    "error_from_reply",
]


class Error(Exception):
    """An error reply of the daemon, or a failure of the connection.

    ``code`` is the protocol's error code ("DENIED", "DEVICE", ...) and
    ``message`` the text the daemon sent after it ("" when none).
    """

    code = "ERROR"

    def __init__(self, message="", code=None):
        if code is not None:
            self.code = code
        self.message = message
        super().__init__(message)

    def __str__(self):
        return "%s %s" % (self.code, self.message) if self.message \
            else self.code

    def __repr__(self):
        return "%s(%r, code=%r)" % (type(self).__name__, self.message,
                                    self.code)


class UnknownCommandError(Error):
    """``ERR UNKNOWN``: the daemon has no such command (HELP lists them)."""
    code = "UNKNOWN"


class ArgsError(Error):
    """``ERR ARGS``: wrong arguments; the message says which, or the usage."""
    code = "ARGS"


class ProtocolError(Error):
    """``ERR PROTO``: the daemon could not parse the request, or the client
    could not parse a line of the daemon's."""
    code = "PROTO"


class BusyError(Error):
    """``ERR BUSY``: the daemon's queue is full or a resource is held;
    the request did not run, it may be sent again later."""
    code = "BUSY"


class CommandTimeout(Error):
    """``ERR TIMEOUT``: the command did not finish within the daemon's
    ``command_timeout_ms`` (or before it stopped); also raised by
    :meth:`picmd.Client.call` when no reply came within its own timeout.
    Named so as not to shadow the builtin ``TimeoutError``."""
    code = "TIMEOUT"


class TooLongError(Error):
    """``ERR TOOLONG``: the request line was longer than the daemon's
    ``max_line``; the daemon closes the connection after it."""
    code = "TOOLONG"


class DeniedError(Error):
    """``ERR DENIED``: not allowed (no or a wrong token, an admin command,
    a callback port outside the allowed range, ...)."""
    code = "DENIED"


class DeviceError(Error):
    """``ERR DEVICE``: the hardware or OS call failed; the message says
    what failed."""
    code = "DEVICE"


class InternalError(Error):
    """``ERR INTERNAL``: a bug or out of memory in the daemon."""
    code = "INTERNAL"


class ConnectionLost(Error):
    """The connection dropped while this request was in flight: it may
    have run, and it is never sent again by the client."""
    code = "CONNECTION"


class NotConnected(ConnectionLost):
    """No connection to the daemon could be made (or re-made) in time:
    the request was never sent, so it did not run."""


_BY_CODE = {cls.code: cls for cls in (
    UnknownCommandError, ArgsError, ProtocolError, BusyError,
    CommandTimeout, TooLongError, DeniedError, DeviceError, InternalError)}


def error_from_reply(code, message):
    """The exception for ``ERR <code> <message>``: the subclass for a
    known code, else a plain :class:`Error` with that code."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return Error(message, code=code)
    return cls(message)
