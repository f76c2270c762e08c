"""Where the Dask engine's tasks run: a scheduler address, the active Client, or a LocalCluster of our own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import re
import sys
from dataclasses import dataclass
from typing import Any

import psutil
from dask.utils import parse_timedelta
from distributed import Client, LocalCluster, default_client
from distributed.comm import connect as open_comm

from ..errors import OptionError


@dataclass
class Connection:
    """a distributed.Client, and the cluster gradfit started for it (closed with it), if any"""

    client: Client
    cluster: LocalCluster | None = None
    owns_client: bool = False

    def total_memory(self) -> float:
        """bytes the workers may use together (their memory limits, else this machine's memory)"""
        workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
        limits = [w.get("memory_limit") or 0 for w in workers]
        return float(sum(limits)) if limits and all(limits) else float(psutil.virtual_memory().total)

    def close(self) -> None:
        """close what gradfit opened (quietly: no CommClosedError noise); a user's client or cluster keeps running"""
        with _quiet_logs(), contextlib.suppress(OSError, TimeoutError, RuntimeError):
            if self.owns_client:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def connect(scheduler: Any = None, connect_timeout: str = "10s", **cluster_options) -> Connection:
    """a Connection to ``scheduler`` (an address or a Client), the active Client, or a new LocalCluster"""
    if isinstance(scheduler, Client):
        return Connection(scheduler)
    if scheduler is not None:
        return Connection(_client_at(str(scheduler), connect_timeout), owns_client=True)
    try:
        return Connection(default_client())
    except ValueError:
        return start_local_cluster(**cluster_options)


#: a scheduler address: [protocol://]host:port
ADDRESS = re.compile(r"^(?:(tcp|tls|ws|wss|ucx)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def _client_at(address: str, timeout: str) -> Client:
    """a Client of the scheduler at ``address``, reached within ``timeout`` or not at all.

    The address is checked first, then a bounded handshake asks the scheduler who it is:
    distributed's own Client start can wait far beyond its timeout on a port that accepts
    connections but never answers, and leaves noise behind when it fails.
    """
    if not ADDRESS.match(address.strip()):
        raise OptionError(f"engine option scheduler={address!r} is not a scheduler address such as "
                          f"tcp://host:8786")
    seconds = parse_timedelta(timeout)
    reason = _handshake(address.strip(), seconds)
    if reason is not None:
        raise OptionError(f"engine option scheduler={address!r}: cannot reach a Dask scheduler there "
                          f"within {timeout} ({reason[:120]})")
    try:
        with _quiet_logs():
            return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OptionError(f"engine option scheduler={address!r}: cannot reach a Dask scheduler there "
                          f"within {timeout} ({reason[:120]})") from None


def _handshake(address: str, seconds: float) -> str | None:
    """None if a Dask scheduler at ``address`` says who it is within ``seconds``; else why not"""

    async def identity():
        comm = await open_comm(address, timeout=seconds)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded():
        return await asyncio.wait_for(identity(), seconds)

    # its own thread and event loop: works whether or not the caller runs one (notebooks do)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="gradfit-handshake") as pool, _quiet_logs():
        try:
            reply = pool.submit(asyncio.run, bounded()).result(timeout=seconds + 5)
        except (OSError, TimeoutError, asyncio.TimeoutError, ValueError) as exc:
            return str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        return f"the server there is not a Dask scheduler (it answered {str(reply)[:40]!r})"
    return None


@contextlib.contextmanager
def _quiet_logs():
    """distributed's log lines stay out of gradfit's one-line messages (failed connections, shutdown noise)"""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def start_local_cluster(**options) -> Connection:
    """a LocalCluster sized to this machine (Dask's defaults unless options say otherwise)"""
    # workers log a task's failure with its traceback; gradfit reports it as one line instead
    options = {"dashboard_address": ":0", "silence_logs": logging.CRITICAL, **options}
    cluster = LocalCluster(**options)
    client = Client(cluster, set_as_default=False)
    print(f"gradfit: started a Dask LocalCluster with {len(cluster.workers)} workers; "
          f"dashboard at {client.dashboard_link}", file=sys.stderr)
    return Connection(client, cluster, owns_client=True)
