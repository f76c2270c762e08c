"""Where the Dask engine's tasks run: a scheduler address, the active Client, or a LocalCluster of our own."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import psutil
from distributed import Client, LocalCluster, default_client

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
        """close what gradfit opened; a user's client or cluster is left running"""
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


def _client_at(address: str, timeout: str) -> Client:
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OptionError(f"engine option scheduler={address!r}: cannot reach a Dask scheduler there "
                          f"within {timeout} ({reason[:120]})") from None


def start_local_cluster(**options) -> Connection:
    """a LocalCluster sized to this machine (Dask's defaults unless options say otherwise)"""
    options = {"dashboard_address": ":0", **options}
    cluster = LocalCluster(**options)
    client = Client(cluster, set_as_default=False)
    print(f"gradfit: started a Dask LocalCluster with {len(cluster.workers)} workers; "
          f"dashboard at {client.dashboard_link}", file=sys.stderr)
    return Connection(client, cluster, owns_client=True)
