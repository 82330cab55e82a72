"""Is a folder on a network file system? There, inotify and friends see only this machine's writes (or
nothing at all), so the folder is polled instead.

On Linux the answer is the file-system type of the longest mount point over the folder in
``/proc/self/mountinfo``. Elsewhere nothing is known, so events are used (the WatchMode option overrides).
"""

from __future__ import annotations

import os
from typing import Optional

NETWORK_TYPES = frozenset(
    "nfs nfs4 cifs smb smb2 smb3 smbfs ncpfs afs afpfs 9p virtiofs davfs davfs2 fuse.davfs2 sshfs fuse.sshfs "
    "fuse.rclone fuse.s3fs fuse.gcsfuse fuse.glusterfs glusterfs ceph fuse.ceph lustre gpfs fuse.smbnetfs "
    "fuse.afpfs fuse.curlftpfs ftpfs webdav".split()
)


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (\\040)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_type(path: str, mountinfo: str) -> Optional[str]:
    """The file-system type of the mount holding ``path`` (absolute, resolved), from mountinfo text."""
    best, best_len = None, -1
    for line in mountinfo.splitlines():
        head, sep, tail = line.partition(" - ")
        fields = head.split()
        if not sep or len(fields) < 5 or not tail.split():
            continue
        point = _unescape(fields[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best_len:
            best, best_len = tail.split()[0], len(point)
    return best


def is_network_type(fstype: Optional[str]) -> bool:
    return bool(fstype) and (fstype in NETWORK_TYPES or (fstype or "").split(".")[-1] in NETWORK_TYPES)


def on_network(folder: str) -> bool:
    """True when ``folder`` sits on a network file system (Linux; False where that cannot be told)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
            text = fh.read()
    except OSError:
        return False
    return is_network_type(mount_type(os.path.realpath(folder), text))
