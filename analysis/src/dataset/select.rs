//! Run selection: which runs of a dataset an operation uses, by run id, source, scenario or mode.
//!
//! A filter expression is a conjunction of clauses separated by `,` or ` and `; each clause is
//! `field=value` or `field!=value`, `field` one of `run_id`, `source`, `scenario`, `mode`, and
//! `value` a `|`-separated list of alternatives in which `*` matches any text. A missing (null)
//! scenario or mode compares as the empty string. Example: `scenario=recon|priv*, mode!=mr`.

use crate::error::AnalysisError;

/// What is constant for one run: identity and labels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct RunMeta {
    /// The run's id.
    pub run_id: String,
    /// `ebpf`, `strace`, or an imported dataset's name.
    pub source: String,
    /// Experiment scenario, if any.
    pub scenario: Option<String>,
    /// Experiment mode, if any.
    pub mode: Option<String>,
}

/// A run-level field a clause tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `run_id`.
    RunId,
    /// `source`.
    Source,
    /// `scenario`.
    Scenario,
    /// `mode`.
    Mode,
}

impl Field {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "run_id" | "run" => Some(Self::RunId),
            "source" => Some(Self::Source),
            "scenario" => Some(Self::Scenario),
            "mode" => Some(Self::Mode),
            _ => None,
        }
    }

    fn value(self, run: &RunMeta) -> &str {
        match self {
            Self::RunId => &run.run_id,
            Self::Source => &run.source,
            Self::Scenario => run.scenario.as_deref().unwrap_or(""),
            Self::Mode => run.mode.as_deref().unwrap_or(""),
        }
    }
}

/// One `field=value|value` or `field!=value` test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clause {
    /// The field tested.
    pub field: Field,
    /// Alternatives; `*` is a wildcard.
    pub values: Vec<String>,
    /// `!=` rather than `=`.
    pub negated: bool,
}

/// Matches `text` against `pattern` where `*` matches any (possibly empty) text.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(at) => rest = &rest[at + mid.len()..],
            None => return false,
        }
    }
    true
}

impl Clause {
    fn matches(&self, run: &RunMeta) -> bool {
        let v = self.field.value(run);
        self.values.iter().any(|p| wildcard_match(p, v)) != self.negated
    }
}

/// A conjunction of clauses; the empty selection matches every run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// All must hold.
    pub clauses: Vec<Clause>,
}

impl Selection {
    /// Every run.
    pub fn all() -> Self {
        Self::default()
    }

    /// Parses a filter expression (see the module docs).
    pub fn parse(expr: &str) -> Result<Self, AnalysisError> {
        let mut clauses = Vec::new();
        for raw in expr.split(',').flat_map(|c| c.split(" and ")) {
            let clause = raw.trim();
            if clause.is_empty() {
                continue;
            }
            let bad = |message: String| AnalysisError::Config {
                option: "filter expression",
                message,
            };
            let (name, value, negated) = if let Some((n, v)) = clause.split_once("!=") {
                (n, v, true)
            } else if let Some((n, v)) = clause.split_once('=') {
                (n, v, false)
            } else {
                return Err(bad(format!(
                    "`{clause}` is not field=value or field!=value"
                )));
            };
            let field = Field::parse(name.trim()).ok_or_else(|| {
                bad(format!(
                    "unknown field `{}` in `{clause}` (known: run_id, source, scenario, mode)",
                    name.trim()
                ))
            })?;
            clauses.push(Clause {
                field,
                values: value.split('|').map(|v| v.trim().to_string()).collect(),
                negated,
            });
        }
        Ok(Self { clauses })
    }

    /// Adds a clause `field = any of values` (no-op when `values` is empty).
    pub fn with(mut self, field: Field, values: &[String]) -> Self {
        if !values.is_empty() {
            self.clauses.push(Clause {
                field,
                values: values.to_vec(),
                negated: false,
            });
        }
        self
    }

    /// Both selections at once.
    pub fn and(mut self, other: &Selection) -> Self {
        self.clauses.extend(other.clauses.iter().cloned());
        self
    }

    /// Whether `run` is selected.
    pub fn matches(&self, run: &RunMeta) -> bool {
        self.clauses.iter().all(|c| c.matches(run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, scenario: Option<&str>, mode: &str) -> RunMeta {
        RunMeta {
            run_id: id.into(),
            source: "ebpf".into(),
            scenario: scenario.map(Into::into),
            mode: Some(mode.into()),
        }
    }

    #[test]
    fn clauses_combine_with_and() {
        let s = Selection::parse("scenario=recon|priv*, mode!=mr").unwrap();
        assert!(s.matches(&run("a", Some("recon"), "ms")));
        assert!(s.matches(&run("a", Some("privilege"), "ms")));
        assert!(!s.matches(&run("a", Some("recon"), "mr")));
        assert!(!s.matches(&run("a", Some("baseline"), "ms")));
        assert!(!s.matches(&run("a", None, "ms")));
        let s = Selection::parse("scenario= and run_id=*-1").unwrap();
        assert!(s.matches(&run("x-1", None, "ms")));
        assert!(!s.matches(&run("x-2", None, "ms")));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*c", "abbc"));
        assert!(!wildcard_match("a*c", "abcd"));
        assert!(wildcard_match("*b*", "abc"));
        assert!(!wildcard_match("ab*ba", "aba"));
    }

    #[test]
    fn bad_expressions_name_the_clause() {
        let e = Selection::parse("colour=red").unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
        let e = Selection::parse("scenario").unwrap_err().to_string();
        assert!(e.contains("scenario"), "{e}");
    }
}
