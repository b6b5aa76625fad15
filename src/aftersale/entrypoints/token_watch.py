"""Each API process caches known tokens for 30 s (services/users.py). When an operator
disables, enables or re-keys a user from another process (`aftersale users ...`), this
watcher sees `users.credentials_changed_at` move (one index probe a second) and empties the
process's token cache, so the change holds everywhere within about a second."""

from __future__ import annotations

import logging
import threading

from aftersale.services.runtime import Runtime

log = logging.getLogger("aftersale.tokens")


class TokenWatch:
    """A daemon thread polling the users' credentials stamp."""

    def __init__(self, rt: Runtime, *, interval: float = 1.0) -> None:
        self.rt, self.interval = rt, interval
        self._stop = threading.Event()
        self._stamp = self._read()

    def _read(self) -> object:
        """The current stamp."""
        with self.rt.uow(readonly=True) as uow:
            return uow.users.credentials_stamp()

    def check(self) -> bool:
        """Look once; forget the cached tokens if the stamp moved (returns whether)."""
        stamp = self._read()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        self.rt.token_cache.clear()
        return True

    def run(self) -> None:
        """Poll until stopped (a failed look is tried again the next second)."""
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the database away for a moment: keep watching
                log.warning("could not read the users' credentials stamp", exc_info=True)

    def start(self) -> TokenWatch:
        """Run in a daemon thread."""
        threading.Thread(target=self.run, name="token-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        """End the thread."""
        self._stop.set()
