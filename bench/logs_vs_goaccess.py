"""opsbook logs access vs GoAccess on the same generated access log, in one run.

    apt-get install goaccess
    .venv/bin/python bench/logs_vs_goaccess.py [--lines 1000000] [--rounds 3] [--memory] [--stress]
        [--layouts timed,combined,vhost]

Both read the same file (by default combined + $request_time + $upstream_response_time;
``--layouts`` adds nginx's plain combined and a virtual-host layout, each on its own log) and
write a JSON report: GoAccess with the equivalent --log-format, opsbook with its full report (status
classes, percentiles overall and per folded route, top lists, suspicious clients, timeline).
Sides take turns; the median wall time of each is compared. Peak RSS is each process's own
(wait4). ``--memory`` also runs opsbook on a log three times as long, to show that memory
does not grow with the file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gen_access_log import LAYOUTS, generate  # noqa: E402

GOACCESS_FORMAT = '%h - %^ [%d:%t %^] "%r" %s %b "%R" "%u" %T %^'
GOACCESS_FORMATS = {  # each layout as GoAccess reads it (gen_access_log.LAYOUTS)
    "timed": GOACCESS_FORMAT,
    "combined": "COMBINED",
    "vhost": f"%v {GOACCESS_FORMAT}",
}
OPSBOOK = [str(ROOT / ".venv/bin/opsbook")]


def timed(argv: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes) of one process, its output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stderr.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {err.decode()[-500:]}")
    return wall, usage.ru_maxrss * 1024


def goaccess(log: Path, out: Path, layout: str = "timed") -> list[str]:
    given = GOACCESS_FORMATS[layout]
    dates = [] if given == "COMBINED" else ["--date-format", "%d/%b/%Y", "--time-format", "%T"]
    return [
        "goaccess", str(log), "--log-format", given, *dates, "--no-progress",
        "--no-global-config", "-o", str(out),
    ]  # fmt: skip


def opsbook(log: Path, out: Path, layout: str = "timed") -> list[str]:
    given = LAYOUTS[layout]
    fmt = [] if given is None else ["--log-format", given]
    return [*OPSBOOK, "logs", "access", str(log), *fmt, "--format", "json", "-o", str(out)]


def _log(args: argparse.Namespace, work: Path, layout: str) -> Path:
    """The layout's log: generated into the work directory, or kept beside --keep."""
    keep = args.keep
    if keep is None:
        log = work / f"access-{layout}.log"
    elif layout == "timed":
        log = keep
    else:
        log = keep.with_name(f"{keep.stem}-{layout}{keep.suffix}")
    if not log.exists():
        print(f"generating {args.lines:,} lines ({layout}) …", flush=True)
        generate(log, args.lines, stress=args.stress, layout=layout)
    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--stress", action="store_true", help="runaway cardinality")
    parser.add_argument("--keep", type=Path, help="reuse/keep the generated log here")
    parser.add_argument(
        "--layouts", default="timed",
        help=f"comma-separated, of {', '.join(LAYOUTS)} (each measured on its own log)",
    )  # fmt: skip
    args = parser.parse_args()
    layouts = args.layouts.split(",")
    if unknown := sorted(set(layouts) - set(LAYOUTS)):
        raise SystemExit(f"--layouts: unknown {', '.join(unknown)}; expected {', '.join(LAYOUTS)}")
    if not shutil.which("goaccess"):
        raise SystemExit("goaccess not found: apt-get install goaccess")
    # as installed (pip byte-compiles a package): an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 would compile opsbook's modules from source on every run
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "opsbook")],
                   check=True)  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="opsbook-logs-bench-"))
    try:
        for layout in layouts:
            log = _log(args, work, layout)
            ours = _compare(args, work, log, layout)
        if args.memory:
            big = work / "access3x.log"
            with big.open("wb") as dst:
                for _ in range(3):
                    with log.open("rb") as src:
                        shutil.copyfileobj(src, dst)
            wall, peak = timed(opsbook(big, work / "ob3.json", layout))
            print(f"opsbook on 3x the {layout} log: {wall:.2f} s, RSS {peak / 2**20:.0f} MB "
                  f"(vs {ours / 2**20:.0f} MB on 1x)")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _compare(args: argparse.Namespace, work: Path, log: Path, layout: str) -> int:
    """Both sides in turn on one log; prints the figures, returns opsbook's peak RSS."""
    size = log.stat().st_size
    print(f"\n{layout} log: {args.lines:,} lines, {size / 1e6:.0f} MB; "
          f"{args.rounds} rounds, sides alternate")  # fmt: skip
    walls: dict[str, list[float]] = {"goaccess": [], "opsbook": []}
    rss: dict[str, int] = {"goaccess": 0, "opsbook": 0}
    for _ in range(args.rounds):
        for side, argv in (("goaccess", goaccess(log, work / "ga.json", layout)),
                           ("opsbook", opsbook(log, work / "ob.json", layout))):  # fmt: skip
            wall, peak = timed(argv)
            walls[side].append(wall)
            rss[side] = max(rss[side], peak)
            print(f"  {side:9s} {wall:6.2f} s  {peak / 2**20:5.0f} MB", flush=True)
    ours = json.loads((work / "ob.json").read_text())
    theirs = json.loads((work / "ga.json").read_text())["general"]
    assert ours["requests"] == theirs["valid_requests"], (ours["requests"], theirs)
    ga, ob = statistics.median(walls["goaccess"]), statistics.median(walls["opsbook"])
    for label, side, wall in (("GoAccess 1.7 JSON", "goaccess", ga),
                              ("opsbook logs access", "opsbook", ob)):  # fmt: skip
        rate = args.lines / wall
        print(f"{label:24s} {wall:6.2f} s  {rate:10,.0f} lines/s  RSS {rss[side] / 2**20:.0f} MB")
    print(f"{layout}: opsbook throughput = {ga / ob:.1f}x GoAccess's  (target >= 10x)")
    lat = ours["latency_seconds"]
    p95 = f"opsbook p95 {lat['p95']} s" if lat else "no timing field"
    print(f"both counted {ours['requests']:,} requests; {p95}")
    return rss["opsbook"]


if __name__ == "__main__":
    main()
