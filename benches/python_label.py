"""Times `clientele.Bundle.label` on a book: reading the source files into Arrow tables
(CSV columns as text, as the CLI reads them; Parquet typed) and labeling them, each
timed. Run by benches/python_label.sh beside the CLI on the same book and model.

    python benches/python_label.py MODEL BOOK EXTRACT_DATE [LABELS.parquet]

With LABELS (the CLI's labels.parquet for the same book), also checks the labels are
equal column by column.
"""

import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

import clientele

def main() -> None:
    model, book, extract = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    t0 = time.perf_counter()
    bundle = clientele.Bundle.load(model)
    t1 = time.perf_counter()
    tables = clientele.read_sources(book)
    t2 = time.perf_counter()
    labels = bundle.label(tables, extract_date=extract)
    t3 = time.perf_counter()
    print(f"load bundle   {t1 - t0:6.2f} s")
    print(f"read (arrow)  {t2 - t1:6.2f} s")
    print(f"label         {t3 - t2:6.2f} s  ({labels.num_rows} clients)")
    if len(sys.argv) > 4:
        cli = pq.read_table(sys.argv[4])
        same = labels.column_names == cli.column_names and all(
            labels.column(c).to_pylist() == cli.column(c).to_pylist() for c in cli.column_names
        )
        print(f"labels equal to the CLI's: {same}")


if __name__ == "__main__":
    main()
