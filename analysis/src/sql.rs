//! The metrics as SQL (window functions over `seq` per view, on the Parquet files unchanged),
//! shipped in the crate from `sql/*.sql`, and their rendering with concrete parameters in one
//! of two dialects: DuckDB (one machine) and Spark SQL (a cluster; `spark-sql -f` or
//! `spark.sql`, see `python/spark_metrics.py`). One template per query serves both dialects, so
//! the definitions cannot drift apart: the dialects differ only in how the files are read
//! (`read_parquet('...')` or ``parquet.`...` ``), the list aggregate's name (`list` or
//! `collect_list`) and, for Spark, one session setting ahead of the query. The baseline is
//! every run of the baseline mode per scenario (the comparison's `Holdout::Resubstitution`) or
//! every run of one scenario (`profile --where scenario=S`, then `score`). The
//! `duckdb_agreement` test (analysis) and the `spark_agreement` test (tests crate) check that
//! the engines and the Rust code agree.

use std::{fmt, str::FromStr};

use crate::{error::AnalysisError, metrics::MAX_FRAME, view::View, view::check_k};

/// `sql/windows.sql`: the windows of every run in one view.
pub const WINDOWS_SQL: &str = include_str!("../sql/windows.sql");
/// `sql/coverage_mismatch.sql`: per-run coverage, mismatch and locality frame count.
pub const COVERAGE_MISMATCH_SQL: &str = include_str!("../sql/coverage_mismatch.sql");

/// The Spark session setting the rendered Spark SQL starts with: Spark refuses Parquet's
/// nanosecond timestamps (`ts_ns`) unless it reads them as plain integers, and it converts a
/// file's whole schema, not only the columns a query reads.
pub const SPARK_PREAMBLE: &str = "SET spark.sql.legacy.parquet.nanosAsLong = true;\n";

/// Which query to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// `windows.sql`.
    Windows,
    /// `coverage_mismatch.sql`.
    CoverageMismatch,
}

/// The SQL engine a rendering is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// DuckDB: `read_parquet('glob')`, `list(...) OVER w`.
    #[default]
    DuckDb,
    /// Spark SQL: ``parquet.`glob` ``, `collect_list(...) OVER w`, after [`SPARK_PREAMBLE`].
    Spark,
}

impl Dialect {
    /// Both dialects.
    pub const ALL: [Dialect; 2] = [Dialect::DuckDb, Dialect::Spark];
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::DuckDb => "duckdb",
            Dialect::Spark => "spark",
        })
    }
}

impl FromStr for Dialect {
    type Err = AnalysisError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "duckdb" => Ok(Dialect::DuckDb),
            "spark" | "spark-sql" => Ok(Dialect::Spark),
            _ => Err(AnalysisError::Config {
                option: "dialect",
                message: format!("`{s}` is not one of duckdb, spark"),
            }),
        }
    }
}

/// Which runs build the baseline a run is scored against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlBaseline {
    /// Per scenario, its runs of this mode (`ms`), as `compare --holdout resubstitution`.
    Mode(String),
    /// One baseline for every run: the runs of this scenario (an imported dataset's
    /// `training` or `normal`), as `profile --where scenario=S` then `score`.
    Scenario(String),
}

impl Default for SqlBaseline {
    fn default() -> Self {
        SqlBaseline::Mode("ms".into())
    }
}

/// Parameters of the queries.
#[derive(Clone, Debug)]
pub struct SqlParams {
    /// Parquet files: one path or glob (quoted for you), of the syscalls table only.
    pub files: String,
    /// The engine.
    pub dialect: Dialect,
    /// View of the scored windows.
    pub view: View,
    /// View of the baseline windows.
    pub baseline_view: View,
    /// Which runs build the baseline.
    pub baseline: SqlBaseline,
    /// Window length.
    pub k: usize,
    /// Locality frame.
    pub frame: usize,
}

/// The SQL expression a view partitions sequences by.
pub fn view_key(view: View) -> &'static str {
    match view {
        View::Thread => "tid",
        View::Process => "pid",
        View::Interleaved => "0",
    }
}

/// How `dialect` reads the Parquet files `files` (a path or glob).
fn source(dialect: Dialect, files: &str) -> String {
    match dialect {
        Dialect::DuckDb => format!("read_parquet('{}')", files.replace('\'', "''")),
        // A back-quoted identifier: a back quote inside is doubled; nothing else is special.
        Dialect::Spark => format!("parquet.`{}`", files.replace('`', "``")),
    }
}

/// Checks that a mode or scenario name can stand in a string literal of either dialect
/// unescaped (DuckDB doubles quotes, Spark escapes with backslashes; a plain name needs neither).
fn plain_name(option: &'static str, name: &str) -> Result<(), AnalysisError> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
    {
        Ok(())
    } else {
        Err(AnalysisError::Config {
            option,
            message: format!("`{name}` is not a plain name (letters, digits, _ - : .)"),
        })
    }
}

