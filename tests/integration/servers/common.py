"""Helpers shared by the server wrappers: free ports, waiting for a port, Unix users, process trees."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(
    port: int, timeout: float = 20.0, process: subprocess.Popen | None = None, log: Path | None = None
) -> None:
    """Wait until 127.0.0.1:port accepts connections, or raise with the server's log.

    :param port: the port.
    :param timeout: seconds to wait.
    :param process: the server process; its early exit is reported at once.
    :param log: the server's log file, shown when it does not come up.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    text = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"server on port {port} did not come up (exit {process.poll() if process else None}):\n{text}")


def ensure_user(name: str) -> pwd.struct_passwd:
    """The Unix user a throwaway server logs its clients in as; created (no home, no shell) when missing.

    No password can log in as it (the SFTP server takes keys only; Samba keeps its own password).

    :param name: the user name.
    """
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
    # useradd leaves the password '!' (locked), and sshd without PAM refuses locked accounts even
    # for key logins; '*' means "no password login" without locking the account.
    subprocess.run(["usermod", "-p", "*", name], check=True, capture_output=True)
    return pwd.getpwnam(name)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL a server process and every process it forked (per-client sessions), by id.

    :param pid: the server's process id.
    """
    pending, seen = [pid], []
    while pending:
        current = pending.pop()
        seen.append(current)
        pending.extend(_children(current))
    for target in reversed(seen):
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)
