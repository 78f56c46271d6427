"""What an import that ends without applying tells: the failure code and the message a district admin reads."""

from __future__ import annotations

import asyncpg

from oneroster_csv import PackageError


class HoldNotApprovable(Exception):
    """A held sync that cannot be applied as computed: not HELD, or the district's data changed since."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class HashSchemeChanged(Exception):
    """This worker's polars hashes records differently from the one that computed the stored hashes
    (workers/imports/hash_scheme.py)."""

    def __init__(self, recorded: str, running: str) -> None:
        super().__init__(f"hash scheme of polars {running} differs from the recorded one of polars {recorded}")
        self.recorded = recorded
        self.running = running


# The connection broke, or an administrator or a shutdown ended the session (SQLSTATE classes 08 and 57).
_CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
                    asyncpg.InterfaceError, ConnectionError, OSError)  # fmt: skip


def failure_of(error: Exception) -> tuple[str, str]:
    """The failure code and the message a district admin reads for an import that ended in `error`."""
    if isinstance(error, PackageError):
        return error.code, _package_message(error)
    if isinstance(error, HoldNotApprovable):
        return error.code, error.message
    if isinstance(error, HashSchemeChanged):
        return ("import.hash_scheme_changed", f"This worker computes record hashes with polars {error.running}, "
                f"which hashes differently from polars {error.recorded} that computed the district's stored data: "
                "importing would count every record as UPDATED. Nothing was applied; run the workers with polars "
                f"{error.recorded} (see the README on upgrading polars).")  # fmt: skip
    if isinstance(error, _CONNECTION_LOST):
        return ("import.database_error", "The connection to the database was lost during the import, so nothing "
                "was applied and the district's data is unchanged; start the import again.")  # fmt: skip
    return ("import.internal_error",
            "The import failed unexpectedly and changed nothing; please try again or contact support.")  # fmt: skip


def _package_message(error: PackageError) -> str:
    where = f"{error.file}: " if error.file else ""
    line = f"line {error.line}: " if error.line is not None else ""
    return f"{where}{line}{error.message}. Nothing was applied; the district's data is unchanged."
