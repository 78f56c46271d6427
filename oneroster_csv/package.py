"""Open a OneRoster package (zip file, zip bytes or folder) safely and list its CSV files by canonical name."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from .model import Finding, PackageError, Severity
from .spec import KNOWN_FILES

MANIFEST = "manifest"
_CANONICAL = {name.lower(): name for name in (*KNOWN_FILES, MANIFEST)}
_JUNK = re.compile(r"(^|/)(__MACOSX/|\._|\.DS_Store$|Thumbs\.db$|desktop\.ini$)|:Zone\.Identifier$", re.IGNORECASE)


@dataclass(frozen=True)
class PackageLimits:
    """Safety limits; defaults fit a large district (a 1M-row enrollments file is ~100 MB)."""

    max_total_bytes: int = 2 * 1024**3
    max_files: int = 200
    max_ratio: float = 200.0  # uncompressed / compressed, per entry (deflate bombs reach ~1000)
    ratio_min_bytes: int = 1024 * 1024  # tiny entries may compress extremely well without being a bomb


@dataclass(frozen=True)
class Entry:
    """A file of the package, checked and sized but not read: whoever parses it reads it (`load`), so opening a
    package reads nothing but the listing, and each file's bytes live only while it is parsed."""

    size: int
    load: Callable[[], bytes]


_EMPTY = Entry(0, bytes)


@dataclass(frozen=True)
class PackageFiles:
    files: dict[str, Entry]  # canonical stem ("manifest", "users", "lineItems"...) -> the file
    names: dict[str, str]  # canonical stem -> name as found in the package
    notes: tuple[Finding, ...]


def _unsafe(name: str, why: str) -> PackageError:
    return PackageError("package.unsafe_zip", f"entry '{name}' {why}; the package was rejected", name)


def _check_zip_entry(info: zipfile.ZipInfo, limits: PackageLimits) -> None:
    name = info.filename
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        raise _unsafe(name, "has an absolute path")
    if ".." in PurePosixPath(posix).parts:
        raise _unsafe(name, "escapes the package folder (..)")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise _unsafe(name, "is a symbolic link")
    if info.flag_bits & 0x1:
        raise PackageError("package.encrypted", "the zip is password-protected", name)
    if info.file_size >= limits.ratio_min_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        raise PackageError(
            "package.unsafe_zip",
            f"entry '{name}' expands {info.file_size / max(info.compress_size, 1):.0f} times (limit "
            f"{limits.max_ratio:.0f}): possible zip bomb",
            name,
        )


ZipOpener = Callable[[], zipfile.ZipFile]


def _unreadable(error: zipfile.BadZipFile) -> PackageError:
    """A zip that cannot be read, whether its directory (when opened) or a member (when parsed)."""
    return PackageError("package.not_a_package", f"the upload is not a readable zip file ({error})")


def _read_zip(source: zipfile.ZipFile, reopen: ZipOpener, limits: PackageLimits) -> dict[str, Entry]:
    infos = [i for i in source.infolist() if not i.is_dir()]
    for info in infos:
        _check_zip_entry(info, limits)
    if len(infos) > limits.max_files:
        raise PackageError("package.too_many_files", f"the package has {len(infos)} files (limit {limits.max_files})")
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise PackageError("package.too_large",
                           f"the package expands to {total} bytes (limit {limits.max_total_bytes})")  # fmt: skip
    out: dict[str, Entry] = {}
    for info in infos:
        name = info.filename.replace("\\", "/")
        out[name] = _EMPTY if _JUNK.search(name) else Entry(info.file_size, partial(_unzip, reopen, info))
    return out


def _unzip(reopen: ZipOpener, info: zipfile.ZipInfo) -> bytes:
    """One member's bytes, from a zip opened for this read alone (members may be read by several threads)."""
    try:
        with reopen() as source, source.open(info) as handle:
            data = handle.read(info.file_size + 1)  # never trust the declared size beyond one byte
    except zipfile.BadZipFile as exc:
        raise _unreadable(exc) from None
    if len(data) > info.file_size:
        raise _unsafe(info.filename, "is larger than its header declares")
    return data


