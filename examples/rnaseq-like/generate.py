"""Generate the example's inputs: a random reference and reads simulated from it.

Usage: generate.py OUT_DIR [--small] [--seed N]

Writes OUT_DIR/ref/reference.fa (random bases, fixed seed) and
OUT_DIR/served/reads.fq, single-end 100 bp reads simulated from the reference
by wgsim (from the Debian samtools package) with the same seed, so every run
aligns the same data. --small makes inputs for a test run of a few seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess

# (reference megabases, read count). The full size took 94 s of pipeline
# time on the shared 2-core machine of the example's README.
FULL = (4.0, 600_000)
SMALL = (0.5, 20_000)
CONTIGS = 4
LINE = 60
READ_LENGTH = 100


def write_reference(path: str, megabases: float, seed: int) -> None:
    rng = random.Random(seed)
    per_contig = int(megabases * 1_000_000 / CONTIGS)
    with open(path, "w") as f:
        for number in range(1, CONTIGS + 1):
            bases = "".join(rng.choices("ACGT", k=per_contig))
            f.write(f">chr{number}\n")
            for start in range(0, len(bases), LINE):
                f.write(bases[start : start + LINE] + "\n")


def simulate_reads(reference: str, reads: str, count: int, seed: int) -> None:
    # wgsim simulates pairs; the second reads go to /dev/null, so the
    # pipeline aligns single-end reads.
    subprocess.run(
        [
            "wgsim",
            "-S", str(seed),
            "-N", str(count),
            "-1", str(READ_LENGTH),
            "-2", str(READ_LENGTH),
            reference,
            reads,
            os.devnull,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--small", action="store_true", help="inputs for a test run")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    megabases, count = SMALL if args.small else FULL
    ref_dir = os.path.join(args.out_dir, "ref")
    served = os.path.join(args.out_dir, "served")
    os.makedirs(ref_dir, exist_ok=True)
    os.makedirs(served, exist_ok=True)
    reference = os.path.join(ref_dir, "reference.fa")
    write_reference(reference, megabases, args.seed)
    simulate_reads(reference, os.path.join(served, "reads.fq"), count, args.seed)
    print(f"generate: {megabases} Mb reference, {count} reads of {READ_LENGTH} bp")


if __name__ == "__main__":
    main()
