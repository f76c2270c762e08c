"""Writing output files without losing anything: atomic, through links, all of a command's files or none.

Every file gradfit writes goes through :func:`write`:

* a regular file (new or existing) is written to a temporary file beside it and renamed
  over it, so a reader sees the old file or the new one, never half of one;
* a symbolic link is followed: the file it points to is replaced, the link stays;
* a device, FIFO or terminal (``/dev/null``, ``/dev/stdout``) is written directly, and
  ``-`` means standard output;
* inside :func:`transaction`, every file written can be taken back: if the command fails
  (or is interrupted) before the end, each file it replaced gets its old content back and
  each file it created is removed, so a failed command leaves nothing it wrote. Writes to
  devices and standard output wait for the end of a successful transaction.

:func:`check_outputs` runs before any work: it refuses an output that is also an input or
another output (the same file after resolving links), a folder given as a file (or the
other way round), and a folder that does not exist or cannot be written.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import secrets
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from ..errors import OptionError

__all__ = ["STDOUT", "write", "make_folder", "transaction", "check_outputs", "same_file", "Transaction", "is_stdout"]

#: the file name that means standard output
STDOUT = "-"

_ACTIVE: contextvars.ContextVar["Transaction | None"] = contextvars.ContextVar("gradfit_transaction", default=None)


def is_stdout(path) -> bool:
    return path is not None and str(path) == STDOUT


def _is_special(path: Path) -> bool:
    """an existing file that is not a regular file or folder: a device, FIFO, socket or terminal"""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _real(path: Path) -> Path:
    """the file a path names, every symbolic link followed (also a dangling one: its target is created)"""
    return Path(os.path.realpath(path))


def _payload(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _write_through(path, payload: bytes) -> None:
    """standard output, a device or a FIFO: written as they are"""
    if is_stdout(path):
        stream = getattr(sys.stdout, "buffer", None)
        if stream is None:
            sys.stdout.write(payload.decode("utf-8", errors="replace"))
        else:
            stream.write(payload)
        sys.stdout.flush()
        return
    try:
        with open(path, "wb") as fh:
            fh.write(payload)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def _temporary_beside(real: Path, payload: bytes, user_path) -> Path:
    """the payload in a new hidden file in ``real``'s folder (same file system, so a rename is atomic)"""
    try:
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(user_path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, real.stat().st_mode & 0o7777 if real.exists() else 0o666 & ~_umask())
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, str(user_path)) from None
        raise
    return Path(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _backup(real: Path) -> Path:
    """a second name (hard link, else a copy) for the file about to be replaced"""
    for _ in range(100):
        backup = real.with_name(f".{real.name}.{secrets.token_hex(4)}.bak")
        try:
            os.link(real, backup)
            return backup
        except FileExistsError:
            continue
        except OSError:  # no hard links on this file system
            shutil.copy2(real, backup)
            return backup
    raise FileExistsError(f"cannot find a free backup name beside {real}")


@dataclass
class Transaction:
    """the files one command wrote, and how to take each back"""

    replaced: dict = field(default_factory=dict)  # real path -> backup of the old content, or None (new file)
    deferred: list = field(default_factory=list)  # (path, payload) for standard output and devices
    folders: list = field(default_factory=list)  # folders this command created (removed again if empty)

    def write(self, path, payload: bytes) -> None:
        if is_stdout(path) or _is_special(Path(path)):
            self.deferred.append((path, payload))
            return
        real = _real(Path(path))
        if real in self.replaced:
            raise OptionError(f"two outputs of this command write the same file {path}; give them different names")
        tmp = _temporary_beside(real, payload, path)
        try:
            self.replaced[real] = _backup(real) if real.is_file() else None
            os.replace(tmp, real)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OSError(exc.errno, exc.strerror, str(path)) from None

    def make_folder(self, path: Path) -> None:
        """create ``path`` (and missing parents), remembering what was created"""
        missing = []
        for folder in [path, *path.parents]:
            if folder.exists():
                break
            missing.append(folder)
        path.mkdir(parents=True, exist_ok=True)
        self.folders.extend(missing)  # deepest first: removed in this order

    def commit(self) -> None:
        for path, payload in self.deferred:
            _write_through(path, payload)
        for backup in self.replaced.values():
            if backup is not None:
                backup.unlink(missing_ok=True)
        self.replaced.clear()

    def rollback(self) -> None:
        """put back every file as it was before the command"""
        for real, backup in reversed(list(self.replaced.items())):
            with contextlib.suppress(OSError):
                if backup is None:
                    real.unlink(missing_ok=True)
                else:
                    os.replace(backup, real)
        for folder in self.folders:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: never removes what others put there
        self.replaced.clear()
        self.deferred.clear()


@contextlib.contextmanager
def transaction() -> Iterator[Transaction]:
    """every :func:`write` inside is kept only if the block ends without an exception"""
    tx = Transaction()
    token = _ACTIVE.set(tx)
    try:
        yield tx
    except BaseException:
        tx.rollback()
        raise
    else:
        tx.commit()
    finally:
        _ACTIVE.reset(token)


def write(path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (see the module docstring).

    Raises OSError naming ``path`` as given (not a temporary file) when it cannot be written.
    """
    payload = _payload(data)
    tx = _ACTIVE.get()
    if tx is not None:
        tx.write(path, payload)
        return
    if is_stdout(path) or _is_special(Path(path)):
        _write_through(path, payload)
        return
    real = _real(Path(path))
    tmp = _temporary_beside(real, payload, path)
    try:
        os.replace(tmp, real)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def make_folder(path) -> None:
    """create a folder (and its parents); inside a transaction it goes again if the command fails"""
    tx = _ACTIVE.get()
    if tx is not None:
        tx.make_folder(Path(path))
    else:
        Path(path).mkdir(parents=True, exist_ok=True)


# ---------------------------------------------------------------- checks before any work


def _identity(path: Path):
    """what makes two paths the same file: (device, inode) of an existing file, else the resolved path"""
    try:
        st = os.stat(path)
        return (st.st_dev, st.st_ino)
    except OSError:
        return str(_real(path))


def same_file(a, b) -> bool:
    """whether two paths name the same file (links followed)"""
    return not (is_stdout(a) or is_stdout(b)) and _identity(Path(a)) == _identity(Path(b))


def _existing_ancestor(path: Path) -> Path:
    for folder in [path, *path.parents]:
        if folder.exists():
            return folder
    return Path(".")


def _check_folder_writable(folder: Path, label: str) -> None:
    """a file can be created in ``folder`` (tried, since permissions alone do not tell, e.g. read-only mounts)"""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".gradfit-probe.", suffix=".tmp")
    except OSError as exc:
        raise OptionError(f"option {label}: cannot write in folder {folder} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def _check_file(path: Path, label: str) -> None:
    if is_stdout(path):
        return
    if _is_special(path):
        if not os.access(path, os.W_OK):
            raise OptionError(f"option {label} {path}: permission denied")
        return
    real = _real(path)
    if real.is_dir():
        raise OptionError(f"option {label} {path}: it is a folder; give a file name")
    if not real.parent.is_dir():
        where = path.parent if path.parent.exists() or not path.is_symlink() else real.parent
        raise OptionError(f"option {label} {path}: folder {where} does not exist")
    _check_folder_writable(real.parent, f"{label} {path}")


def _check_folder(path: Path, label: str) -> None:
    real = _real(path)
    if real.exists() and not real.is_dir():
        raise OptionError(f"option {label} {path}: it is a file, not a folder")
    _check_folder_writable(_existing_ancestor(real), f"{label} {path}")


def check_outputs(outputs: Mapping[str, "Path | None"], inputs: Mapping[str, "Path | None"] = (),
                  folders: Mapping[str, "Path | None"] = ()) -> None:
    """Refuse, before any work, outputs that cannot be written or that would overwrite something.

    Parameters
    ----------
    outputs : {label: path}
        Files the command will write, e.g. ``{"--out": Path("m.json")}`` (None: not asked for).
    inputs : {label: path}
        Files the command reads; no output may be one of them.
    folders : {label: path}
        Folders the command will write files into (created if missing).

    Raises
    ------
    OptionError
        One line naming the option: a collision with an input or another output (the same
        file after following links), a folder where a file is expected or the other way
        round, a missing or unwritable folder.
    """
    inputs = {k: Path(v) for k, v in dict(inputs).items() if v is not None}
    outputs = {k: Path(v) for k, v in dict(outputs).items() if v is not None}
    folders = {k: Path(v) for k, v in dict(folders).items() if v is not None}
    for label, path in outputs.items():
        _check_file(path, label)
    for label, path in folders.items():
        _check_folder(path, label)
    _check_distinct(inputs, outputs, folders)


def _shared(path: Path) -> bool:
    """outputs that may be named twice: character devices such as /dev/null"""
    try:
        return stat.S_ISCHR(os.stat(path).st_mode) and not is_stdout(path)
    except OSError:
        return False


def _check_distinct(inputs: dict, outputs: dict, folders: dict) -> None:
    seen: dict = {}
    for label, path in inputs.items():
        seen.setdefault(_identity(path), (label, path, "input"))
    for label, path in [*outputs.items(), *folders.items()]:
        if _shared(path):
            continue
        key = "stdout" if is_stdout(path) else _identity(path)
        if key in seen:
            other, other_path, role = seen[key]
            if role == "input":
                raise OptionError(f"option {label} {path} is the {other} file {other_path}: "
                                  f"it would be overwritten; write to another file")
            raise OptionError(f"options {other} and {label} both write {path}; give them different files")
        seen[key] = (label, path, "output")
