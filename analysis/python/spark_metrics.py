#!/usr/bin/env python3
"""The coverage, mismatch and locality frame count of every run of a dataset, computed by Apache
Spark from the SQL `tracer-analyze sql --dialect spark` renders, written as one Parquet table
(one row per run and view). The example for a cluster: the same script runs in local mode on one
machine and through `spark-submit` on a cluster (see the README, "The metrics on Apache Spark").

Usage:
  spark_metrics.py DATASET OUT [--view V]... [--baseline-view V]
                   [--baseline-mode M | --baseline-scenario S] [-k K] [--frame F]
                   [--tracer-analyze PATH | --sql FILE] [--master URL]

  DATASET  a dataset folder (its syscalls/*.parquet are read), or a Parquet file or glob of
           syscalls files; any URI Spark reads (hdfs://, s3a://, file://) works
  OUT      the per-run table, a Parquet folder Spark writes (replaced if it exists)
  --view   scored views (repeatable; default: thread, process and interleaved)
  --sql    a query rendered beforehand (for a driver without tracer-analyze), run as it is
           for the one --view given (default thread); its other options are then ignored

The columns: view, run_id, scenario, mode, windows, known_windows, distinct_windows,
unknown_distinct_windows, coverage, mismatch, locality_frame_count. Fails (exit 1) with a message
when pyspark or a Java runtime is missing, so a test cannot pass without Spark.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

VIEWS = ["thread", "process", "interleaved"]


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset")
    p.add_argument("out")
    p.add_argument("--view", action="append", choices=VIEWS)
    p.add_argument("--baseline-view", default="thread", choices=VIEWS)
    group = p.add_mutually_exclusive_group()
    group.add_argument("--baseline-mode", default=None)
    group.add_argument("--baseline-scenario", default=None)
    p.add_argument("-k", type=int, default=None)
    p.add_argument("--frame", type=int, default=None)
    p.add_argument("--tracer-analyze", default=None, help="the tracer-analyze binary")
    p.add_argument("--sql", default=None, help="a rendered Spark SQL file to run instead")
    p.add_argument(
        "--master",
        default=None,
        help="Spark master (default: what spark-submit set, else local[*])",
    )
    return p.parse_args(argv)


def syscalls_glob(dataset):
    """The syscalls files of DATASET: a folder's syscalls/*.parquet, else DATASET itself."""
    if dataset.endswith(".parquet") or any(c in dataset for c in "*?["):
        return dataset
    return dataset.rstrip("/") + "/syscalls/*.parquet"


def render(args, view):
    """The Spark SQL of `view`, rendered by tracer-analyze."""
    binary = args.tracer_analyze or shutil.which("tracer-analyze")
    if binary is None:
        sys.exit("tracer-analyze is not on PATH: pass --tracer-analyze PATH or --sql FILE")
    cmd = [binary, "sql", "--dialect", "spark", syscalls_glob(args.dataset), "--view", view]
    cmd += ["--baseline-view", args.baseline_view]
    if args.baseline_scenario is not None:
        cmd += ["--baseline-scenario", args.baseline_scenario]
    elif args.baseline_mode is not None:
        cmd += ["--baseline-mode", args.baseline_mode]
    if args.k is not None:
        cmd += ["-k", str(args.k)]
    if args.frame is not None:
        cmd += ["--frame", str(args.frame)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return done.stdout


def statements(sql):
    """The statements of a rendered file: each ends with `;` at the end of a line (the
    rendered queries hold no other `;`)."""
    parts = re.split(r";[ \t]*$", sql, flags=re.MULTILINE)
    code = lambda s: any(l.strip() and not l.strip().startswith("--") for l in s.splitlines())
    return [s.strip() for s in parts if code(s)]


def session(master=None, app_name="syscall-tracer metrics"):
    """A Spark session; in local mode sized for one small machine."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        sys.exit("pyspark is not installed (pip install pyspark; cargo xtask setup does it)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        sys.exit(
            "Spark needs a Java runtime: apt-get install openjdk-17-jre-headless "
            "(cargo xtask setup does it)"
        )
    # Without --master, spark-submit's (a cluster's) master holds; plain `python3` gets local[*].
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):
            builder = builder.config("spark.ui.enabled", "false")
    # The rendered SQL sets this too; here it also covers queries run without the preamble.
    builder = builder.config("spark.sql.legacy.parquet.nanosAsLong", "true")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    if spark.sparkContext.master.startswith("local"):
        # One machine: 200 shuffle partitions of a few rows each cost more than the query.
        spark.conf.set("spark.sql.shuffle.partitions", "4")
    return spark


def stop(spark):
    """Stops the session and, when this process launched the JVM (local mode, not
    spark-submit), waits for the JVM to exit: it exits when its stdin closes, and reaping it
    makes its CPU time and memory count in this process's (what `cargo xtask bench sql` sees)."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    spark.stop()
    proc = getattr(gateway, "proc", None)
    if proc is not None:
        gateway.shutdown()
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=60)


def run_sql(spark, sql):
    """Runs every statement of `sql`; returns the DataFrame of the last one."""
    df = None
    for statement in statements(sql):
        df = spark.sql(statement)
    if df is None:
        sys.exit("the SQL holds no statement")
    return df


def main(argv=None, spark=None):
    """Runs the metrics of DATASET in every view and writes OUT. Uses `spark` if given (one
    session for many calls); returns the number of rows written."""
    args = parse_args(argv)
    from pyspark.sql import functions as F

    own = spark is None
    if own:
        spark = session(args.master)
    try:
        if args.sql is not None:
            views = args.view or ["thread"]
            if len(views) != 1:
                sys.exit("--sql runs one query: give at most one --view to label it")
            with open(args.sql) as f:
                queries = [(views[0], f.read())]
        else:
            queries = [(v, render(args, v)) for v in (args.view or VIEWS)]
        started = time.perf_counter()
        table = None
        for view, sql in queries:
            df = run_sql(spark, sql)
            df = df.select(F.lit(view).alias("view"), *df.columns)
            table = df if table is None else table.unionByName(df)
        table = table.orderBy("view", "run_id").cache()
        rows = table.count()
        # One file per view and a few hundred runs at most per partition: the table is small.
        table.coalesce(1).write.mode("overwrite").parquet(args.out)
        query_s = time.perf_counter() - started
        # query_s: the queries and the write, session start-up excluded (`cargo xtask bench sql`).
        print(
            f"spark_metrics: {rows} rows ({len(queries)} views) -> {args.out} query_s={query_s:.3f}",
            file=sys.stderr,
        )
        return rows
    finally:
        if own:
            stop(spark)


if __name__ == "__main__":
    main()
