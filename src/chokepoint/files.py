"""Safe file handling at the boundary: what kind of file a path is, strict UTF-8 text, and
atomic writes that leave nothing half-written.

Every reader of user files calls :func:`regular_file` first, so a folder, a FIFO, a dangling
symlink or a symlink loop is an error that says so (never "no such table" or a hang), and
:func:`decode_utf8` so that Latin-1, UTF-16 or binary bytes are named with their line.
Every writer stages its output beside the target (:func:`staging_folder`,
:func:`staging_file`) under a name that records its process id; staging left behind by a
killed process is removed by the next write into the same folder
(:func:`clean_stale_staging`). :func:`check_writable` tries a real write before a long run.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chokepoint.errors import ChokepointError, DataError

STAGING_MARK = ".chokepoint-staging-"
"""In the name of every staging file or folder: ``.<target>.chokepoint-staging-<pid>-<hex>``."""
_STAGING = re.compile(r"^\..+" + re.escape(STAGING_MARK) + r"(\d+)-[0-9a-f]+(\.[^.]+)?$")


# ------------------------------------------------------------------------------ reading


def file_problem(path: Path) -> str | None:
    """Why ``path`` is not a regular file that can be read, or None when it is one."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return f"is a symlink to a missing file ({os.readlink(path)})"
        return "file not found"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symlink loop"
        return f"cannot be read: {exc.strerror}"
    if stat.S_ISDIR(info.st_mode):
        return "is a folder, expected a file"
    if not stat.S_ISREG(info.st_mode):
        kind = {
            stat.S_IFIFO: "a FIFO (named pipe)",
            stat.S_IFSOCK: "a socket",
            stat.S_IFCHR: "a character device",
            stat.S_IFBLK: "a block device",
        }.get(stat.S_IFMT(info.st_mode), "not a regular file")
        return f"is {kind}, expected a regular file"
    return None


def present(path: Path) -> bool:
    """True when anything is at ``path``: a file, a folder, a FIFO, even a broken symlink."""
    return os.path.lexists(path)


def regular_file(path: str | Path, *, error: type[DataError] = DataError) -> Path:
    """``path`` as a Path when it is a readable regular file, else ``error`` saying what it is."""
    path = Path(path)
    problem = file_problem(path)
    if problem is not None:
        raise error(problem, file=path)
    return path


def read_bytes(
    path: str | Path, *, limit: int | None = None, error: type[DataError] = DataError
) -> bytes:
    """The bytes of a regular file, refusing files over ``limit`` bytes."""
    path = regular_file(path, error=error)
    try:
        if limit is not None and path.stat().st_size > limit:
            raise error(f"is larger than {limit // 2**20} MiB, the most accepted", file=path)
        return path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror}", file=path) from None


def decode_utf8(
    data: bytes,
    file: str | Path,
    *,
    error: type[DataError] = DataError,
    first_row: int = 1,
) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped), else ``error`` naming the
    line of the first bad byte. ``first_row`` is the row number of line 1 (0 for a CSV,
    whose header is row 0)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise error("is UTF-16 text; save it as UTF-8", file=file, row=first_row)
    nul = data.find(b"\x00")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start)
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise error(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); "
            "save it as UTF-8",
            file=file,
            row=line + first_row,
        ) from None
    if nul >= 0:
        raise error(
            "holds a NUL byte: a binary file, not text",
            file=file,
            row=data.count(b"\n", 0, nul) + first_row,
        )
    return text


def read_utf8(
    path: str | Path,
    *,
    limit: int | None = None,
    error: type[DataError] = DataError,
    first_row: int = 1,
) -> str:
    """A regular file's text, strictly UTF-8 (see :func:`decode_utf8`)."""
    data = read_bytes(path, limit=limit, error=error)
    return decode_utf8(data, path, error=error, first_row=first_row)


# ------------------------------------------------------------------------------ writing


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_stale_staging(folder: Path) -> list[Path]:
    """Remove staging files and folders in ``folder`` left by processes that no longer run
    (a crash or SIGKILL mid-write); return what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _STAGING.match(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _staging_name(target: Path) -> Path:
    return target.with_name(f".{target.name}{STAGING_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def write_error(exc: OSError, file: str | Path) -> DataError:
    """A one-line error for a failed write, naming the file (e.g. a full disk)."""
    text = str(exc).strip()
    reason = exc.strerror or (text.splitlines()[0] if text else type(exc).__name__)
    return DataError(f"cannot write: {reason}", file=file)


def _prepare_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, target.parent) from None
    clean_stale_staging(target.parent)


@contextmanager
def staging_folder(target: str | Path) -> Iterator[Path]:
    """A new hidden folder beside ``target`` to write into; removed on leaving, whatever
    happens (the caller moves what it wants to keep before that). OSErrors become
    DataErrors naming ``target``."""
    target = Path(target)
    _prepare_parent(target)
    staging = _staging_name(target)
    try:
        staging.mkdir()
    except OSError as exc:
        raise write_error(exc, target) from None
    try:
        yield staging
    except OSError as exc:
        name = Path(exc.filename).name if isinstance(exc.filename, str) else None
        raise write_error(exc, target / name if name else target) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Write a folder at once: yield a staging folder, then rename it to ``target`` (which
    must be absent or an empty folder). Nothing is left at ``target`` on an error."""
    target = Path(target)
    with staging_folder(target) as staging:
        yield staging
        try:
            if target.is_dir() and not target.is_symlink():
                target.rmdir()
            os.replace(staging, target)
        except OSError as exc:
            raise write_error(exc, target) from None


@contextmanager
def atomic_file(target: str | Path) -> Iterator[Path]:
    """Write a file at once: yield a staging path beside ``target`` (same suffix), then
    rename it over ``target``. On an error ``target`` is as it was and no staging is left."""
    target = Path(target)
    _prepare_parent(target)
    staging = _staging_name(target)
    staging = staging.with_name(staging.name + target.suffix)
    try:
        yield staging
        os.replace(staging, target)
    except OSError as exc:
        raise write_error(exc, target) from None
    finally:
        staging.unlink(missing_ok=True)


def check_writable(target: str | Path | None, option: str) -> None:
    """Fail before a long run, not after it, when ``target`` cannot be written: create and
    remove a staging entry in the nearest existing folder above it."""
    if target is None:
        return
    target = Path(target)
    if present(target) and not target.is_dir():
        problem = file_problem(target)
        if problem is not None:
            raise ChokepointError(f"{option}: {target} {problem}")
    parent = target.parent
    while not present(parent) and parent != parent.parent:
        parent = parent.parent
    probe = _staging_name(parent / "probe")
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise ChokepointError(
            f"{option}: cannot write {target} ({parent}: {exc.strerror or 'not writable'})"
        ) from None
