"""Where preparing a raw Criteo file spends its time: parse, tokenize, vocabularies, write.

On one Criteo-format file (``data.raw_file``: the synthetic generator's 39-field rows), each
stage is timed on its own, single-threaded, in CPU seconds (``time.process_time``) and wall
seconds, then the whole :func:`~embcollapse.data.prepare.prepare` (which overlaps parsing
(one thread), tokenizing (two threads) and the vocabularies (the caller's thread)):

* ``parse``      pyarrow's streaming CSV reader with the source's options (binary columns);
* ``tokenize``   :func:`~embcollapse.data.tokens.tokenize` of the parsed chunks (label, 13
                 integer fields, 26 categorical fields: dictionary encoding and keys);
* ``vocab``      :class:`~embcollapse.data.prepare.FieldVocab` ``add`` per field (hash table and
                 counts) and writing the raw ids;
* ``prepare``    the whole command (both passes, threads on).

Usage::

    python benchmarks/prepare_phases.py --rows 500000
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402
from data import raw_file  # noqa: E402

from embcollapse import paths  # noqa: E402
from embcollapse.data import criteo  # noqa: E402
from embcollapse.data.csv import CHUNK_ROWS  # noqa: E402
from embcollapse.data.prepare import FieldVocab, PrepareOptions, prepare  # noqa: E402
from embcollapse.data.tokens import tokenize  # noqa: E402


def timed(rows: list[dict], stage: str, n: int, fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    rows.append({"stage": stage, "rows": n, "cpu_s": cpu, "wall_s": wall,
                 "cpu_s_per_M_rows": cpu / n * 1e6, "load": round(os.getloadavg()[0], 1)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--cache", type=Path, default=paths.home() / "bench")
    args = parser.parse_args()
    path = raw_file(args.rows, args.cache)
    source = criteo.source(path)
    rows: list[dict] = []

    def parse():
        import pyarrow as pa
        batches = [b for b, _ in source._batches(source.new_issues())]
        return pa.Table.from_batches(batches)

    table = timed(rows, "parse (pyarrow CSV, binary columns)", args.rows, parse)
    chunks = [table.slice(s, CHUNK_ROWS) for s in range(0, table.num_rows, CHUNK_ROWS)]
    tokens = timed(rows, "tokenize (label, ints, categoricals)", args.rows,
                   lambda: [tokenize(c, source.spec) for c in chunks])

    def vocab():
        import numpy as np
        vocabs = [FieldVocab() for _ in source.spec.fields]
        with tempfile.TemporaryFile() as out:
            for batch in tokens:
                block = np.stack([v.add(batch.keys[f], batch.codes[f])
                                  for f, v in enumerate(vocabs)], axis=1)
                out.write(block.tobytes())

    timed(rows, "vocabularies + raw-id scratch write", args.rows, vocab)
    del table, chunks, tokens
    with tempfile.TemporaryDirectory() as tmp:
        timed(rows, "prepare (whole, threads on)", args.rows,
              lambda: prepare(source, Path(tmp) / "out", PrepareOptions(min_count=10),
                              progress=False))
    print_table(rows)
    write_json("prepare_phases", rows, file=str(path))


if __name__ == "__main__":
    main()
