"""What writing one prediction-log segment file costs on a local disk: plain vs durable.

The log's writer encodes a segment into memory and then writes it as a new file. Two ways are
timed here on the same bytes, each into new files (as the log does), in blocks of ``--files``
files, the blocks alternating (twice each):

- **plain**: ``open``, ``write``, ``close`` (what the log did before it wrote durably);
- **durable**: ``segments._write_local``, what the log does now on a local disk: write,
  ``fdatasync``, drop the pages from the page cache, rename into place, fsync the folder.

Printed per block: the median wall time and the median CPU time of the writing thread per file.
Most of a write's CPU is the kernel's, filling page-cache pages, and what a page costs depends
on where it comes from: on a virtual machine whose memory is backed on first touch a fresh page
costs several times a page just freed. A durable write frees its pages for the next one; plain
writes keep theirs cached and take fresh ones. Blocks, not alternating files, because
alternating hands one way's freed pages to the other. The durable write's waits for the disk
show in wall time only.

    python benchmarks/segment_write.py                       # blocks of 20 files of 5.5 MB
    python benchmarks/segment_write.py --mb 1 --files 50 --dir /var/tmp
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable

from prodml.monitoring.log import segments


def plain(folder: str, data: bytes) -> None:
    fd = os.open(f"{folder}/plain-{uuid.uuid4().hex}", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def durable(folder: str, data: bytes) -> None:
    name = f"{folder}/durable-{uuid.uuid4().hex}"
    segments._write_local(folder, name + ".tmp", name, memoryview(data))


def timed(write: Callable[[str, bytes], None], folder: str, data: bytes) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.thread_time()
    write(folder, data)
    return time.perf_counter() - wall, time.thread_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=5.5, help="size of one segment file")
    ap.add_argument("--files", type=int, default=20, help="files written each way")
    ap.add_argument("--dir", default=None, help="where to write (default: a temporary folder)")
    args = ap.parse_args()
    data = os.urandom(int(args.mb * 1e6))
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        print(f"blocks of {args.files} new files of {args.mb} MB, medians per file:")
        for name, write in (("plain", plain), ("durable", durable)) * 2:
            times = []
            for _ in range(args.files):
                times.append(timed(write, folder, data))
                time.sleep(0.05)  # the log writes about once a second, not back to back
            wall = statistics.median(t[0] for t in times) * 1e3
            cpu = statistics.median(t[1] for t in times) * 1e3
            print(f"  {name:8s} wall {wall:7.2f} ms   cpu {cpu:7.2f} ms")


if __name__ == "__main__":
    main()
