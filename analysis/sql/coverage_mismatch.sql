-- Per-run coverage, mismatch and locality frame count, for DuckDB, over the `syscalls` Parquet
-- files unchanged (point the file glob at the syscalls files only: processes files have
-- another schema). Same definitions as the Rust code (analysis::metrics) with
-- `compare --train-share 1`: each run is scored against the baseline of its scenario, i.e. the
-- distinct windows of all runs of the baseline mode of that scenario, taken in the baseline
-- view; the run's own windows are taken in the scored view (sequence key tid: thread view,
-- pid: process view, the constant 0: interleaved view).
--   coverage = known windows / windows
--   mismatch = distinct unknown windows / distinct windows
--   locality frame count = most unknown windows among `frame` consecutive windows, windows
--                          ordered by the seq of their last call
-- This is the path for datasets that outgrow one machine: the same query runs on a
-- distributed SQL engine with window functions. The placeholders in double braces are filled
-- by `tracer-analyze sql` (analysis::sql::render).
WITH calls AS (
    SELECT run_id::VARCHAR AS run_id, scenario::VARCHAR AS scenario, mode::VARCHAR AS mode,
           seq, pid, tid, syscall::VARCHAR AS syscall
    FROM read_parquet({{files}})
),
baseline_framed AS (
    SELECT scenario, mode,
           list(syscall) OVER w AS win,
           count(*) OVER w AS len
    FROM calls
    WINDOW w AS (PARTITION BY run_id, {{baseline_key}} ORDER BY seq
                 ROWS BETWEEN {{k_minus_1}} PRECEDING AND CURRENT ROW)
),
baseline AS (
    SELECT DISTINCT scenario, win
    FROM baseline_framed
    WHERE len = {{k}} AND mode = '{{baseline_mode}}'
),
trace_framed AS (
    SELECT run_id, scenario, mode, seq,
           list(syscall) OVER w AS win,
           count(*) OVER w AS len
    FROM calls
    WINDOW w AS (PARTITION BY run_id, {{view_key}} ORDER BY seq
                 ROWS BETWEEN {{k_minus_1}} PRECEDING AND CURRENT ROW)
),
scored AS (
    SELECT t.run_id, t.scenario, t.mode, t.seq, t.win, b.win IS NOT NULL AS known
    FROM trace_framed t
    LEFT JOIN baseline b
        ON b.scenario IS NOT DISTINCT FROM t.scenario AND b.win = t.win
    WHERE t.len = {{k}}
),
frames AS (
    SELECT *,
           sum(CASE WHEN known THEN 0 ELSE 1 END) OVER (
               PARTITION BY run_id ORDER BY seq
               ROWS BETWEEN {{frame_minus_1}} PRECEDING AND CURRENT ROW) AS unknown_in_frame
    FROM scored
)
SELECT run_id,
       any_value(scenario) AS scenario,
       any_value(mode) AS mode,
       count(*) AS windows,
       count(*) FILTER (WHERE known) AS known_windows,
       count(DISTINCT win) AS distinct_windows,
       count(DISTINCT win) FILTER (WHERE NOT known) AS unknown_distinct_windows,
       (count(*) FILTER (WHERE known))::DOUBLE / count(*) AS coverage,
       (count(DISTINCT win) FILTER (WHERE NOT known))::DOUBLE / count(DISTINCT win) AS mismatch,
       max(unknown_in_frame) AS locality_frame_count
FROM frames
GROUP BY run_id
ORDER BY run_id;
