//! Labels of the `mode` column: `ms` (commands one at a time), `mr` (all released at once on
//! every CPU), and the points of an M.R sweep, `mr-<spacing>ms` (released one every `spacing`
//! milliseconds) and `mr-<spacing>ms-cpu<n>` (and pinned to the first `n` CPUs). Each sweep point
//! is a mode of its own, so every table and test separates it; `Release::parse` recovers the
//! point from the label for the sweep curves.

/// Multiple Sequential.
pub const MS: &str = "ms";
/// Multiple Rapid, all at once.
pub const MR: &str = "mr";

/// How the commands of an M.R run were released.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Release {
    /// Milliseconds between two commands' releases (0: all at once).
    pub spacing_ms: u64,
    /// Pinned to the first this many CPUs (`None`: all of them).
    pub cpus: Option<u32>,
}

impl Release {
    /// The mode label of this point (`mr` for all at once on every CPU).
    pub fn label(self) -> String {
        match (self.spacing_ms, self.cpus) {
            (0, None) => MR.to_string(),
            (s, None) => format!("{MR}-{s}ms"),
            (s, Some(c)) => format!("{MR}-{s}ms-cpu{c}"),
        }
    }

    /// The point a mode label names; `None` for `ms` and other labels.
    pub fn parse(label: &str) -> Option<Self> {
        if label == MR {
            return Some(Self::default());
        }
        let rest = label.strip_prefix("mr-")?;
        let (spacing, cpus) = match rest.split_once("ms-cpu") {
            Some((s, c)) => (s, Some(c.parse().ok()?)),
            None => (rest.strip_suffix("ms")?, None),
        };
        Some(Self {
            spacing_ms: spacing.parse().ok()?,
            cpus,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for r in [
            Release::default(),
            Release {
                spacing_ms: 5,
                cpus: None,
            },
            Release {
                spacing_ms: 0,
                cpus: Some(1),
            },
            Release {
                spacing_ms: 100,
                cpus: Some(2),
            },
        ] {
            assert_eq!(Release::parse(&r.label()), Some(r), "{}", r.label());
        }
        assert_eq!(Release::parse("mr-5ms").map(|r| r.spacing_ms), Some(5));
        assert_eq!(Release::parse(MS), None);
        assert_eq!(Release::parse("mr-xms"), None);
    }
}
