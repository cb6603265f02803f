"""The service's long-lived tasks, kept running.

Each task is a coroutine factory run under supervision. When a task raises (or a long-lived
one returns while the service is not stopping), the failure is logged with its traceback and
counted, and then, by the task's policy:

- ``RESTART``: the task starts again after a backoff (0.5 s doubling to 30 s, back to 0.5 s
  once a run lasted a minute);
- ``UNTIL_DONE``: a one-shot task (adopting calls after a restart) is restarted only if it
  raised, until it completes once;
- ``FATAL``: the service cannot go on without it (the AMI client): ``on_fatal`` is called,
  which makes ``callcenter serve`` exit non-zero so that its supervisor (systemd, Docker)
  starts it again.

A task that is not running when it should be is a reason ``/health`` gives for not being
ready. Before this, one failing task cancelled its siblings in a TaskGroup while HTTP kept
answering: a service that took no calls and never exited (issue 14).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


class Policy(enum.Enum):
    RESTART = "restart"
    UNTIL_DONE = "until_done"
    FATAL = "fatal"


@dataclass
class TaskHealth:
    name: str
    policy: Policy
    running: bool = False
    done: bool = False  # an UNTIL_DONE task that completed
    failures: int = 0
    last_error: str | None = None
    failed_for_good: bool = False  # a FATAL task that failed

    @property
    def problem(self) -> str | None:
        """Why this task keeps the service from being ready, or None."""
        if self.failed_for_good:
            return f"task {self.name} failed: {self.last_error}"
        if self.running or self.done:
            return None
        if self.failures:
            return f"task {self.name} is restarting after: {self.last_error}"
        return f"task {self.name} has not started"


Factory = Callable[[], Awaitable[None]]


class ServiceTasks:
    def __init__(
        self,
        *,
        on_fatal: Callable[[str], None] | None = None,
        backoff_min: float = 0.5,
        backoff_max: float = 30.0,
        stable_after: float = 60.0,
    ) -> None:
        self._on_fatal = on_fatal
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._stable_after = stable_after
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.health: dict[str, TaskHealth] = {}
        self._stopping = False

    def start(self, name: str, factory: Factory, policy: Policy = Policy.RESTART) -> None:
        if name in self._tasks:
            raise ValueError(f"task {name} is already supervised")
        health = TaskHealth(name, policy)
        self.health[name] = health
        self._tasks[name] = asyncio.create_task(self._supervise(health, factory), name=name)

    def problems(self) -> list[str]:
        return [p for p in (h.problem for h in self.health.values()) if p is not None]

    def begin_stop(self) -> None:
        """The service is stopping: a task that returns now is no failure."""
        self._stopping = True

    async def finish(self, name: str, timeout: float) -> None:
        """Wait for a task that ends by itself once its resource is closed (the AMI client
        after ``close()``); cancel it if it has not ended within ``timeout`` seconds."""
        self._stopping = True
        task = self._tasks.get(name)
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def stop(self) -> None:
        """Cancel every task and wait for them (the service is stopping)."""
        self._stopping = True
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _supervise(self, health: TaskHealth, factory: Factory) -> None:
        delay = self._backoff_min
        while True:  # the first run even when stopping: a closed resource's task must end
            started = time.monotonic()
            health.running = True
            try:
                await factory()
            except asyncio.CancelledError:
                health.running = False
                raise
            except Exception as exc:
                health.running = False
                health.failures += 1
                health.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("task %s failed", health.name)
            else:
                health.running = False
                if health.policy is Policy.UNTIL_DONE:
                    health.done = True
                    return
                if self._stopping:
                    return
                health.failures += 1
                health.last_error = "returned while the service runs"
                log.error("task %s ended while the service runs", health.name)
            if health.policy is Policy.FATAL:
                health.failed_for_good = True
                log.critical("task %s failed; the service cannot go on", health.name)
                if self._on_fatal is not None:
                    self._on_fatal(f"task {health.name} failed: {health.last_error}")
                return
            if time.monotonic() - started >= self._stable_after:
                delay = self._backoff_min
            if self._stopping:
                return
            log.warning("task %s restarts in %.1f s", health.name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)
