"""Serving the playground on this machine only (127.0.0.1), on a free port or the one asked for."""

from __future__ import annotations

import signal
import socket
import webbrowser
from pathlib import Path

from ..errors import OptionError

HOST = "127.0.0.1"


def free_port() -> int:
    """a port nobody listens on right now"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def check_port(port: int) -> int:
    """the port itself, or OptionError when it is out of range or taken"""
    if not 1 <= port <= 65535:
        raise OptionError(f"option --port {port} is not a port number (1..65535)")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise OptionError(f"option --port {port}: the port is already in use on {HOST}; "
                              "leave --port out to take a free one") from None
    return port


def start(csv: Path | None = None, target: str | None = None, port: int | None = None, lang: str = "en",
          threaded: bool = True):
    """the server and its URL: threaded, it runs at once (``server.stop()`` ends it); else ``server.start()``"""
    try:
        import panel as pn
    except ImportError:
        raise OptionError("the playground needs Panel, which is not installed; install it with: "
                          "pip install 'gradfit[playground]'") from None

    from .app import make_page
    from .data import read_csv

    if csv is not None:
        read_csv(csv, target)  # bad data fails here, with one line, before any server starts
    port = check_port(port) if port is not None else free_port()
    server = pn.serve({"/": lambda: make_page(csv, target, lang)}, port=port, address=HOST, show=False,
                      websocket_origin=[f"{HOST}:{port}", f"localhost:{port}"], threaded=threaded, start=threaded,
                      title="gradfit playground", verbose=False)
    return server, f"http://{HOST}:{port}/"


def serve(csv: Path | None = None, target: str | None = None, port: int | None = None, lang: str = "en",
          open_browser: bool = True, announce=print) -> None:
    """serve the playground until Ctrl-C (KeyboardInterrupt reaches the caller after the server stopped)"""
    server, url = start(csv, target, port, lang, threaded=False)
    announce(f"gradfit playground at {url} (Ctrl-C stops it)")
    server.start()
    if open_browser:
        server.io_loop.add_callback(lambda: webbrowser.open(url))
    interrupted = []

    def on_ctrl_c(signum, frame):  # stop the loop from inside it, then tell the caller
        interrupted.append(signum)
        server.io_loop.add_callback_from_signal(server.io_loop.stop)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        server.io_loop.start()
    finally:
        signal.signal(signal.SIGINT, previous)
        server.stop()
    if interrupted:
        raise KeyboardInterrupt
