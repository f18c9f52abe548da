"""``trackly run``: every face on one event loop, stopped cleanly by Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from core.db import database, migrate, pending_migrations
from core.services import Services
from core.settings import WILDCARD_HOSTS, Settings, SettingsError
from core.system.leader import Leadership
from scheduler.jobs import build_scheduler
from trackly.bootstrap import build_executor
from web.app import AppRunner, create_app, server_args

log = logging.getLogger("trackly")

STOP_TIMEOUT = 4.0  # leaves headroom inside the promised 5 seconds


class ProcessRole(StrEnum):
    """Which parts one process runs (``trackly run --role``); not a user's role
    (that is core.permissions.Role)."""

    ALL = "all"
    WEB = "web"
    WORKER = "worker"
    SCHEDULER = "scheduler"
    BOT = "bot"


EVERY_PART = frozenset({ProcessRole.WEB, ProcessRole.WORKER, ProcessRole.SCHEDULER,
                        ProcessRole.BOT})

Component = Callable[[Services], AbstractAsyncContextManager[None]]


def web_component(host: str, port: int, announce: Callable[[str], None]) -> Component:
    @contextlib.asynccontextmanager
    async def run(services: Services) -> AsyncIterator[None]:
        runner = AppRunner(create_app(services), handle_signals=False,
                               shutdown_timeout=1.0, access_log=None, **server_args())
        await runner.setup()
        # On PostgreSQL, several web processes on one machine share the port (the kernel
        # spreads connections among them, SO_REUSEPORT): one Python process is one core,
        # and the API's hot paths are CPU-bound in it (docs/DEPLOYMENT.md). On SQLite
        # there is only ever one process (sole_process), so a port in use is an error.
        site = web.TCPSite(runner, host, port,
                           reuse_port=not services.settings.is_sqlite)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise SettingsError(f"TRACKLY_PORT: cannot listen on {host}:{port} ({exc.strerror})"
                                ) from None
        bound = runner.addresses[0][1] if runner.addresses else port
        announce(f"Trackly is listening on http://{host}:{bound}")
        settings = services.settings
        if settings.is_derived("public_url") and host in WILDCARD_HOSTS:
            announce(f"Short links and webhook addresses use {settings.public_url}, which "
                     "only this machine reaches: set TRACKLY_PUBLIC_URL to the address "
                     "recipients and providers reach.")
        elif settings.public_url != f"http://{host}:{bound}":
            announce(f"Short links and webhook addresses use {settings.public_url}.")
        try:
            yield
        finally:
            await runner.cleanup()

    return run


@contextlib.asynccontextmanager
async def scheduler_component(services: Services) -> AsyncIterator[None]:
    """The ticks. On SQLite this is the only process, so it simply runs them; on
    PostgreSQL every scheduler process stands for election and only the leader ticks
    (core.system.leader says why the lock lives on a connection of its own)."""
    if services.settings.is_sqlite:
        scheduler = build_scheduler(services)
        scheduler.start()
        try:
            yield
        finally:
            scheduler.shutdown(wait=False)
        return

    async def lead(lost: asyncio.Event) -> None:
        scheduler = build_scheduler(services)
        scheduler.start()
        try:
            await lost.wait()
        finally:
            scheduler.shutdown(wait=False)

    leadership = Leadership(services.settings.database_url)
    async with _until_stopped(lambda stop: leadership.run(stop, lead), name="scheduler",
                              within=3.0, late="scheduler did not stop in time"):
        yield


BOT_RETRY_FIRST = 5.0  # seconds before the first retry of a bot that could not connect
BOT_RETRY_MAX = 300.0


def bot_component(announce: Callable[[str], None], *, retry_first: float = BOT_RETRY_FIRST
                  ) -> Component:
    @contextlib.asynccontextmanager
    async def run(services: Services) -> AsyncIterator[None]:
        token = services.settings.discord_token
        if token is None or not token.get_secret_value():
            announce("Discord bot is off: DISCORD_TOKEN is not set.")
            yield
            return
        secret = token.get_secret_value()
        async with _until_stopped(
                lambda stop: _keep_bot_running(services, secret, stop, retry_first),
                name="discord-bot", within=4.0, late="Discord bot did not stop in time"):
            announce("Discord bot is starting.")
            yield

    return run


async def _keep_bot_running(services: Services, token: str, stop: asyncio.Event,
                            retry_first: float) -> None:
    """Run the bot until ``stop``. discord.py reconnects a bot that lost its gateway by
    itself, but a start that fails (Discord or the network down when the process starts)
    ends the bot for good, so that is retried here with backoff, with a fresh client each
    time. A refused token is not retried: it will not get better."""
    import discord

    from bot.client import build_bot

    delay = retry_first
    while not stop.is_set():
        bot = build_bot(services)
        running = asyncio.create_task(bot.start(token))
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not bot.is_closed():
            await bot.close()
        try:
            await running
            return  # closed: we are stopping
        except asyncio.CancelledError:
            return
        except discord.LoginFailure as exc:
            log.error("Discord bot is off: Discord refused the token (%s)", exc)
            return
        except Exception as exc:  # network, Discord 5xx, gateway refused...
            log.error("Discord bot stopped: %s; retrying in %.0f s", exc or type(exc).__name__,
                      delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, BOT_RETRY_MAX)


@contextlib.asynccontextmanager
async def worker_component(services: Services) -> AsyncIterator[None]:
    """The send executor: drains the outbox until stopped (finishing the chunk in flight
    and releasing the rest of its claim)."""
    async with _until_stopped(build_executor(services).run, name="executor", within=3.0,
                              late="executor did not stop in time; its lease will expire"):
        yield


@contextlib.asynccontextmanager
async def _until_stopped(run: Callable[[asyncio.Event], Coroutine[Any, Any, None]], *,
                         name: str, within: float, late: str) -> AsyncIterator[None]:
    """``run(stop)`` as a task while the block runs; then set ``stop`` and give it
    ``within`` seconds to finish (the shutdown budget is 5 s in all)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop), name=name)
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=within)
        except TimeoutError:
            log.warning(late)


