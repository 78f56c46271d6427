"""CSV bytes -> a columnar table of raw string cells, each row tagged with its physical line number.

The common case (every row as wide as the header, no line breaks inside quotes) is handled entirely by polars:
one pass splits physical lines (for exact line numbers and field counts), one pass parses the fields. Python loops
run only over exceptional rows: rows with an odd number of quotes (possible line breaks inside a quoted field) and
rows whose field count differs from the header.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import polars as pl

from .model import Finding, PackageError, Severity
from .normalize import edged_columns

LINE = "_line"
_BOM = b"\xef\xbb\xbf"
_LINE_SEP = "\x1f"  # a byte that never occurs in sane CSV; used to read whole physical lines with polars


@dataclass(frozen=True)
class CsvTable:
    """Raw cells of one CSV file.

    ``cells`` has one String column per header position (``c0`` .. ``c{n-1}``, values untrimmed, "" for empty)
    plus ``_line`` (Int64, physical line of the row's first line; the header is line 1). Rows with a structural
    problem are present too, padded with nulls or truncated, and listed in ``problems`` (line, code, message).
    """

    file: str
    header: tuple[str, ...]
    cells: pl.DataFrame
    problems: pl.DataFrame
    notes: tuple[Finding, ...]
    needs_trim: bool = True  # False when no cell starts or ends with a space or tab (trimming is skipped)


def cell_name(i: int) -> str:
    return f"c{i}"


def _problems(rows: list[tuple[int, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"line": pl.Int64, "code": pl.String, "message": pl.String}, orient="row")


def decode_check(data: bytes, file: str) -> None:
    """Fail the package on text that is not UTF-8, naming the first bad line."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PackageError("csv.invalid_utf8", "the file is UTF-16 encoded; save it as UTF-8", file, 1)
    if data.isascii():
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PackageError(
            "csv.invalid_utf8",
            f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            file,
            line,
        ) from None


def _split_lines(data: bytes) -> pl.Series:
    """Physical lines without their terminators (CRLF or LF); a final newline does not open a new line."""
    if _LINE_SEP.encode() not in data:
        try:
            frame = pl.read_csv(
                data,
                has_header=False,
                schema={"l": pl.String},
                separator=_LINE_SEP,
                quote_char=None,
                empty_string_is_null=False,
                raise_if_empty=False,
            )
            return frame["l"].fill_null("")
        except pl.exceptions.PolarsError:  # pragma: no cover - defensive, fall back to Python
            pass
    parts = data.decode("utf-8").split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return pl.Series("l", [p[:-1] if p.endswith("\r") else p for p in parts], dtype=pl.String)


def _parse_python(texts: list[str]) -> list[list[str]]:
    return [next(csv.reader([t]), []) for t in texts]


def _parse_polars(source: bytes, width: int, expected: int, skip_rows: int) -> pl.DataFrame | None:
    """Parse rows known to have ``width`` fields; None when polars disagrees (odd quoting), so Python decides."""
    try:
        frame = pl.read_csv(
            source,
            has_header=False,
            skip_rows=skip_rows,
            schema={cell_name(i): pl.String for i in range(width)},
            empty_string_is_null=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.height != expected:
        return None
    return frame.with_columns(pl.all().fill_null(""))


def _read_simple(data: bytes, file: str, notes: tuple[Finding, ...]) -> CsvTable | None:
    """The common file, parsed straight from its bytes without splitting it into line texts first: no CR, no empty
    line, no quote inside a name or a value (only quotes around whole ones: many exports quote every field), a header
    without empty trailing names, every line a row as wide as the header, all of it UTF-8. None when any of that does
    not hold: the general path then reads the file (and names what is wrong with it)."""
    if b"\r" in data:
        return None
    end = data.find(b"\n")
    header = _simple_header(data[: end if end >= 0 else len(data)])
    if header is None or not header[-1].strip() or end < 0:
        return None
    width = len(header)
    has_quotes = b'"' in data  # (a look for one is much quicker than a count)
    try:
        # (told there are no quotes, polars parses a file without any a fifth faster)
        cells = pl.read_csv(data, has_header=False, skip_rows=1, schema={cell_name(i): pl.String for i in range(width)},
                            empty_string_is_null=False, raise_if_empty=False,
                            quote_char='"' if has_quotes else None)  # fmt: skip
    except pl.exceptions.PolarsError:  # a row wider than the header, text that is not UTF-8
        return None
    # One row per line, and (none being wider) every row exactly as wide as the header: polars pads a short row
    # with empty cells, so the body's bytes must be exactly its cells' bytes, width - 1 commas per row, a line feed
    # after each row but an unterminated last one, and the quotes around values: with no quote or line feed inside a
    # value, every quote of the file is one of those (a quote anywhere else ends up in a value, or makes a line feed
    # one). Counting the commas and line feeds of the bytes instead takes longer than parsing them.
    rows = cells.height
    value_bytes = cells.select(pl.sum_horizontal(pl.all().str.len_bytes().cast(pl.Int64).sum())).item()
    line_feeds = rows - (0 if data.endswith(b"\n") else 1)
    quotes = data.count(b'"', end) if has_quotes else 0
    # A quote left open elsewhere carries its value over a line feed (a row too few, or one in a value, both caught
    # below); on a last line without one, polars drops it and the count below cannot tell (`"a""` read as `a`).
    if quotes and not data.endswith(b"\n") and data.count(b'"', data.rfind(b"\n") + 1) % 2:
        return None
    if quotes and bool(cells.select(pl.any_horizontal(pl.all().str.contains('["\n]')).any()).item()):
        return None
    if rows == 0 or len(data) - end - 1 != value_bytes + (width - 1) * rows + line_feeds + quotes:
        return None
    # A row of blanks is a blank line (lenient) or odd (strict): the general path decides. Few rows start blank.
    starts_blank = cells.filter(pl.col(cell_name(0)).str.contains(r"^\s*$"))
    if bool(starts_blank.select(pl.all_horizontal(pl.all().str.contains(r"^\s*$")).any()).item()):
        return None
    lines = pl.int_range(2, cells.height + 2, eager=True, dtype=pl.Int64).alias(LINE)
    blanks = data.find(b" ", end) >= 0 or data.find(b"\t", end) >= 0
    needs_trim = blanks and any(edged_columns(cells))
    return CsvTable(file, header, cells.with_columns(lines), _problems([]), notes, needs_trim)


def _simple_header(line: bytes) -> tuple[str, ...] | None:
    """The names of a header line whose names are each quoted whole or not at all, with no quote inside and no
    comma inside a quoted one (as the csv module reads them); None for any other line."""
    try:
        names = line.decode("utf-8").split(",")
    except UnicodeDecodeError:  # (the general path names the line)
        return None
    if b'"' not in line:
        return tuple(names)
    unquoted = [n[1:-1] if len(n) >= 2 and n[0] == n[-1] == '"' else n for n in names]
    return None if any('"' in n for n in unquoted) else tuple(unquoted)


def read_csv_bytes(data: bytes, file: str, *, strict: bool) -> CsvTable:
    notes: list[Finding] = []

    def note(code: str, message: str, severity: Severity = Severity.INFO, count: int = 1) -> None:
        notes.append(Finding(code, severity, file, None, None, message, None, count))

    if data.startswith(_BOM):
        data = data[len(_BOM) :]
        note("csv.bom", "a UTF-8 byte order mark at the start of the file was skipped")
    # (polars refuses text that is not UTF-8, and a byte it replaced would fail the byte count: a file the fast path
    # reads needs no check of its own, a scan of every byte holding the interpreter's lock)
    simple = _read_simple(data, file, tuple(notes))
    if simple is not None:
        return simple
    decode_check(data, file)
    lines = _split_lines(data)
    if b"\r" in data and bool(lines.str.contains("\r", literal=True).any()):
        # Bare CR (the line splitter only removes the CR of CRLF): classic-Mac line ends or stray CRs; both are read
        # as line breaks, as text editors show them.
        if strict:
            raise PackageError("csv.bare_cr", "a carriage return (CR) without a line feed ends a line", file)
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        note("csv.bare_cr", "carriage returns without a line feed were read as line breaks")
        lines = _split_lines(data)
    if len(lines) == 0 or not lines[0].strip():
        raise PackageError("csv.empty_file", "the file has no header row on its first line", file, 1)
    header_text = lines[0]
    if header_text.count('"') % 2:
        raise PackageError("csv.line_break_in_field", "the header row has an unterminated quote", file, 1)
    raw_header = next(csv.reader([header_text]))
    full_width = len(raw_header)
    width = full_width
    while width > 1 and not raw_header[width - 1].strip():
        width -= 1
    if width != full_width:
        if strict:
            raise PackageError("schema.empty_header", "the header ends with empty column names", file, 1)
        note("schema.empty_header", f"{full_width - width} empty column name(s) at the end of the header were dropped")
    header = tuple(raw_header[:width])

    body = pl.DataFrame({"text": lines.slice(1), LINE: pl.int_range(2, len(lines) + 1, eager=True, dtype=pl.Int64)})
    blank_re = r"^\s*$" if strict else r"^[\s,]*$"  # lenient: a row of only commas is a blank line too
    has_quotes = b'"' in data
    body = body.with_columns(
        blank=pl.col("text").str.contains(blank_re),
        quotes=pl.col("text").str.count_matches('"', literal=True) if has_quotes else pl.lit(0, dtype=pl.UInt32),
        commas=pl.col("text").str.count_matches(",", literal=True),
    )
    blank_count = int(body["blank"].sum())
    if blank_count:
        body = body.filter(~pl.col("blank"))
        note("table.blank_lines", f"{blank_count} blank line(s) were skipped", count=blank_count)
    if body.height == 0:
        if strict:
            raise PackageError("table.no_data_rows", "the file has a header but no data rows; declare it absent", file)
        note("table.no_data_rows", "the file has a header but no data rows (read as an empty file)", Severity.SOFT)

    # Field count per row: commas outside quoted segments + 1.
    quoted = body["quotes"] > 0
    if bool(quoted.any()):
        inner = (
            pl.col("text")
            .str.extract_all(r'"(?:[^"]|"")*"')
            .list.eval(pl.element().str.count_matches(",", literal=True))
            .list.sum()
        )
        body = body.with_columns(
            width=pl.when(pl.col("quotes") > 0)
            .then(pl.col("commas") - inner.fill_null(0) + 1)
            .otherwise(pl.col("commas") + 1)
            .cast(pl.Int64)
        )
    else:
        body = body.with_columns(width=(pl.col("commas") + 1).cast(pl.Int64))
    body = body.with_row_index("_i")

    problems: list[tuple[int, str, str]] = []
    slow: dict[int, list[str]] = {}  # body row index -> parsed cells (Python path)
    consumed: set[int] = set()  # continuation lines of multi-line records
    odd = body.filter(pl.col("quotes") % 2 == 1)["_i"].to_list()
    if odd:
        texts = body["text"]
        lines_no = body[LINE]
        k = 0
        while k < len(odd):
            start = odd[k]
            if k + 1 < len(odd):
                end = odd[k + 1]
                chunk = "\n".join(texts.slice(start, end - start + 1).to_list())
                records = list(csv.reader(io.StringIO(chunk, newline="")))
                if len(records) == 1:
                    slow[start] = records[0]
                    consumed.update(range(start + 1, end + 1))
                    first, last = int(lines_no[start]), int(lines_no[end])
                    problems.append((first, "csv.line_break_in_field",
                                     f"a quoted value spans lines {first} to {last}; line breaks inside a value "
                                     "are not allowed (lines were read as one row)"))  # fmt: skip
                    k += 2
                    continue
            text = str(texts[start])
            try:
                slow[start] = next(csv.reader([text], strict=True))
            except csv.Error:
                slow[start] = next(csv.reader([text]))
                problems.append((int(lines_no[start]), "csv.unterminated_quote",
                                 "a quoted value is not closed by a double quote on this line"))  # fmt: skip
            k += 1
    allowed = [full_width] if strict or width == full_width else [full_width, width]
    odd_set = set(odd)
    ragged = body.filter(~pl.col("width").is_in(allowed) & ~pl.col("_i").is_in(list(odd_set)))
    for i, text in zip(ragged["_i"].to_list(), ragged["text"].to_list(), strict=True):
        slow[i] = next(csv.reader([text]))

    trailing = 0
    slow_rows: list[list[str | None]] = []
    slow_lines: list[int] = []
    line_of = body[LINE]
    for i in sorted(slow):
        cells = slow[i]
        line = int(line_of[i])
        if len(cells) not in allowed:
            if not strict and len(cells) > width and not any(c.strip() for c in cells[width:]):
                trailing += 1
            else:
                problems.append((line, "row.invalid_width",
                                 f"the row has {len(cells)} values but the header has {width} columns"))  # fmt: skip
        padded: list[str | None] = [*cells[:width], *([None] * (width - len(cells)))]
        slow_rows.append(padded)
        slow_lines.append(line)
    if trailing:
        note("table.trailing_empty_cells", f"{trailing} row(s) had extra empty values at the end (ignored)",
             count=trailing)  # fmt: skip

    parts: list[pl.DataFrame] = []
    if slow_rows:
        schema = {cell_name(i): pl.String for i in range(width)}
        frame = pl.DataFrame(slow_rows, schema=schema, orient="row")
        parts.append(frame.with_columns(pl.Series(LINE, slow_lines, dtype=pl.Int64)))
    fast = body.filter(~pl.col("_i").is_in(list(set(slow) | consumed))) if slow or consumed else body
    clean = fast.height == body.height and blank_count == 0
    if clean and len(allowed) == 1:
        # The common case parses straight from the raw bytes: let the line texts go first (a million rows of them
        # would otherwise sit in memory twice while the cells are parsed).
        fast = fast.drop("text")
    del body, lines
    dropped_cells = 0
    for w in sorted(set(fast["width"].unique().to_list())):
        group = fast.filter(pl.col("width") == w) if len(allowed) > 1 else fast
        if clean and len(allowed) == 1:
            parsed = _parse_polars(data, w, group.height, 1)
        else:
            joined = group["text"].str.join("\n").cast(pl.Binary).item()
            parsed = _parse_polars(joined, w, group.height, 0)
        if parsed is None:
            rows = _parse_python(group["text"].to_list())
            parsed = pl.DataFrame(
                [[*r[:w], *([""] * (w - len(r)))] for r in rows],
                schema={cell_name(i): pl.String for i in range(w)},
                orient="row",
            )
        if w > width:
            extra = parsed.select([cell_name(i) for i in range(width, w)])
            dropped_cells += int(extra.select(pl.any_horizontal(pl.all().str.strip_chars() != "").sum()).item())
            parsed = parsed.select([cell_name(i) for i in range(width)])
        parts.append(parsed.with_columns(group[LINE]))
    if dropped_cells:
        note("table.values_under_empty_header", f"{dropped_cells} row(s) had values under an empty column name "
             "(dropped)",
             Severity.SOFT, dropped_cells)  # fmt: skip
    if parts:
        cells_frame = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            cells_frame = cells_frame.sort(LINE)
    else:
        cells_frame = pl.DataFrame(schema={**{cell_name(i): pl.String for i in range(width)}, LINE: pl.Int64})
    needs_trim = (b" " in data or b"\t" in data) and any(edged_columns(cells_frame.drop(LINE)))
    return CsvTable(file, header, cells_frame, _problems(sorted(problems)), tuple(notes), needs_trim)