/// `query` with every placeholder filled from `p`, ending with `;` (and, for Spark, after
/// [`SPARK_PREAMBLE`]), so `duckdb < q.sql` and `spark-sql -f q.sql` run it as it is.
pub fn render(query: Query, p: &SqlParams) -> Result<String, AnalysisError> {
    check_k(p.k)?;
    if !(1..=MAX_FRAME).contains(&p.frame) {
        return Err(AnalysisError::Config {
            option: "frame (locality frame length)",
            message: format!("{} is outside 1..={MAX_FRAME}", p.frame),
        });
    }
    // The group a run's baseline is chosen by, and which rows build it.
    let (group, filter) = match &p.baseline {
        SqlBaseline::Mode(mode) => {
            plain_name("baseline mode", mode)?;
            ("scenario".to_string(), format!("mode = '{mode}'"))
        }
        SqlBaseline::Scenario(scenario) => {
            plain_name("baseline scenario", scenario)?;
            ("'all'".to_string(), format!("scenario = '{scenario}'"))
        }
    };
    let template = match query {
        Query::Windows => WINDOWS_SQL,
        Query::CoverageMismatch => COVERAGE_MISMATCH_SQL,
    };
    let list = match p.dialect {
        Dialect::DuckDb => "list",
        Dialect::Spark => "collect_list",
    };
    let body = template
        .replace("{{source}}", &source(p.dialect, &p.files))
        .replace("{{list}}", list)
        .replace("{{view_key}}", view_key(p.view))
        .replace("{{baseline_key}}", view_key(p.baseline_view))
        .replace("{{baseline_group}}", &group)
        .replace("{{baseline_filter}}", &filter)
        .replace("{{k_minus_1}}", &(p.k - 1).to_string())
        .replace("{{k}}", &p.k.to_string())
        .replace("{{frame_minus_1}}", &(p.frame - 1).to_string())
        .replace("{{frame}}", &p.frame.to_string());
    let preamble = match p.dialect {
        Dialect::DuckDb => "",
        Dialect::Spark => SPARK_PREAMBLE,
    };
    Ok(format!("{preamble}{};\n", body.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(dialect: Dialect) -> SqlParams {
        SqlParams {
            files: "data/it's/*.parquet".into(),
            dialect,
            view: View::Interleaved,
            baseline_view: View::Process,
            baseline: SqlBaseline::default(),
            k: 6,
            frame: 20,
        }
    }

    #[test]
    fn every_placeholder_is_filled() {
        for dialect in Dialect::ALL {
            let p = params(dialect);
            for q in [Query::Windows, Query::CoverageMismatch] {
                let sql = render(q, &p).unwrap();
                assert!(!sql.contains("{{"), "{sql}");
                assert!(sql.contains("ROWS BETWEEN 5 PRECEDING"));
                assert!(sql.ends_with(";\n"));
                // One statement after the preamble: no `;` inside the query.
                assert_eq!(
                    sql.matches(';').count(),
                    1 + usize::from(dialect == Dialect::Spark)
                );
            }
            let sql = render(Query::CoverageMismatch, &p).unwrap();
            assert!(sql.contains("PARTITION BY run_id, pid ORDER BY seq"));
            assert!(sql.contains("PARTITION BY run_id, 0 ORDER BY seq"));
            assert!(sql.contains("ROWS BETWEEN 19 PRECEDING"));
            assert!(sql.contains("WHERE mode = 'ms'"));
        }
        let duck = render(Query::CoverageMismatch, &params(Dialect::DuckDb)).unwrap();
        assert!(duck.contains("read_parquet('data/it''s/*.parquet')"));
        assert!(duck.contains("list(syscall) OVER w"));
        assert!(!duck.contains("SET "));
        let spark = render(Query::CoverageMismatch, &params(Dialect::Spark)).unwrap();
        assert!(spark.starts_with(SPARK_PREAMBLE));
        assert!(spark.contains("FROM parquet.`data/it's/*.parquet`"));
        assert!(spark.contains("collect_list(syscall) OVER w"));
        let code: String = spark
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("collect_list(", "");
        for only_duckdb in ["read_parquet", "list(", "any_value", "FILTER", "::"] {
            assert!(!code.contains(only_duckdb), "{only_duckdb} in {code}");
        }
    }

    #[test]
    fn the_dialects_differ_only_in_reading_and_the_list_aggregate() {
        let duck = render(Query::CoverageMismatch, &params(Dialect::DuckDb)).unwrap();
        let spark = render(Query::CoverageMismatch, &params(Dialect::Spark)).unwrap();
        let normalised = spark
            .trim_start_matches(SPARK_PREAMBLE)
            .replace(
                "parquet.`data/it's/*.parquet`",
                "read_parquet('data/it''s/*.parquet')",
            )
            .replace("collect_list(", "list(");
        assert_eq!(normalised, duck);
        let mut p = params(Dialect::Spark);
        p.files = "s3a://bucket/we`ird/*.parquet".into();
        let sql = render(Query::Windows, &p).unwrap();
        assert!(
            sql.contains("parquet.`s3a://bucket/we``ird/*.parquet`"),
            "{sql}"
        );
    }

    #[test]
    fn baseline_by_scenario_is_one_group() {
        let p = SqlParams {
            baseline: SqlBaseline::Scenario("attack:hydra_ftp".into()),
            ..params(Dialect::Spark)
        };
        let sql = render(Query::CoverageMismatch, &p).unwrap();
        assert!(sql.contains("WHERE scenario = 'attack:hydra_ftp'"), "{sql}");
        assert!(sql.contains("SELECT DISTINCT 'all' AS grp"), "{sql}");
        assert!(!sql.contains("mode = "), "{sql}");
    }

    #[test]
    fn names_that_need_quoting_are_refused() {
        for bad in [
            SqlBaseline::Mode("x'; drop".into()),
            SqlBaseline::Mode(String::new()),
            SqlBaseline::Scenario("a\\' OR 1=1".into()),
        ] {
            let p = SqlParams {
                baseline: bad.clone(),
                ..params(Dialect::DuckDb)
            };
            assert!(
                render(Query::CoverageMismatch, &p).is_err(),
                "{bad:?} accepted"
            );
        }
        assert_eq!("spark".parse::<Dialect>().unwrap(), Dialect::Spark);
        assert!("postgres".parse::<Dialect>().is_err());
    }
}
