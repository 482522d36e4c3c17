"""A tar of notes taken as plain data: Python's "data" extraction filter (PEP 706), or the same refusal by hand
where that Python has none."""

import os
import tarfile


def extract_data(tar: tarfile.TarFile, target: str) -> None:
    """Extract `tar` into `target` (a private temporary folder); a member that is not a plain file or folder
    inside it raises tarfile.TarError, and the caller throws the folder away.

    Python has the "data" filter from 3.11.4. Debian bookworm, which Raspberry Pi OS is, ships 3.11.2, where
    `extractall(filter=...)` is a TypeError (the Pi twin showed it): there each member is checked first, and
    extracted with no owner of its own and no set-id, sticky or group/other-write bits, as the filter would."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(target, filter="data")
        return
    root = os.path.realpath(target)
    members = tar.getmembers()
    for member in members:
        inside = os.path.realpath(os.path.join(root, member.name))
        if not (member.isfile() or member.isdir()) or os.path.commonpath([root, inside]) != root:
            raise tarfile.TarError(f"{member.name}: not a plain file or folder inside the archive")
        member.mode = member.mode & 0o755 | (0o700 if member.isdir() else 0o600)
        member.uid, member.gid, member.uname, member.gname = os.geteuid(), os.getegid(), "", ""
    tar.extractall(target, members=members)
