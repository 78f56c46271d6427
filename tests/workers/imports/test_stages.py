"""The parsing progress the two reading threads report together."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from workers.imports.stages import Parsing


def test_reports_from_two_reading_threads_at_once_count_every_file_and_arrive_in_order() -> None:
    reports: list[int] = []
    sizes = [[1 + (i * 7) % 13 for i in range(2000)], [1 + (i * 5) % 11 for i in range(2000)]]
    reader: Any = SimpleNamespace(csv_bytes=sum(map(sum, sizes)))
    parsing = Parsing(reader, lambda phase, processed, total: reports.append(processed))
    start = threading.Barrier(2)

    def read(files: list[int]) -> None:
        start.wait()
        for size in files:
            parsing.on_file(size)

    threads = [threading.Thread(target=read, args=(files,)) for files in sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert parsing.done == reader.csv_bytes
    assert reports == sorted(reports) and len(set(reports)) == len(reports) == 4000
    assert reports[-1] == reader.csv_bytes
