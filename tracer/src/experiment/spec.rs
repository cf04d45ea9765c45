//! The experiment specification: a TOML file of scenarios (or the built-in set), parsed
//! strictly: an unknown key or a malformed value is an error naming its line.

use std::{path::Path, time::Duration};

use serde::{Deserialize, Serialize};

/// The built-in scenario set.
pub const DEFAULT_SPEC: &str = include_str!("default.toml");

/// Errors reading a specification.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read scenario file {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax or schema error; the message names line and column.
    #[error("{origin}:{line}: {message}")]
    Parse {
        /// The file (or `built-in`).
        origin: String,
        /// 1-based line of the error.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A semantic error.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// Execution modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Multiple Sequential: one after another, each alone.
    #[serde(rename = "ms")]
    Ms,
    /// Multiple Rapid: all submitted at once.
    #[serde(rename = "mr")]
    Mr,
}

impl Mode {
    /// `ms` or `mr`, as in the dataset.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Ms => "ms",
            Mode::Mr => "mr",
        }
    }
}

/// What captures a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Hash, PartialOrd, Ord)]
pub enum CaptureTool {
    /// This tracer's eBPF programs.
    #[serde(rename = "ebpf")]
    Ebpf,
    /// `strace -ff` (ptrace), ingested into the same dataset with `source = strace`.
    #[serde(rename = "strace")]
    Strace,
}

/// One command of a scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CommandSpec {
    /// Program and arguments.
    Argv(Vec<String>),
    /// A shell line, run by `sh -c`.
    Shell(String),
    /// Either form with its own timeout.
    Detailed(DetailedCommand),
}

/// A command with options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailedCommand {
    /// Program and arguments.
    pub argv: Option<Vec<String>>,
    /// Or a shell line.
    pub sh: Option<String>,
    /// Timeout in seconds.
    pub timeout_s: Option<f64>,
}

impl CommandSpec {
    /// The argv to execute.
    pub fn argv(&self) -> Vec<String> {
        match self {
            CommandSpec::Argv(a) => a.clone(),
            CommandSpec::Shell(s) => vec!["sh".into(), "-c".into(), s.clone()],
            CommandSpec::Detailed(d) => match (&d.argv, &d.sh) {
                (Some(a), _) => a.clone(),
                (None, Some(s)) => vec!["sh".into(), "-c".into(), s.clone()],
                (None, None) => Vec::new(),
            },
        }
    }

    /// The program whose presence decides whether the command can run (the shell line's
    /// first word for `sh -c` lines).
    pub fn program(&self) -> Option<String> {
        let line = match self {
            CommandSpec::Shell(s) => Some(s.as_str()),
            CommandSpec::Detailed(DetailedCommand {
                argv: None,
                sh: Some(s),
                ..
            }) => Some(s.as_str()),
            _ => None,
        };
        match line {
            Some(l) => l.split_whitespace().next().map(str::to_string),
            None => self.argv().first().cloned(),
        }
    }

    /// Its own timeout.
    pub fn timeout(&self) -> Option<Duration> {
        match self {
            CommandSpec::Detailed(d) => d.timeout_s.map(Duration::from_secs_f64),
            _ => None,
        }
    }

    /// A printable form.
    pub fn display(&self) -> String {
        match self {
            CommandSpec::Shell(s) => s.clone(),
            other => other.argv().join(" "),
        }
    }
}

/// One scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name (the dataset's `scenario`).
    pub name: String,
    /// What it represents.
    pub description: Option<String>,
    /// Its commands.
    pub commands: Vec<CommandSpec>,
    /// Repetitions per mode (overrides the file's).
    pub reps: Option<u32>,
    /// Modes to run (overrides the file's).
    pub modes: Option<Vec<Mode>>,
    /// Pause between M.S commands, ms.
    pub pause_ms: Option<u64>,
    /// Per-command timeout, s (overrides the file's).
    pub timeout_s: Option<f64>,
}

