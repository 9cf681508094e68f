"""asyncio ICAP server: connection loop, worker processes, graceful reload and shutdown."""

from icap_dlp.server._app import Application, Stats, services_from
from icap_dlp.server._connection import Connection
from icap_dlp.server._master import Master
from icap_dlp.server._worker import Worker, make_socket, run_worker

__all__ = ["Application", "Connection", "Master", "Stats", "Worker", "make_socket", "run_worker",
           "services_from"]