def parts(roles: ProcessRole | Collection[ProcessRole]) -> frozenset[ProcessRole]:
    """The parts a process runs: ``--role`` may be repeated, and ``all`` is every part."""
    given = {roles} if isinstance(roles, ProcessRole) else set(roles)
    if not given or ProcessRole.ALL in given:
        return frozenset(EVERY_PART)
    return frozenset(given)


def components_for(roles: ProcessRole | Collection[ProcessRole], *, host: str, port: int,
                   announce: Callable[[str], None]) -> list[Component]:
    """The components in the order they start; they stop in the reverse order. The web
    component comes last, so it is the first to stop: it stops taking requests and
    writes its answered clicks (the click recorder closes after its server) before the
    executor, the scheduler and the bot spend the stop budget. Stopped after them, it
    kept answering clicks for seconds and its recorder got what was left of the budget."""
    chosen: list[Component] = []
    running = parts(roles)
    if ProcessRole.WORKER in running:
        chosen.append(worker_component)
    if ProcessRole.SCHEDULER in running:
        chosen.append(scheduler_component)
    if ProcessRole.BOT in running:
        chosen.append(bot_component(announce))
    if ProcessRole.WEB in running:
        chosen.append(web_component(host, port, announce))
    return chosen


@contextlib.contextmanager
def sole_process(settings: Settings) -> Iterator[None]:
    """On SQLite one process runs the platform: a second ``trackly run`` on the same
    database file is refused (an exclusive lock on a file beside it, released by the
    kernel however the holder ends), because SQLite has one writer at a time and the
    executor's claims and the scheduler's ticks assume a database that arbitrates
    between processes, which PostgreSQL does."""
    path = sqlite_path(settings.database_url)
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SettingsError(
                f"TRACKLY_DATABASE_URL: {path} is already used by a running Trackly "
                f"(pid {holder}). SQLite serves one process: stop that one, or move to "
                "PostgreSQL to run several processes (--role web, worker, scheduler, bot)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def sqlite_path(url: str) -> Path | None:
    """The file behind a ``sqlite://`` URL; None for PostgreSQL or an in-memory one."""
    parts_ = urlsplit(url)
    if parts_.scheme != "sqlite":
        return None
    name = parts_.netloc + parts_.path
    if not name or name == ":memory:" or name.startswith(":memory:"):
        return None
    return Path(name)


async def prepare_database(services: Services, announce: Callable[[str], None]) -> None:
    url = services.settings.database_url
    if services.settings.is_sqlite:
        applied = await migrate(url)
        if applied:
            announce(f"Applied {len(applied)} migration(s) to the SQLite database.")
        return
    pending = await pending_migrations(url)
    if pending:
        raise SettingsError(
            f"TRACKLY_DATABASE_URL: {len(pending)} migration(s) pending "
            f"({pending[0]}...); run `trackly migrate` first"
        )


async def _recover_imports(services: Services, announce: Callable[[str], None]) -> None:
    """Imports a previous process was running when it stopped are marked failed (they
    can simply be run again: re-importing changes nothing already imported)."""
    single = services.settings.is_sqlite
    marked = await services.imports.recover_interrupted(
        stale_after=dt.timedelta(0) if single else None)
    if marked:
        announce(f"{marked} import(s) interrupted by the last stop were marked failed.")


def settle_heap() -> None:
    """Keep start-up's objects (modules, models, the phone and text tables: ~120,000)
    out of the collector's full passes: they live as long as the process, yet every
    generation-2 collection walked them all with the event loop stopped, so every
    request in flight waited. Measured under the receipt benchmark (64 connections,
    loaded machine): 6 full collections in one run, 80 to 450 ms each, collecting 0 to
    428 objects; that pause is the receipts' p99."""
    gc.collect()
    gc.freeze()


async def serve(services: Services, *, role: ProcessRole | Collection[ProcessRole],
                host: str, port: int, announce: Callable[[str], None],
                stop: asyncio.Event | None = None) -> None:
    if services.settings.is_sqlite and parts(role) != EVERY_PART:
        raise SettingsError(
            "TRACKLY_DATABASE_URL: SQLite is single-process only; use --role all, "
            "or PostgreSQL to run roles in separate processes"
        )
    with sole_process(services.settings):
        await _serve(services, role=role, host=host, port=port, announce=announce, stop=stop)


async def _serve(services: Services, *, role: ProcessRole | Collection[ProcessRole],
                 host: str, port: int, announce: Callable[[str], None],
                 stop: asyncio.Event | None) -> None:
    await prepare_database(services, announce)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with database(services.settings.database_url), contextlib.AsyncExitStack() as stack:
            await _recover_imports(services, announce)
            for component in components_for(role, host=host, port=port, announce=announce):
                await stack.enter_async_context(component(services))
            settle_heap()
            announce("Trackly is running. Press Ctrl-C to stop.")
            await stop.wait()
            announce("Stopping...")
            closing = asyncio.ensure_future(stack.aclose())
            done, _ = await asyncio.wait({closing}, timeout=STOP_TIMEOUT)
            if not done:
                log.warning("components did not stop within %.0fs; exiting anyway",
                            STOP_TIMEOUT)
                # Answered clicks not yet written must outlive the process.
                services.redirects.recorder.spool_unwritten()
    finally:
        await services.providers.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    announce("Stopped.")