/// M.R variations to run beside the plain modes (`[sweep]`): commands released in quick
/// succession and on fewer CPUs. Each point is a mode of its own (`mr-<spacing>ms`,
/// `mr-<spacing>ms-cpu<n>`: `tracer_dataset::mode::Release`), run `reps` times per scenario.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// Milliseconds between two commands' releases; each value > 0 is a point (0 is plain `mr`).
    #[serde(default)]
    pub spacing_ms: Vec<u64>,
    /// CPU counts to pin M.R runs to (the first N CPUs), each at spacing 0 and at every spacing.
    #[serde(default)]
    pub cpus: Vec<u32>,
    /// Repetitions per point and scenario (default: the file's `reps`).
    pub reps: Option<u32>,
}

impl Sweep {
    /// The points, in order: spacings on all CPUs, then each CPU count at spacing 0 and each
    /// spacing. Plain `mr` (0 ms, all CPUs) is not a sweep point.
    pub fn points(&self) -> Vec<tracer_dataset::mode::Release> {
        use tracer_dataset::mode::Release;
        let mut spacings: Vec<u64> = self.spacing_ms.clone();
        spacings.sort_unstable();
        spacings.dedup();
        let mut out: Vec<Release> = spacings
            .iter()
            .filter(|s| **s > 0)
            .map(|&spacing_ms| Release {
                spacing_ms,
                cpus: None,
            })
            .collect();
        for &c in &self.cpus {
            out.push(Release {
                spacing_ms: 0,
                cpus: Some(c),
            });
            out.extend(
                spacings
                    .iter()
                    .filter(|s| **s > 0)
                    .map(|&spacing_ms| Release {
                        spacing_ms,
                        cpus: Some(c),
                    }),
            );
        }
        out
    }
}

/// A whole specification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Repetitions per mode.
    #[serde(default = "default_reps")]
    pub reps: u32,
    /// Modes to run.
    #[serde(default = "default_modes")]
    pub modes: Vec<Mode>,
    /// Pause between M.S commands, ms.
    #[serde(default)]
    pub pause_ms: u64,
    /// Per-command timeout, s.
    pub timeout_s: Option<f64>,
    /// M.R sweep points to run beside the modes.
    #[serde(default)]
    pub sweep: Option<Sweep>,
    /// Tools that capture every run (`["ebpf", "strace"]` runs each twice, one right after the
    /// other, to measure the observer effect of ptrace).
    #[serde(default = "default_tools")]
    pub capture_tools: Vec<CaptureTool>,
    /// The scenarios.
    #[serde(rename = "scenario")]
    pub scenarios: Vec<Scenario>,
}

fn default_reps() -> u32 {
    5
}

fn default_tools() -> Vec<CaptureTool> {
    vec![CaptureTool::Ebpf]
}