def _read_folder(root: Path, limits: PackageLimits) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for d in dirnames:
            if (Path(dirpath) / d).is_symlink():
                raise PackageError("package.unsafe_path", f"'{d}' is a symbolic link; the package was rejected", d)
        for f in filenames:
            path = Path(dirpath) / f
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise PackageError("package.unsafe_path", f"'{rel}' is a symbolic link; the package was rejected", rel)
            if _JUNK.search(rel):
                out[rel] = _EMPTY
                continue
            size = path.stat().st_size
            total += size
            if len(out) + 1 > limits.max_files:
                raise PackageError("package.too_many_files", f"the folder has more than {limits.max_files} files")
            if total > limits.max_total_bytes:
                raise PackageError("package.too_large", f"the folder holds more than {limits.max_total_bytes} bytes")
            out[rel] = Entry(size, partial(_read_file, path, rel, size))
    return out


def _read_file(path: Path, rel: str, size: int) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(size)  # the limits were checked against the size the folder listed
        grew = handle.read(1) != b""  # (read apart, so the file's bytes are allocated at their size)
    if grew:
        raise PackageError("package.too_large", f"'{rel}' grew after the package was opened; send it again once "
                           "it is complete", rel)  # fmt: skip
    return data


def _raw_entries(source: str | os.PathLike[str] | bytes, limits: PackageLimits) -> dict[str, Entry]:
    reopen: ZipOpener
    if isinstance(source, bytes):
        data = source

        def reopen() -> zipfile.ZipFile:
            return zipfile.ZipFile(io.BytesIO(data))
    else:
        path = Path(source)
        if path.is_dir():
            return _read_folder(path, limits)
        if not path.is_file():
            raise PackageError("package.not_a_package", f"'{path}' is neither a zip file nor a folder")

        def reopen() -> zipfile.ZipFile:
            return zipfile.ZipFile(path)

    try:
        with reopen() as zf:
            return _read_zip(zf, reopen, limits)
    except zipfile.BadZipFile as exc:
        raise _unreadable(exc) from None


def open_package(
    source: str | os.PathLike[str] | bytes, *, strict: bool = False, limits: PackageLimits | None = None
) -> PackageFiles:
    entries = _raw_entries(source, limits or PackageLimits())
    notes: list[Finding] = []

    def note(code: str, message: str, file: str | None = None, severity: Severity = Severity.INFO) -> None:
        notes.append(Finding(code, severity, file, None, None, message))

    junk = [name for name in entries if _JUNK.search(name)]
    if junk:
        note("package.ignored_entry", f"{len(junk)} system file(s) were ignored (e.g. {junk[0]})")
    real = {name: entry for name, entry in entries.items() if name not in junk}
    root = ""
    if not any(n.lower() == "manifest.csv" for n in real):
        tops = {n.split("/", 1)[0] for n in real if "/" in n}
        nested = [n for n in real if n.count("/") == 1 and n.split("/", 1)[1].lower() == "manifest.csv"]
        if len(nested) == 1 and len(tops) == 1 and all("/" in n for n in real):
            root = nested[0].split("/", 1)[0] + "/"
            if strict:
                raise PackageError("package.invalid_layout", f"the files are inside the folder '{root}', not at the "
                                   "root of the zip")  # fmt: skip
            note("package.nested_folder", f"the files were read from the folder '{root}' inside the package")
        else:
            raise PackageError("manifest.missing", "the package has no manifest.csv at its root", "manifest.csv")
    files: dict[str, Entry] = {}
    names: dict[str, str] = {}
    for name, entry in real.items():
        if not name.startswith(root):
            continue
        rel = name[len(root) :]
        if "/" in rel:
            note("package.unknown_file", f"'{name}' is in a sub-folder and was ignored", name)
            continue
        stem, dot, ext = rel.rpartition(".")
        canonical = _CANONICAL.get(stem.lower()) if dot and ext.lower() == "csv" else None
        if canonical is None:
            if strict:
                raise PackageError("package.unknown_file", f"'{rel}' is not a OneRoster file", rel)
            note("package.unknown_file", f"'{rel}' is not a OneRoster file and was ignored", rel)
            continue
        if rel != canonical + ".csv":
            if strict:
                raise PackageError("package.file_name_case", f"'{rel}' must be named '{canonical}.csv'", rel)
            note("package.file_name_case", f"'{rel}' was read as '{canonical}.csv' (file names are case-sensitive)",
                 rel)  # fmt: skip
        if canonical in files:
            raise PackageError("package.duplicate_file", f"'{rel}' and '{names[canonical]}' are the same file", rel)
        files[canonical] = entry
        names[canonical] = rel
    return PackageFiles(files, names, tuple(notes))
