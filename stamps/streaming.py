"""Stream a file that a renderer writes, chunk by chunk, without holding it in memory."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

_DONE = object()


class _QueueWriter:
    """A write-only file whose chunks go to a bounded queue (back-pressure on the writer)."""

    def __init__(self, chunks: queue.Queue[object]) -> None:
        self._chunks = chunks

    def write(self, data: bytes) -> int:
        if data:
            self._chunks.put(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered here."""


def stream_output(render: Callable[[BinaryIO], None], depth: int = 16) -> Iterator[bytes]:
    """Run ``render(file)`` in a thread and yield what it writes, as it writes it.

    :raises Exception: whatever ``render`` raised, once the chunks before it are out.
    """
    chunks: queue.Queue[object] = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            render(_QueueWriter(chunks))  # type: ignore[arg-type]
        except BaseException as error:  # re-raised in the consumer below
            failure.append(error)
        finally:
            chunks.put(_DONE)

    threading.Thread(target=work, name="stream-render", daemon=True).start()
    while (chunk := chunks.get()) is not _DONE:
        yield chunk  # type: ignore[misc]
    if failure:
        raise failure[0]
