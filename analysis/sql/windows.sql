-- Windows of k consecutive syscalls of one sequence over the `syscalls` Parquet files
-- unchanged, in the SQL that DuckDB and Spark SQL share (`tracer-analyze sql --dialect
-- duckdb|spark` fills in how the files are read and the list aggregate's name). A sequence is a
-- run's calls per view key (tid: thread view, pid: process view, the constant 0: interleaved
-- view) in `seq` order. A window ends at each call with at least k-1 predecessors in its
-- sequence, so windows never cross a sequence or run boundary. The placeholders in double
-- braces are filled by `tracer-analyze sql` (analysis::sql::render).
WITH calls AS (
    SELECT CAST(run_id AS STRING) AS run_id, CAST(scenario AS STRING) AS scenario,
           CAST(mode AS STRING) AS mode, seq, pid, tid, CAST(syscall AS STRING) AS syscall
    FROM {{source}}
),
framed AS (
    SELECT run_id, scenario, mode, seq,
           {{list}}(syscall) OVER w AS win,
           count(*) OVER w AS n_calls
    FROM calls
    WINDOW w AS (PARTITION BY run_id, {{view_key}} ORDER BY seq
                 ROWS BETWEEN {{k_minus_1}} PRECEDING AND CURRENT ROW)
)
SELECT run_id, scenario, mode, seq, win
FROM framed
WHERE n_calls = {{k}}
ORDER BY run_id, seq
