"""python -m bench [--quick] [--sizes 10000,100000,1000000] [--out FILE]"""

from __future__ import annotations

import argparse
import sys

from bench.run import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="fundledger beside the raw database floor and beside beancount.",
    )
    parser.add_argument("--quick", action="store_true", help="10k events, both stores (< 3 min)")
    parser.add_argument("--sizes", default="", help="comma-separated event counts")
    parser.add_argument(
        "--stores", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--out", default="", help="write the results as JSON to this file")
    parser.add_argument(
        "--only", default="", help="comma-separated metric groups (writes,http,reads,verify)"
    )
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    else:
        sizes = [10_000] if args.quick else [10_000, 100_000, 1_000_000]
    stores = [part.strip() for part in args.stores.split(",") if part.strip()]
    groups = [part.strip() for part in args.only.split(",") if part.strip()]
    return run(sizes=sizes, stores=stores, out=args.out, groups=groups, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
