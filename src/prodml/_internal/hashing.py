"""Content digests: of artifact directories and of training data (lineage fingerprints)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def directory_sha256(directory: Path) -> str:
    """One digest for a directory tree: sha256 over sorted ``relative/path NUL sha256`` lines.

    Names and contents both count, so renaming, adding, removing or editing any file changes it;
    file modes and timestamps do not (they change when copied between stores).
    """
    digest = hashlib.sha256()
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    for path in files:
        relative = path.relative_to(directory).as_posix()
        digest.update(f"{relative}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def data_fingerprint(data: Any) -> str:
    """A stable sha256 of a data set (pandas, Arrow, numpy, or anything ``repr``-able).

    Used as lineage: two versions trained on the same rows share the fingerprint.
    """
    digest = hashlib.sha256()
    module = type(data).__module__
    if module.startswith("pandas"):
        import pandas as pd

        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    elif module.startswith("pyarrow"):
        import pyarrow as pa

        sink = pa.BufferOutputStream()
        table = data if isinstance(data, pa.Table) else pa.table(data)
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest.update(sink.getvalue().to_pybytes())
    elif module.startswith("numpy"):
        import numpy as np

        array = np.ascontiguousarray(data)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    else:
        digest.update(repr(data).encode())
    return digest.hexdigest()
