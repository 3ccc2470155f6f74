"""The exact token counter's process: `python -m docspasta.extraction.token_worker`.

The o200k tokenizer costs about 150 MB resident for the life of the process that loads
it, so no long-lived process (the dashboard, a crawl) loads it: an export that needs
exact counts starts this worker, streams its text through it, and lets it exit.
Frames on stdin are length-prefixed UTF-8 texts; each is answered with its count.
"""

from __future__ import annotations

import os
import signal
import struct
import sys

from .tokens import count

HEADER = struct.Struct("!I")
ANSWER = struct.Struct("!Q")


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    while len(header := requests.read(HEADER.size)) == HEADER.size:
        (size,) = HEADER.unpack(header)
        data = requests.read(size)
        if len(data) < size:
            break
        answers.write(ANSWER.pack(count(data.decode("utf-8"))))
        answers.flush()


if __name__ == "__main__":
    main()
