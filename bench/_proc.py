"""The benchmarks' child processes: stopping them, and what they use read from Linux's /proc (no psutil needed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of the process (all its threads) so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces: skip past it
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS  # utime, stime (fields 14 and 15 of proc(5))


def _address(hex_address: str) -> tuple[str, int]:
    """An IPv4 /proc/net/tcp address: little-endian hex IP, ':', hex port."""
    ip, port = hex_address.split(":")
    return ".".join(str(int(ip[n : n + 2], 16)) for n in (6, 4, 2, 0)), int(port, 16)


def tcp_connections_to(pid: int, remote_port: int) -> set[str]:
    """`ip:port` of the process's established IPv4 TCP connections to `remote_port` (its local ends)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        cells = line.split()
        local, remote, state, inode = cells[1], cells[2], cells[3], cells[9]
        if state == "01" and inode in inodes and _address(remote)[1] == remote_port:  # 01: ESTABLISHED
            ip, port = _address(local)
            found.add(f"{ip}:{port}")
    return found


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM (the service stops gracefully), then SIGKILL after `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
