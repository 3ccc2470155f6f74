"""An extraction worker process: `python -m docspasta.extraction.worker`.

Reads length-prefixed pickled ExtractInput frames on stdin and answers each with a
frame of (status, payload, retire) on stdout. Started as a plain subprocess rather
than through multiprocessing, whose spawn re-imports the parent's `__main__` — under
Streamlit that is the whole app.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from typing import BinaryIO

from .extract import extract_page

HEADER = struct.Struct("!I")
MAX_RSS_MB = 250.0


def read_frame(stream: BinaryIO) -> bytes | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    return data if len(data) == size else None


def frame(payload: object) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def rss_mb() -> float:
    """Current resident memory of this process (Linux); 0 where unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    max_rss = float(sys.argv[1]) if len(sys.argv) > 1 else MAX_RSS_MB
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    while (data := read_frame(requests)) is not None:
        try:
            result: tuple[str, object] = ("ok", extract_page(pickle.loads(data)))
        except Exception as exc:  # reported to the parent, recorded with the page
            result = ("error", f"{type(exc).__name__}: {exc}")
        # A parser that met one huge page keeps its memory: past the cap, the worker
        # says so with its answer and the pool replaces it, so memory stays flat.
        answers.write(frame((*result, rss_mb() > max_rss)))
        answers.flush()


if __name__ == "__main__":
    main()
