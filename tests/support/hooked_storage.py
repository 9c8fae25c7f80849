"""A storage adapter that runs a test's callback just before or just after chosen calls.

It wraps any StoragePort (memory, local folder, S3), so a test can force the interleaving of two
flows deterministically: "when upload A is about to write its delta, run delete B to completion".
Each hook fires once by default, so a hook that runs another flow on the same store does not fire
again inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Action = Callable[[], None]


@dataclass
class _Hook:
    when: str  # "before" or "after"
    method: str
    key: str | None  # None: any key
    action: Action
    times: int

    def matches(self, when: str, method: str, key: str | None) -> bool:
        return self.times > 0 and self.when == when and self.method == method and self.key in (None, key)


class HookedStorage:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._hooks: list[_Hook] = []
        self.calls: list[tuple[str, str | None]] = []

    def before(self, method: str, key: str | None, action: Action, *, times: int = 1) -> None:
        self._hooks.append(_Hook("before", method, key, action, times))

    def after(self, method: str, key: str | None, action: Action, *, times: int = 1) -> None:
        self._hooks.append(_Hook("after", method, key, action, times))

    def _fire(self, when: str, method: str, key: str | None) -> None:
        for hook in self._hooks:
            if hook.matches(when, method, key):
                hook.times -= 1
                hook.action()

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.inner, method)
        if not callable(target) or method == "url":
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            key = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("key")
            self.calls.append((method, key))
            self._fire("before", method, key)
            result = target(*args, **kwargs)
            if method == "list":
                result = list(result)  # the listing is taken now, not when the caller iterates
            self._fire("after", method, key)
            return result

        return call
