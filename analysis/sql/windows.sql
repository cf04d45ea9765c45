-- Windows of k consecutive syscalls of one sequence over the `syscalls` Parquet files
-- unchanged, in the SQL that DuckDB and Spark SQL share (`tracer-analyze sql --dialect
-- duckdb|spark` fills in how the files are read and the list aggregate's name). A sequence is a
-- run's calls per view key (tid: thread view, pid: process view, the constant 0: interleaved
-- view) in `seq` order. A window ends at each call with at least k-1 predecessors in its
-- sequence, so windows never cross a sequence or run boundary, nor a gap row of a capture
-- (tracer_dataset::gap, the same rule as analysis::view). A call without a name (a number no
-- table has) is the token '<null>', as the Rust reader reads it. The placeholders in double
-- braces are filled by `tracer-analyze sql` (analysis::sql::render).
WITH tagged AS (
    SELECT CAST(run_id AS STRING) AS run_id, CAST(scenario AS STRING) AS scenario,
           CAST(mode AS STRING) AS mode, seq, pid, tid,
           COALESCE(CAST(syscall AS STRING), '<null>') AS syscall,
           COALESCE(CAST(syscall AS STRING) = '<gap>', FALSE) AS is_gap
    FROM {{source}}
),
-- Gap rows (records lost there) are not calls: they cut sequences: a gap of several threads
-- (tid 0) every sequence of its run, any other the sequence it falls in
cut AS (
    SELECT *,
           sum(CASE WHEN is_gap AND tid = 0 THEN 1 ELSE 0 END)
               OVER (PARTITION BY run_id ORDER BY seq
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_cuts,
           sum(CASE WHEN is_gap AND tid <> 0 THEN 1 ELSE 0 END)
               OVER (PARTITION BY run_id, {{view_key}} ORDER BY seq
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               AS own_cuts
    FROM tagged
),
calls AS (
    SELECT * FROM cut WHERE NOT is_gap
),
framed AS (
    SELECT run_id, scenario, mode, seq,
           {{list}}(syscall) OVER w AS win,
           count(*) OVER w AS n_calls
    FROM calls
    WINDOW w AS (PARTITION BY run_id, {{view_key}}, run_cuts, own_cuts ORDER BY seq
                 ROWS BETWEEN {{k_minus_1}} PRECEDING AND CURRENT ROW)
)
SELECT run_id, scenario, mode, seq, win
FROM framed
WHERE n_calls = {{k}}
ORDER BY run_id, seq
