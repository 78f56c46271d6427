"""Generate a large, realistic OneRoster 1.1 bulk package for one school district (benchmark input).

    python -m bench.generate_district OUT_DIR [--seed 1] [--users 100000] [--classes 4000]
                                      [--enrollments 1000000] [--day2] [--zip]

Day 1 is a pure function of (seed, sizes). `--day2` writes the same district one day later (about 2% of each
file new/updated/deleted) plus `expected.json` with the exact per-file change counts against day 1.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import zipfile
from pathlib import Path

from bench.district_day2 import build_day2
from bench.district_model import District, build_day1, diff_counts

DATA_FILES = ["orgs", "academicSessions", "courses", "classes", "users", "enrollments", "demographics"]
ABSENT_FILES = ["categories", "classResources", "courseResources", "lineItems", "resources", "results"]
ZIP_TIMESTAMP = (2024, 9, 16, 0, 0, 0)  # fixed, so zips are byte-identical across runs


def write_package(district: District, out_dir: Path) -> dict[str, int]:
    """Write manifest.csv and the data files (helper columns dropped, LF line ends, minimal quoting)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    for name in DATA_FILES:
        frame = district.tables[name]
        frame.select([c for c in frame.columns if not c.startswith("_")]).write_csv(out_dir / f"{name}.csv")
        rows[name] = frame.height
    manifest = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    manifest += [f"file.{name},{'bulk' if name in rows else 'absent'}" for name in sorted(DATA_FILES + ABSENT_FILES)]
    manifest += ["source.systemName,oneroster-sync bench generator", f"source.systemCode,seed-{district.seed}"]
    (out_dir / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return rows


def write_zip(out_dir: Path) -> Path:
    """`<out_dir>.zip` beside the directory, files at the root of the archive as the spec requires."""
    target = out_dir.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in ["manifest", *DATA_FILES]:
            info = zipfile.ZipInfo(f"{name}.csv", date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            with (out_dir / f"{name}.csv").open("rb") as source, archive.open(info, "w", force_zip64=True) as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
    return target


def expected_changes(day1: District, day2: District) -> dict[str, dict[str, int]]:
    return {name: diff_counts(day1.tables[name], day2.tables[name]) for name in DATA_FILES}


def generate_district(
    out_dir: Path,
    *,
    seed: int = 1,
    users: int = 100_000,
    classes: int = 4_000,
    enrollments: int = 1_000_000,
    day: int = 1,
    make_zip: bool = False,
) -> dict[str, int]:
    """Write the day-1 (or day-2) package into `out_dir`; returns data rows per file (stem -> rows).

    Day 2 also writes `out_dir/expected.json`: {"files": {stem: {new, updated, deleted, unchanged,
    rows_day1, rows_day2}}, ...} relative to day 1 with the same seed and sizes.
    """
    if day not in (1, 2):
        raise ValueError("day must be 1 or 2")
    district = build_day1(seed, users, classes, enrollments)
    if day == 2:
        day1, district = district, build_day2(district)
    rows = write_package(district, Path(out_dir))
    if day == 2:
        summary = {
            "seed": seed,
            "day": 2,
            "sizes": {"users": users, "classes": classes, "enrollments": enrollments},
            "files": expected_changes(day1, district),
        }
        (Path(out_dir) / "expected.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if make_zip:
        write_zip(Path(out_dir))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate_district", description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=4_000)
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--day2", action="store_true", help="write day 2 (and expected.json) instead of day 1")
    parser.add_argument("--zip", action="store_true", help="also write OUT_DIR.zip")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = generate_district(
        args.out_dir,
        seed=args.seed,
        users=args.users,
        classes=args.classes,
        enrollments=args.enrollments,
        day=2 if args.day2 else 1,
        make_zip=args.zip,
    )
    elapsed = time.perf_counter() - started
    total_bytes = sum(p.stat().st_size for p in Path(args.out_dir).glob("*.csv"))
    for name, count in rows.items():
        size = (Path(args.out_dir) / f"{name}.csv").stat().st_size
        print(f"{name + '.csv':22} {count:>10,} rows {size / 1e6:>9.1f} MB")
    print(f"total {total_bytes / 1e6:.1f} MB of CSV in {elapsed:.1f} s -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
