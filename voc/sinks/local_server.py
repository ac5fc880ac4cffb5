"""A throwaway ClickHouse server (a subprocess on a free port, data in a temporary folder).

For the sink's tests and benchmark, and to try the sink without a ClickHouse installation of one's own:

    with LocalClickHouse() as ch:          # needs the clickhouse-server binary (apt-get install clickhouse-server)
        export("clickhouse://127.0.0.1:%d/voc" % ch.port, "out/")
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{dir}/server.log</log><errorlog>{dir}/server.err.log</errorlog></logger>
  <tcp_port>{port}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
</yandex>
"""
_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"""
CANDIDATES = ("clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server")


def server_binary() -> str | None:
    """Path of a clickhouse-server binary, or None (then the sink's server tests skip)."""
    for name in CANDIDATES:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalClickHouse:
    """Start clickhouse-server with a private config and data folder; stop it and delete the folder on exit."""

    def __init__(self, binary: str | None = None, startup_timeout: float = 90.0) -> None:
        found = binary or server_binary()
        if found is None:
            raise FileNotFoundError("clickhouse-server not found (apt-get install clickhouse-server)")
        self.binary: str = found
        self.timeout = startup_timeout
        self.port = 0
        self.dir: Path | None = None
        self.proc: subprocess.Popen | None = None

    def url(self, database: str = "voc") -> str:
        return f"clickhouse://127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> LocalClickHouse:
        self.dir = Path(tempfile.mkdtemp(prefix="voc-clickhouse-"))
        self.port = free_port()
        (self.dir / "config.xml").write_text(_CONFIG.format(dir=self.dir, port=self.port), encoding="utf-8")
        (self.dir / "users.xml").write_text(_USERS, encoding="utf-8")
        self.proc = subprocess.Popen([self.binary, f"--config-file={self.dir / 'config.xml'}"],
                                     stdout=subprocess.DEVNULL, stderr=(self.dir / "stderr.log").open("wb"),
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        try:
            self._wait()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait(self) -> None:
        from clickhouse_driver import Client

        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"clickhouse-server exited with {self.proc.returncode}: {self._log_tail()}")
            try:
                Client("127.0.0.1", port=self.port, connect_timeout=2).execute("SELECT 1")
                return
            except Exception as exc:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"clickhouse-server did not answer in {self.timeout:.0f} s ({exc}); "
                                       f"{self._log_tail()}") from None
                time.sleep(0.3)

    def _log_tail(self) -> str:
        texts = []
        for name in ("stderr.log", "server.err.log"):
            path = self.dir / name if self.dir else None
            if path is not None and path.is_file():
                texts.append(path.read_text(encoding="utf-8", errors="replace")[-1500:])
        return " | ".join(t for t in texts if t.strip()) or "no log"

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
