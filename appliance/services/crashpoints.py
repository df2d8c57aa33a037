"""Named kill points for the crash-recovery tests (`PATHOPS_CRASHPOINT=name:n`).

At the n-th time the shell passes point `name`, the process sends itself SIGKILL: no cleanup, no
flush, exactly like a power cut of the process. Off (and free) unless the setting names a point.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "event-appended",  # inside the write transaction, before commit
    "state-committed",  # a transition is committed, nobody told yet
    "token-minted",  # a callback token is stored, CI not yet called
    "job-triggered",  # CI was called, the outbox row not yet marked done
    "outbox-done",  # the outbox row is marked done
    "timer-fired",  # a timer's event was delivered
    "callback-accepted",  # a callback was committed, the HTTP response not yet sent
)


class Crashpoints:
    def __init__(self, spec: str = "") -> None:
        name, _, count = spec.partition(":")
        if name and name not in POINTS:
            raise ValueError(f"unknown crash point {name!r}; known: {', '.join(POINTS)}")
        self._name = name
        self._left = int(count or 1)

    def hit(self, name: str) -> None:
        if name != self._name:
            return
        self._left -= 1
        if self._left == 0:
            os.kill(os.getpid(), signal.SIGKILL)
