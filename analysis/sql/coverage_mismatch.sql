-- Per-run coverage, mismatch and locality frame count over the `syscalls` Parquet files
-- unchanged (point the file glob at the syscalls files only: processes files have another
-- schema), in the SQL that DuckDB and Spark SQL share (standard window functions, CASE inside
-- aggregates, CAST). `tracer-analyze sql --dialect duckdb|spark` fills in the few words that
-- differ: how the files are read and the name of the list aggregate.
-- Same definitions as the Rust code (analysis::metrics). Each run is scored against the
-- baseline of its group: with a baseline mode (`compare --holdout resubstitution`) the group is
-- the run's scenario and the baseline is the distinct windows of that scenario's runs of the
-- baseline mode. With a baseline scenario (`profile --where scenario=S` then `score`) there is
-- one group and the baseline is the distinct windows of every run of scenario S. Baseline
-- windows are taken in the baseline view, the run's own windows in the scored view (sequence
-- key tid: thread view, pid: process view, the constant 0: interleaved view). A run whose group
-- has no baseline run is not scored, nor is a run with no window (as the Rust code leaves
-- their metrics empty).
--   coverage = known windows / windows
--   mismatch = distinct unknown windows / distinct windows
--   locality frame count = most unknown windows among `frame` consecutive windows, windows
--                          ordered by the seq of their last call
-- This is the path for datasets that outgrow one machine: the Spark dialect runs on a cluster
-- (analysis/python/spark_metrics.py). The placeholders in double braces are filled by
-- `tracer-analyze sql` (analysis::sql::render).
WITH calls AS (
    SELECT CAST(run_id AS STRING) AS run_id, CAST(scenario AS STRING) AS scenario,
           CAST(mode AS STRING) AS mode, seq, pid, tid, CAST(syscall AS STRING) AS syscall
    FROM {{source}}
),
baseline_groups AS (
    SELECT DISTINCT {{baseline_group}} AS grp
    FROM calls
    WHERE {{baseline_filter}}
),
baseline_framed AS (
    SELECT {{baseline_group}} AS grp,
           {{baseline_filter}} AS in_baseline,
           {{list}}(syscall) OVER w AS win,
           count(*) OVER w AS n_calls
    FROM calls
    WINDOW w AS (PARTITION BY run_id, {{baseline_key}} ORDER BY seq
                 ROWS BETWEEN {{k_minus_1}} PRECEDING AND CURRENT ROW)
),
baseline AS (
    SELECT DISTINCT grp, win
    FROM baseline_framed
    WHERE n_calls = {{k}} AND in_baseline
),
trace_framed AS (
    SELECT run_id, scenario, mode, seq,
           {{baseline_group}} AS grp,
           {{list}}(syscall) OVER w AS win,
           count(*) OVER w AS n_calls
    FROM calls
    WINDOW w AS (PARTITION BY run_id, {{view_key}} ORDER BY seq
                 ROWS BETWEEN {{k_minus_1}} PRECEDING AND CURRENT ROW)
),
scored AS (
    SELECT t.run_id, t.scenario, t.mode, t.seq, t.win, b.win IS NOT NULL AS known
    FROM trace_framed t
    JOIN baseline_groups g
        ON g.grp IS NOT DISTINCT FROM t.grp
    LEFT JOIN baseline b
        ON b.grp IS NOT DISTINCT FROM t.grp AND b.win = t.win
    WHERE t.n_calls = {{k}}
),
frames AS (
    SELECT run_id, scenario, mode, win, known,
           sum(CASE WHEN known THEN 0 ELSE 1 END) OVER (
               PARTITION BY run_id ORDER BY seq
               ROWS BETWEEN {{frame_minus_1}} PRECEDING AND CURRENT ROW) AS unknown_in_frame
    FROM scored
)
SELECT run_id,
       max(scenario) AS scenario,
       max(mode) AS mode,
       count(*) AS windows,
       sum(CASE WHEN known THEN 1 ELSE 0 END) AS known_windows,
       count(DISTINCT win) AS distinct_windows,
       count(DISTINCT CASE WHEN known THEN NULL ELSE win END) AS unknown_distinct_windows,
       CAST(sum(CASE WHEN known THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS coverage,
       CAST(count(DISTINCT CASE WHEN known THEN NULL ELSE win END) AS DOUBLE)
           / count(DISTINCT win) AS mismatch,
       max(unknown_in_frame) AS locality_frame_count
FROM frames
GROUP BY run_id
ORDER BY run_id
