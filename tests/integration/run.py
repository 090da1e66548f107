#!/usr/bin/env python3
"""
Run the picmdd integration tests.

    python3 tests/integration/run.py --build DIR [-k SUBSTRING]

DIR holds picmdd, commands/*.so and tests/plugins/*.so ("make check-build").
Every test_*.py module next to this file is loaded, and every function in
it named test_* is a test that receives a harness.Context.  A test's name is
MODULE/FUNCTION without the "test_" prefixes; -k keeps the tests whose name
contains SUBSTRING.  Prints "ok - NAME" or "FAIL - NAME" and the reason per
test (-v adds durations), "skip - NAME (reason)" for a test that cannot
run on this machine, then "N passed, N failed"; exits 1 when a test
failed.
"""

import argparse
import importlib
import os
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

RUN_TIMEOUT = 600 * harness.SLOW    # the whole run, seconds


def discover():
    tests = []
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = importlib.import_module(fname[:-3])
        for name, fn in vars(mod).items():
            if name.startswith("test_") and callable(fn):
                tests.append(("%s/%s" % (fname[5:-3], name[5:]), fn))
    return tests


def watchdog():
    print("FAIL - the run took longer than %d s; stopping" % RUN_TIMEOUT,
          flush=True)
    harness.kill_all_daemons()
    os._exit(1)


def run_one(build, fn):
    """Run one test; a list of problems (empty: it passed)."""
    ctx = harness.Context(build)
    problems = []
    try:
        fn(ctx)
    except harness.Skip as e:
        ctx.cleanup()
        return "skip: %s" % e
    except harness.Failure as e:
        tb = traceback.extract_tb(e.__traceback__)
        where = [f for f in tb if f.filename.startswith(HERE)
                 and not f.filename.endswith("harness.py")]
        loc = " (%s:%d)" % (os.path.basename(where[-1].filename),
                            where[-1].lineno) if where else ""
        problems.append("%s%s" % (e, loc))
    except Exception:
        problems.append(traceback.format_exc().rstrip())
    failed_body = bool(problems)
    if failed_body:
        problems.extend(ctx.process_report())
    problems.extend(ctx.cleanup())
    if problems and (failed_body or ctx.daemons):
        problems.extend(ctx.stderr_report())
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().split("\n")[0])
    ap.add_argument("--build", required=True,
                    help="build directory (build or build/asan)")
    ap.add_argument("-k", dest="substring", default="",
                    help="run only tests whose name contains this")
    ap.add_argument("-v", dest="verbose", action="store_true",
                    help="also print each test's duration")
    args = ap.parse_args()

    picmdd = os.path.join(args.build, "picmdd")
    if not os.access(picmdd, os.X_OK):
        print("FAIL - %s is missing: run make check-build" % picmdd)
        print("0 passed, 1 failed")
        return 1

    timer = threading.Timer(RUN_TIMEOUT, watchdog)
    timer.daemon = True
    timer.start()

    tests = [(n, f) for n, f in discover() if args.substring in n]
    passed = failed = skipped = 0
    start = time.monotonic()
    for name, fn in tests:
        t0 = time.monotonic()
        problems = run_one(args.build, fn)
        took = time.monotonic() - t0
        if isinstance(problems, str):
            skipped += 1
            print("skip - %s (%s)" % (name, problems[6:]))
        elif problems:
            failed += 1
            print("FAIL - %s" % name)
            for p in problems:
                for line in p.split("\n"):
                    print("    " + line)
        else:
            passed += 1
            print("ok - %s" % name)
        if args.verbose:
            print("# %s: %.2f s" % (name, took))
        sys.stdout.flush()
    timer.cancel()
    print("# %d tests in %.1f s" % (len(tests), time.monotonic() - start))
    print("%d passed, %d failed%s" % (passed, failed, ", %d skipped"
                                      % skipped if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
