"""A throwaway PostgreSQL cluster for tests and benchmarks (standard library only).

    with throwaway_cluster() as url:      # postgresql://postgres@/postgres?host=/tmp/liaison-pg-...
        ...

Unix socket only (listen_addresses=''), fsync/full_page_writes/synchronous_commit off, C locale
(text sorts by bytes, as in SQLite); the directory is removed afterwards. Run as root (CI), the
cluster belongs to the `postgres` user (initdb refuses root) and Debian's `postgresql` package is
installed first when no server binaries are found. Also a command line for dev.py:

    python3 tests/pg_cluster.py start    # prints the URL and the directory, leaves it running
    python3 tests/pg_cluster.py stop DIR
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
}


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def server_bin() -> Path:
    """The folder of initdb/pg_ctl/postgres; installs Debian's postgresql when missing and root."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    for name in ("pg_ctl", "initdb"):
        where = shutil.which(name)
        if where:
            return Path(where).resolve().parent
    if not _as_root():
        raise RuntimeError("PostgreSQL server binaries are missing (install: sudo apt-get install postgresql)")
    print("PostgreSQL is missing: installing Debian's postgresql package", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        subprocess.run(command, check=True, env=env)
    return server_bin()


def _run(command: list[str]) -> None:
    if _as_root():  # the server must not run as root: run as the package's `postgres` user
        command = ["runuser", "-u", "postgres", "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stdout[-1000:]}{result.stderr[-1000:]}")


def start(directory: Path | None = None) -> tuple[str, Path]:
    """Create and start a cluster; return (url, directory). Stop it with `stop(directory)`."""
    binaries = server_bin()
    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="liaison-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    if _as_root():
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
    _run([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
          "--locale=C", "--no-sync"])
    options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items()) + f" -k {root}"
    _run([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", options,
          "-w", "-t", "60", "start"])
    return f"postgresql://postgres@/postgres?host={root}", root


def stop(directory: Path) -> None:
    """Stop the cluster (immediately: it is thrown away) and remove its directory."""
    data = Path(directory) / "data"
    if (data / "postmaster.pid").exists():
        with contextlib.suppress(RuntimeError):
            _run([str(server_bin() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    for _ in range(20):
        try:
            shutil.rmtree(directory)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    url, directory = start()
    try:
        yield url
    finally:
        stop(directory)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "start":
        url, where = start()
        print(url)
        print(where)
    elif len(sys.argv) == 3 and sys.argv[1] == "stop":
        stop(Path(sys.argv[2]))
    else:
        print(__doc__)
        raise SystemExit(2)
