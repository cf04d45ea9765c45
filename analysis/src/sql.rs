//! The metrics as DuckDB SQL (window functions over `seq` per view, on the Parquet files
//! unchanged), shipped in the crate from `sql/*.sql`, and their rendering with concrete
//! parameters. The baseline is every run of the baseline mode (the comparison's
//! `Holdout::Resubstitution`). The `duckdb_agreement` test checks that DuckDB and the Rust code
//! agree.

use crate::{error::AnalysisError, metrics::MAX_FRAME, view::View, view::check_k};

/// `sql/windows.sql`: the windows of every run in one view.
pub const WINDOWS_SQL: &str = include_str!("../sql/windows.sql");
/// `sql/coverage_mismatch.sql`: per-run coverage, mismatch and locality frame count.
pub const COVERAGE_MISMATCH_SQL: &str = include_str!("../sql/coverage_mismatch.sql");

/// Which query to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// `windows.sql`.
    Windows,
    /// `coverage_mismatch.sql`.
    CoverageMismatch,
}

/// Parameters of the queries.
#[derive(Clone, Debug)]
pub struct SqlParams {
    /// Parquet files: one path or glob (quoted for you), of the syscalls table only.
    pub files: String,
    /// View of the scored windows.
    pub view: View,
    /// View of the baseline windows.
    pub baseline_view: View,
    /// Mode of the baseline runs.
    pub baseline_mode: String,
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

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `query` with every placeholder filled from `p`.
pub fn render(query: Query, p: &SqlParams) -> Result<String, AnalysisError> {
    check_k(p.k)?;
    if !(1..=MAX_FRAME).contains(&p.frame) {
        return Err(AnalysisError::Config {
            option: "frame (locality frame length)",
            message: format!("{} is outside 1..={MAX_FRAME}", p.frame),
        });
    }
    if !p
        .baseline_mode
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AnalysisError::Config {
            option: "baseline mode",
            message: format!("`{}` is not a plain name", p.baseline_mode),
        });
    }
    let template = match query {
        Query::Windows => WINDOWS_SQL,
        Query::CoverageMismatch => COVERAGE_MISMATCH_SQL,
    };
    Ok(template
        .replace("{{files}}", &quote(&p.files))
        .replace("{{view_key}}", view_key(p.view))
        .replace("{{baseline_key}}", view_key(p.baseline_view))
        .replace("{{baseline_mode}}", &p.baseline_mode)
        .replace("{{k_minus_1}}", &(p.k - 1).to_string())
        .replace("{{k}}", &p.k.to_string())
        .replace("{{frame_minus_1}}", &(p.frame - 1).to_string())
        .replace("{{frame}}", &p.frame.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let p = SqlParams {
            files: "data/it's/*.parquet".into(),
            view: View::Interleaved,
            baseline_view: View::Process,
            baseline_mode: "ms".into(),
            k: 6,
            frame: 20,
        };
        for q in [Query::Windows, Query::CoverageMismatch] {
            let sql = render(q, &p).unwrap();
            assert!(!sql.contains("{{"), "{sql}");
            assert!(sql.contains("read_parquet('data/it''s/*.parquet')"));
            assert!(sql.contains("ROWS BETWEEN 5 PRECEDING"));
        }
        let sql = render(Query::CoverageMismatch, &p).unwrap();
        assert!(sql.contains("PARTITION BY run_id, pid ORDER BY seq"));
        assert!(sql.contains("PARTITION BY run_id, 0 ORDER BY seq"));
        assert!(sql.contains("ROWS BETWEEN 19 PRECEDING"));
        let bad = SqlParams {
            baseline_mode: "x'; drop".into(),
            ..p
        };
        assert!(render(Query::CoverageMismatch, &bad).is_err());
    }
}
