"""A phone registry we own (callcenter/acd/ports.py ``PhoneRegistry``): the test says which
extensions are registered, or that the PBX cannot be asked (``known = False``)."""

from __future__ import annotations

from callcenter.acd.ports import PhoneWatcher


class FakePhones:
    def __init__(self, *registered: str) -> None:
        self.registered_now: set[str] = set(registered)
        self.known = True
        self.watchers: list[PhoneWatcher] = []

    async def registered(self, extension: str) -> bool | None:
        return extension in self.registered_now if self.known else None

    def watch(self, watcher: PhoneWatcher) -> None:
        self.watchers.append(watcher)

    def register(self, extension: str) -> None:
        self.registered_now.add(extension)

    def unregister(self, extension: str) -> None:
        """The phone goes, and the watchers are told (as the PBX registry tells them)."""
        self.registered_now.discard(extension)
        for watcher in self.watchers:
            watcher.phones_changed()
