-- Windows of k consecutive syscalls of one sequence, for DuckDB, over the `syscalls` Parquet
-- files unchanged. A sequence is a run's calls per view key (tid: thread view, pid: process
-- view, the constant 0: interleaved view) in `seq` order; a window ends at each call with at
-- least k-1 predecessors in its sequence, so windows never cross a sequence or run boundary.
-- The placeholders in double braces are filled by `tracer-analyze sql` (analysis::sql::render).
WITH calls AS (
    SELECT run_id::VARCHAR AS run_id, scenario::VARCHAR AS scenario, mode::VARCHAR AS mode,
           seq, pid, tid, syscall::VARCHAR AS syscall
    FROM read_parquet({{files}})
),
framed AS (
    SELECT run_id, scenario, mode, seq,
           list(syscall) OVER w AS win,
           count(*) OVER w AS len
    FROM calls
    WINDOW w AS (PARTITION BY run_id, {{view_key}} ORDER BY seq
                 ROWS BETWEEN {{k_minus_1}} PRECEDING AND CURRENT ROW)
)
SELECT run_id, scenario, mode, seq, win
FROM framed
WHERE len = {{k}}
ORDER BY run_id, seq;
