"""Root acts as the notes' owner: `sudo reflect ...` on the device must not leave files the service cannot use.

The service runs as its own user (`reflect`) and owns /var/lib/reflect. A command run as root there would
create root-owned files in it (the owner lock, the search index and its journal, recovered notes), and the
service would then fail on them. So a root process whose data dir belongs to another user becomes that user
(with its groups, e.g. audio and gpio, and its home for the default cache) before it does anything else.
`reflect export` stays root underneath, for writing its pages where root asked (a stick the owner cannot write).
"""

import os
import pwd
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def act_as_notes_owner(data_dir: Path, writes_for_caller: bool = False) -> None:
    """As root, with `data_dir` owned by another user: become that user for the rest of the process.

    With `writes_for_caller` (export: its output goes where root asked, a USB stick say), only the effective
    ids change, so `as_the_caller` can be root again for writing that output."""
    if os.geteuid() != 0:
        return
    try:
        owner = Path(data_dir).stat()
    except FileNotFoundError:
        return  # nothing made yet: whoever makes it owns it
    if owner.st_uid == 0:
        return
    try:
        user = pwd.getpwuid(owner.st_uid)
        groups, home = os.getgrouplist(user.pw_name, owner.st_gid), user.pw_dir
    except KeyError:
        groups, home = [owner.st_gid], str(data_dir)  # a uid with no name (a copied card): its own group only
    os.setgroups(groups)
    if writes_for_caller:
        os.setegid(owner.st_gid)
        os.seteuid(owner.st_uid)
    else:
        os.setgid(owner.st_gid)
        os.setuid(owner.st_uid)
    os.environ["HOME"] = home  # root's own home is closed to it


@contextmanager
def as_the_caller() -> Iterator[None]:
    """Root again meanwhile, if root acts as the notes' owner for now (`writes_for_caller`); else nothing changes."""
    if os.getuid() != 0 or os.geteuid() == 0:
        yield
        return
    uid, gid = os.geteuid(), os.getegid()
    os.seteuid(0)
    os.setegid(0)
    try:
        yield
    finally:
        os.setegid(gid)
        os.seteuid(uid)
