"""The channel between the grader and a student's sandboxed process, and what may cross it.

Messages are length-prefixed JSON objects on a pair of pipes. What the student's side sends is
untrusted: :func:`decode` accepts only plain data (None, bools, numbers, strings, lists, tuples,
string-keyed dicts, numeric numpy arrays and scalars) and *handles*, opaque numbers standing for
an object that stays in the student's process (a function, a closure, any other object), and
refuses anything else; no pickle is ever read from the student's side. What the grader sends
(the arguments of a call the check makes) may be pickled: the student's side trusts the grader.
"""

from __future__ import annotations

import base64
import json
import os
import select
import struct
import time

import numpy as np

#: Largest message accepted (bytes): a student's function returning a huge array fails its check.
MAX_MESSAGE = 256 * 2**20
_HEADER = struct.Struct(">Q")
_NUMERIC = set("biufc")
_MAX_DEPTH = 32

__all__ = ["Channel", "ChannelClosed", "Deadline", "ProtocolError", "encode", "decode", "Handle"]


class ProtocolError(Exception):
    """The other side sent something that is not a valid message."""


class ChannelClosed(ProtocolError):
    """The other side went away (exited, was killed, closed its end)."""


class Deadline(BaseException):
    """The time allowed for the current cell ran out (a BaseException: a check's ``except
    Exception`` must not swallow it)."""


class Handle:
    """An object that stays on the other side, known here by its number."""

    __slots__ = ("number", "callable", "type_name")

    def __init__(self, number: int, is_callable: bool, type_name: str):
        self.number, self.callable, self.type_name = number, is_callable, type_name


def encode(value, handle_of, depth: int = 0):
    """``value`` as JSON-ready plain data; objects that are not plain data become handles
    (``handle_of(obj) -> int`` registers them)."""
    if depth > _MAX_DEPTH:
        return _handle(value, handle_of)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC:  # before float: float64
        return {"np": [value.dtype.str, base64.b64encode(value.tobytes()).decode()]}
    if type(value) is int:
        return value if abs(value) < 2**63 else {"f": float.__repr__(float(value))}
    if type(value) is float:
        return {"f": float.__repr__(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in _NUMERIC and not value.dtype.hasobject:
        data = np.ascontiguousarray(value)
        return {"nd": [data.dtype.str, list(data.shape), base64.b64encode(data.tobytes()).decode()]}
    if type(value) in (list, tuple):
        key = "l" if type(value) is list else "t"
        return {key: [encode(v, handle_of, depth + 1) for v in value]}
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return {"d": [[k, encode(v, handle_of, depth + 1)] for k, v in value.items()]}
    return _handle(value, handle_of)


def _handle(value, handle_of):
    return {"h": [handle_of(value), bool(callable(value)), type(value).__qualname__[:80]]}


def decode(data, depth: int = 0):
    """The plain value of ``data`` (as :func:`encode` makes it); handles become :class:`Handle`.
    Anything else raises :class:`ProtocolError`."""
    if depth > _MAX_DEPTH + 1:
        raise ProtocolError("nested too deeply")
    if data is None or isinstance(data, bool | str):
        return data
    if isinstance(data, int):
        return data
    if not isinstance(data, dict) or len(data) != 1:
        raise ProtocolError(f"not a value: {type(data).__name__}")
    ((key, body),) = data.items()
    if key == "f" and isinstance(body, str):
        try:
            return float(body)
        except ValueError:
            raise ProtocolError("not a float") from None
    if key in ("l", "t") and isinstance(body, list):
        items = [decode(v, depth + 1) for v in body]
        return items if key == "l" else tuple(items)
    if key == "d" and isinstance(body, list):
        out = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ProtocolError("not a dict entry")
            out[pair[0]] = decode(pair[1], depth + 1)
        return out
    if key == "nd" and isinstance(body, list) and len(body) == 3:
        dtype, shape, raw = body
        dt = _dtype(dtype)
        if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
            raise ProtocolError("not a shape")
        if len(shape) > 32:
            raise ProtocolError("too many dimensions")
        buf = _bytes(raw)
        if len(buf) != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ProtocolError("array size does not match its shape")
        return np.frombuffer(buf, dtype=dt).reshape(shape).copy()
    if key == "np" and isinstance(body, list) and len(body) == 2:
        dt = _dtype(body[0])
        buf = _bytes(body[1])
        if len(buf) != dt.itemsize:
            raise ProtocolError("scalar size does not match its type")
        return np.frombuffer(buf, dtype=dt)[0]
    if key == "h" and isinstance(body, list) and len(body) == 3:
        number, is_callable, name = body
        if isinstance(number, int) and isinstance(is_callable, bool) and isinstance(name, str):
            return Handle(number, is_callable, name[:80])
    raise ProtocolError(f"not a value: {key!r}")


def _dtype(text) -> np.dtype:
    if not isinstance(text, str) or len(text) > 8:
        raise ProtocolError("not a dtype")
    try:
        dt = np.dtype(text)
    except TypeError:
        raise ProtocolError("not a dtype") from None
    if dt.kind not in _NUMERIC or dt.hasobject:
        raise ProtocolError("not a numeric dtype")
    return dt


def _bytes(text) -> bytes:
    if not isinstance(text, str):
        raise ProtocolError("not base64")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ProtocolError("not base64") from None


class Channel:
    """Length-prefixed JSON messages over two file descriptors."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.deadline: float | None = None  # time.monotonic() after which recv raises Deadline

    def send(self, message: dict) -> None:
        body = json.dumps(message, separators=(",", ":")).encode()
        data = _HEADER.pack(len(body)) + body
        try:
            while data:
                data = data[os.write(self.write_fd, data) :]
        except (BrokenPipeError, OSError) as exc:
            raise ChannelClosed(f"the other side closed the channel ({exc})") from None

    def _read(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            if self.deadline is not None:
                wait = self.deadline - time.monotonic()
                if wait <= 0:
                    raise Deadline()
                ready, _, _ = select.select([self.read_fd], [], [], wait)
                if not ready:
                    raise Deadline()
            try:
                chunk = os.read(self.read_fd, min(left, 1 << 20))
            except OSError as exc:
                raise ChannelClosed(str(exc)) from None
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def recv(self) -> dict:
        (size,) = _HEADER.unpack(self._read(_HEADER.size))
        if size > MAX_MESSAGE:
            raise ProtocolError(f"a message of {size} bytes (more than {MAX_MESSAGE})")
        try:
            message = json.loads(self._read(size))
        except (ValueError, RecursionError):
            raise ProtocolError("a message that is not JSON") from None
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            raise ProtocolError("a message without an op")
        return message
