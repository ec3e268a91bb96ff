"""Benchmark: A4 label sheets (labels/s, peak RSS of the process tree, file size) and QR encoders.

Run from the repository root: ``python -m bench.bench_labels [--quick]``. Each sheet run
happens in a fresh interpreter so that peak memory belongs to that run alone; a run of
5x the size shows whether memory grows with the run. ``labels_per_cpu_s`` (all processes)
stays meaningful on a shared, loaded machine where wall-clock rates do not. Prints one
JSON document of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE_URL = "https://truyxuat.longan.gov.vn"
GTIN = "08931230456782"
LOT = "TL-2024/07"
PRODUCT = "Thanh long ruột đỏ Long An"


class TreeSampler(threading.Thread):
    """Sample this process's descendants every 50 ms (Linux /proc): summed RSS and CPU.

    A sum of RSS counts shared pages once per process, so it is an upper bound. The
    CPU of each descendant is its last sample (pool workers are grandchildren under
    forkserver, which rusage does not see); a worker's last <50 ms may be missed.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib = 0
        self._cpu_ticks: dict[int, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        while not self._stop_event.is_set():
            self.peak_kib = max(self.peak_kib, self._sample())
            self._stop_event.wait(0.05)

    def stop(self) -> tuple[float, float]:
        """Stop; return (peak tree RSS in MiB, CPU seconds of the descendants)."""
        self._stop_event.set()
        self.join()
        ticks = sum(self._cpu_ticks.values())
        return self.peak_kib / 1024, ticks / os.sysconf("SC_CLK_TCK")

    def _sample(self) -> int:
        total, todo = _rss_kib(os.getpid()), _children(os.getpid())
        while todo:
            pid = todo.pop()
            total += _rss_kib(pid)
            ticks = _cpu_ticks(pid)
            if ticks:
                self._cpu_ticks[pid] = ticks
            todo += _children(pid)
        return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def one_sheet_run(grid: str, count: int, workers: int) -> dict[str, float]:
    """Render ``count`` labels into a temporary PDF; return rate, peak tree RSS, size."""
    from stamps.identity import new_serials, stamp_uri
    from stamps.render.labels import Label, render_label_sheet

    def labels() -> Iterator[Label]:
        for serial in new_serials(count):
            yield Label(stamp_uri(BASE_URL, GTIN, LOT, serial), serial, PRODUCT, LOT)

    sampler = TreeSampler()
    sampler.start()
    own_before = _own_cpu_seconds()
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        render_label_sheet(labels(), grid, out, workers=workers)
        elapsed = time.perf_counter() - started
        size = out.tell()
    peak_mib, descendants_cpu = sampler.stop()
    cpu = _own_cpu_seconds() - own_before + descendants_cpu
    return {
        "labels_per_s": count / elapsed,
        "labels_per_cpu_s": count / cpu,
        "seconds": elapsed,
        "load_avg_1min_after": os.getloadavg()[0],
        "peak_tree_rss_mib": peak_mib,
        "file_mib": size / 2**20,
    }


def _own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _sheet_in_subprocess(grid: str, count: int, workers: int) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.bench_labels", "--one", grid, str(count), str(workers)]
    done = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def _median_runs(grid: str, count: int, workers: int, repeats: int) -> dict[str, float]:
    runs = [_sheet_in_subprocess(grid, count, workers) for _ in range(repeats)]
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}


def qr_encoders(samples: int) -> dict[str, float]:
    """QR symbols per second (1 core) for each encoder option we compared."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    from stamps.identity import new_serials, stamp_uri
    from stamps.render.qr import pdf_path_ops, qr_matrix

    uris = [stamp_uri(BASE_URL, GTIN, LOT, serial) for serial in new_serials(samples)]
    version = qr_matrix(uris[0]).size // 4 - 4  # size = 17 + 4 * version

    def qrcode_auto(uri: str) -> object:
        code = qrcode.QRCode(error_correction=ERROR_CORRECT_M)
        code.add_data(uri)
        code.make(fit=True)
        return code.modules

    def qrcode_fixed(uri: str) -> object:
        code = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, mask_pattern=3)
        code.add_data(uri)
        code.make(fit=False)
        return code.modules

    slow = uris[: len(uris) // 4]  # pure-Python encoders get fewer samples
    options: dict[str, tuple[Callable[[str], object], list[str]]] = {
        "qrcode_auto_version_and_mask": (qrcode_auto, slow),
        f"qrcode_fixed_version_{version}_mask_3": (qrcode_fixed, slow),
        "zxingcpp_auto_mask": (lambda uri: qr_matrix(uri, mask=None), uris),
        "zxingcpp_fixed_mask_3 (used)": (qr_matrix, uris),
        "zxingcpp_fixed_mask_3 + pdf_path_ops (used)": (
            lambda uri: pdf_path_ops(qr_matrix(uri)),
            uris,
        ),
    }
    return {name: round(_rate(encode, batch), 1) for name, (encode, batch) in options.items()}


def _rate(encode: Callable[[str], object], uris: list[str]) -> float:
    rates = []
    for _ in range(3):
        started = time.perf_counter()
        for uri in uris:
            encode(uri)
        rates.append(len(uris) / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> None:
    """Run every measurement and print the medians as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 repeat, smaller runs")
    parser.add_argument("--one", nargs=3, metavar=("GRID", "COUNT", "WORKERS"))
    args = parser.parse_args()
    if args.one:
        grid, count, workers = args.one
        print(json.dumps(one_sheet_run(grid, int(count), int(workers))))
        return
    repeats, count = (1, 2_000) if args.quick else (3, 10_000)
    cpus = len(os.sched_getaffinity(0))
    report: dict[str, object] = {"labels": count, "cpus": cpus, "repeats": repeats}
    for grid in ("3x8", "5x13"):
        for workers in sorted({1, cpus}):
            report[f"sheet_{grid}_workers_{workers}"] = _median_runs(grid, count, workers, repeats)
    report[f"memory_check_5x13_{5 * count}_labels_workers_{cpus}"] = _median_runs(
        "5x13", 5 * count, cpus, 1
    )
    report["qr_encodes_per_s_one_core"] = qr_encoders(400 if args.quick else 2_000)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
