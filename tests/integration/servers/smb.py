"""A throwaway Samba smbd on a high port with one share and its own user and password."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile
from pathlib import Path

from servers.common import ensure_user, free_port, kill_tree, wait_for_port

USER = "reporting_smb_it"
SHARE = "reports"


class SmbServer:
    """smbd with every state folder under ``base`` and one writable share at ``share_path``.

    :param base: a folder the server's config, state and share live in.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.user = ensure_user(USER)
        self.password = secrets.token_urlsafe(12)
        # smbd works in the share as the forced user, who must be able to reach it.
        base.chmod(0o755)
        self.share_path = base / "share"
        self.share_path.mkdir()
        os.chown(self.share_path, self.user.pw_uid, self.user.pw_gid)
        self.process: subprocess.Popen | None = None
        self.log = base / "smbd.log"
        for name in ("private", "lock", "state", "cache", "pid", "ncalrpc"):
            (base / name).mkdir()
        self.conf = base / "smb.conf"
        self.conf.write_text(
            f"""[global]
   smb ports = {self.port}
   interfaces = 127.0.0.1
   bind interfaces only = yes
   private dir = {base / "private"}
   lock directory = {base / "lock"}
   state directory = {base / "state"}
   cache directory = {base / "cache"}
   pid directory = {base / "pid"}
   ncalrpc dir = {base / "ncalrpc"}
   log file = {self.log}
   passdb backend = tdbsam:{base / "private" / "passdb.tdb"}
   server role = standalone server
   map to guest = never
   disable spoolss = yes
   load printers = no
   printing = bsd
   printcap name = /dev/null
   server min protocol = SMB2_10

[{SHARE}]
   path = {self.share_path}
   read only = no
   valid users = {USER}
   force user = {USER}
"""
        )
        subprocess.run(
            ["smbpasswd", "-c", str(self.conf), "-s", "-a", USER],
            input=f"{self.password}\n{self.password}\n",
            text=True,
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        """Start smbd in the foreground (as a child) and wait for its port."""
        self.process = subprocess.Popen(
            ["smbd", "--foreground", "--no-process-group", "--debug-stdout", "-s", str(self.conf)],
            stdout=(self.base / "smbd.out").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, process=self.process, log=self.base / "smbd.out")

    def stop(self) -> None:
        """Kill smbd and its per-client children at once, as a crash would."""
        if self.process is not None:
            kill_tree(self.process.pid)
            self.process.wait(timeout=10)
            self.process = None

    def connection(self) -> str:
        """The Airflow connection (JSON) of this server."""
        return json.dumps(
            {
                "conn_type": "samba",
                "host": "127.0.0.1",
                "port": self.port,
                "login": USER,
                "password": self.password,
                "schema": SHARE,
            }
        )


def make_smb_server() -> SmbServer:
    """A started server in a fresh folder."""
    server = SmbServer(Path(tempfile.mkdtemp(prefix="reporting-smbd-")))
    server.start()
    return server