fn default_modes() -> Vec<Mode> {
    vec![Mode::Ms, Mode::Mr]
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Spec {
    /// Parses `text` (from `origin`, for messages).
    pub fn parse(text: &str, origin: &str) -> Result<Self, SpecError> {
        let spec: Spec = toml::from_str(text).map_err(|e| SpecError::Parse {
            origin: origin.to_string(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
            message: e.message().to_string(),
        })?;
        let invalid = |message: String| SpecError::Invalid {
            origin: origin.to_string(),
            message,
        };
        if spec.scenarios.is_empty() {
            return Err(invalid("no [[scenario]]".into()));
        }
        let mut names = std::collections::HashSet::new();
        for s in &spec.scenarios {
            if s.name.is_empty() || s.name.contains(['/', ' ']) {
                return Err(invalid(format!(
                    "scenario name {:?} must be a non-empty word",
                    s.name
                )));
            }
            if !names.insert(&s.name) {
                return Err(invalid(format!("scenario {} appears twice", s.name)));
            }
            if s.commands.is_empty() {
                return Err(invalid(format!("scenario {} has no commands", s.name)));
            }
            if s.commands.iter().any(|c| c.argv().is_empty()) {
                return Err(invalid(format!("scenario {} has an empty command", s.name)));
            }
        }
        if spec.capture_tools.is_empty() {
            return Err(invalid("capture_tools is empty".into()));
        }
        if let Some(sw) = &spec.sweep {
            let online = std::thread::available_parallelism().map_or(1, |n| n.get());
            if let Some(c) = sw.cpus.iter().find(|c| **c == 0 || **c as usize > online) {
                return Err(invalid(format!(
                    "[sweep] cpus = {c}: must be between 1 and this machine's {online} CPUs"
                )));
            }
        }
        Ok(spec)
    }

    /// Reads a file.
    pub fn from_file(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The built-in set.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_SPEC, "built-in").expect("the built-in scenario set parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses() {
        let s = Spec::builtin();
        let names: Vec<&str> = s.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["privilege", "recon", "baseline"]);
        assert_eq!(s.reps, 5);
        assert_eq!(s.modes, [Mode::Ms, Mode::Mr]);
        let ls = &s.scenarios[1].commands[7];
        assert_eq!(ls.argv(), ["sh", "-c", "ls -la ~ /tmp"]);
        assert_eq!(ls.program().as_deref(), Some("ls"));
    }

    #[test]
    fn unknown_key_names_its_line() {
        let text =
            "reps = 2\n[[scenario]]\nname = \"a\"\ncommands = [[\"id\"]]\ncolour = \"red\"\n";
        let err = Spec::parse(text, "x.toml").expect_err("unknown key");
        let msg = err.to_string();
        assert!(msg.starts_with("x.toml:5:"), "{msg}");
        assert!(msg.contains("colour"), "{msg}");
    }

    #[test]
    fn malformed_toml_names_its_line() {
        let text = "reps = 2\n\n[[scenario]]\nname = \"a\ncommands = []\n";
        let msg = Spec::parse(text, "bad.toml")
            .expect_err("syntax")
            .to_string();
        assert!(msg.starts_with("bad.toml:4:"), "{msg}");
    }

    #[test]
    fn sweep_points_are_modes_of_their_own() {
        let text = "[sweep]\nspacing_ms = [20, 0, 5]\ncpus = [1]\n[[scenario]]\nname = \"a\"\ncommands = [[\"id\"]]\n";
        let s = Spec::parse(text, "t").expect("parses");
        let labels: Vec<String> = s
            .sweep
            .expect("sweep")
            .points()
            .iter()
            .map(|p| p.label())
            .collect();
        assert_eq!(
            labels,
            [
                "mr-5ms",
                "mr-20ms",
                "mr-0ms-cpu1",
                "mr-5ms-cpu1",
                "mr-20ms-cpu1"
            ]
        );
        let bad = "[sweep]\ncpus = [0]\n[[scenario]]\nname = \"a\"\ncommands = [[\"id\"]]\n";
        assert!(Spec::parse(bad, "t").is_err());
    }

    #[test]
    fn detailed_commands_and_modes() {
        let text = r#"
modes = ["mr"]
[[scenario]]
name = "t"
commands = [{ sh = "sleep 1", timeout_s = 0.5 }, ["true"]]
"#;
        let s = Spec::parse(text, "t").expect("parses");
        assert_eq!(s.modes, [Mode::Mr]);
        assert_eq!(
            s.scenarios[0].commands[0].timeout(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(s.scenarios[0].commands[0].argv(), ["sh", "-c", "sleep 1"]);
        assert!(Spec::parse("[[scenario]]\nname = \"x\"\ncommands = []\n", "e").is_err());
        assert!(
            Spec::parse(
                "modes = [\"zz\"]\n[[scenario]]\nname=\"x\"\ncommands=[[\"id\"]]\n",
                "e"
            )
            .is_err()
        );
    }
}
