"""A throwaway OpenSSH sshd serving SFTP only, on a high port, with its own host key and Unix user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from servers.common import ensure_user, free_port, kill_tree, wait_for_port

USER = "reporting_sftp_it"
SSHD = "/usr/sbin/sshd"


class SftpServer:
    """OpenSSH's sshd with key authentication for one user, files under ``root``.

    :param base: a folder the server's keys, config and log live in.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.user = ensure_user(USER)
        self.root = base / "sftp-root"
        self.process: subprocess.Popen | None = None
        self.log = base / "sshd.log"
        # sshd reads authorized_keys as the user: every folder on the way must be traversable.
        base.chmod(0o755)
        self.root.mkdir()
        os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "host_key")], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "client_key")], check=True)
        shutil.copy(base / "client_key.pub", base / "authorized_keys")
        (base / "authorized_keys").chmod(0o644)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # Debian's sshd privilege-separation folder
        (base / "sshd_config").write_text(
            f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {base / "host_key"}
PidFile {base / "sshd.pid"}
AuthorizedKeysFile {base / "authorized_keys"}
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
AllowUsers {USER}
Subsystem sftp internal-sftp
ForceCommand internal-sftp
LogLevel VERBOSE
"""
        )

    def start(self) -> None:
        """Start sshd in the foreground (as a child) and wait for its port."""
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.base / "sshd_config")],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, process=self.process, log=self.log)

    def stop(self) -> None:
        """Kill sshd and its per-client sessions at once, as a crash would."""
        if self.process is not None:
            kill_tree(self.process.pid)
            self.process.wait(timeout=10)
            self.process = None

    def connection(self) -> str:
        """The Airflow connection (JSON) of this server, with its host key pinned."""
        host_key = (self.base / "host_key.pub").read_text().split()
        return json.dumps(
            {
                "conn_type": "sftp",
                "host": "127.0.0.1",
                "port": self.port,
                "login": USER,
                "extra": {
                    "key_file": str(self.base / "client_key"),
                    "host_key": " ".join(host_key[:2]),
                    "no_host_key_check": False,
                },
            }
        )

    def path(self, remote: str) -> Path:
        """The local file behind a remote path (the server runs on this machine)."""
        return Path(remote)


def make_sftp_server() -> SftpServer:
    """A started server in a fresh folder."""
    server = SftpServer(Path(tempfile.mkdtemp(prefix="reporting-sshd-")))
    server.start()
    return server
