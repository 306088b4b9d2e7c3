"""The one way the sandbox changes moto: a counted, thread-safe set of replaced attributes.

    PATCH = Patch("moto lambda LastModified", lambda: [(LambdaFunction, "update_function_code", stamped)])
    PATCH.install()     # the first user applies the replacements (built now, under the lock)
    PATCH.install()     # a second sandbox in this process: counted, nothing replaced twice
    PATCH.uninstall()
    PATCH.uninstall()   # the last user: every original is put back, in reverse order

`build` returns (owner, attribute, new value) triples; it runs only when the first user comes, so moto is imported
only by a sandbox that runs. It may raise `Refused(reason)`: nothing is replaced and the user is not counted (a
guarded adjustment, moto_speed). An attribute the owner only inherits is removed again on restore (not copied
onto the owner). `on_restore` runs after the last restore (clearing state kept beside the replacement).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Replacement = tuple[Any, str, Any]  # (class or module, attribute name, the new value)
_ABSENT = object()


class Refused(Exception):
    """Raised by a build function: the patch cannot be applied (the reason is the message)."""


class Patch:
    """Replace attributes while at least one user has installed; restore them when the last one uninstalls."""

    def __init__(
        self, name: str, build: Callable[[], list[Replacement]], on_restore: Callable[[], None] | None = None
    ) -> None:
        self.name = name
        self._build = build
        self._on_restore = on_restore
        self._lock = threading.RLock()
        self._users = 0
        self._originals: list[Replacement] = []

    @property
    def users(self) -> int:
        return self._users

    @property
    def installed(self) -> bool:
        return self._users > 0

    def install(self) -> None:
        """One more user; the first applies the replacements. `Refused` from build: nothing changes."""
        with self._lock:
            if self._users == 0:
                try:
                    for owner, name, value in self._build():
                        self._originals.append((owner, name, vars(owner).get(name, _ABSENT)))
                        setattr(owner, name, value)
                except BaseException:
                    self._restore()
                    raise
            self._users += 1

    def uninstall(self) -> None:
        """One user fewer (an extra call does nothing); the last puts every original back."""
        with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users:
                return
            self._restore()
            if self._on_restore is not None:
                self._on_restore()

    def _restore(self) -> None:
        while self._originals:
            owner, name, original = self._originals.pop()
            if original is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
