"""Runs moto's server on 127.0.0.1 with the model card extension loaded, for the AWS CLI and boto3.

    python -m emulator.server [--port N]

prints the endpoint and the environment lines to use it, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading

from emulator import install
from emulator.organizations import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(port: int = 0) -> tuple[object, str]:
    """Start the extended emulator in this process; returns the server and its endpoint URL."""
    install()
    from moto.server import ThreadedMotoServer

    chosen = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=chosen, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{chosen}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        print(f"emulator: --port {args.port} is not a port number (0-65535)", file=sys.stderr)
        return 2
    try:
        server, endpoint = start(args.port)
    except OSError as error:
        print(f"emulator: cannot listen on 127.0.0.1:{args.port} ({error.strerror})", file=sys.stderr)
        return 1
    print(f"export AWS_ENDPOINT_URL={endpoint}")
    # The management account's administrator, as AWS Organizations sets one up
    # (docs/emulator.md, "Permissions, and the way in").
    print(f"export AWS_ACCESS_KEY_ID={ADMIN_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={ADMIN_SECRET_ACCESS_KEY}")
    print("export AWS_DEFAULT_REGION=us-east-1", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    server.stop()  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
