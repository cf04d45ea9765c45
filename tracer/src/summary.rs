//! The end-of-capture reports: the one-line summary and the `strace -c` style table.

use std::path::Path;

use crate::capture::RecordOutcome;

impl RecordOutcome {
    /// The one-line summary printed at the end of a capture.
    pub fn summary_line(&self, output: &Path) -> String {
        let secs = self.wall.as_secs_f64();
        format!(
            "tracer: {} events, {} lost, {} processes, {:.2} s, {:.0} events/s -> {}{}",
            self.rows,
            self.lost,
            self.processes,
            secs,
            self.rows as f64 / secs.max(1e-9),
            output.display(),
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        )
    }

    /// A `strace -c` style table.
    pub fn summary_table(&self) -> String {
        let mut rows = self.totals.clone();
        rows.sort_by(|a, b| {
            b.1.duration_ns
                .cmp(&a.1.duration_ns)
                .then(b.1.calls.cmp(&a.1.calls))
        });
        let total_ns: u64 = rows.iter().map(|r| r.1.duration_ns).sum();
        let total_calls: u64 = rows.iter().map(|r| r.1.calls).sum();
        let total_errors: u64 = rows.iter().map(|r| r.1.errors).sum();
        let mut out = String::new();
        if self.durations {
            out.push_str("% time     seconds  usecs/call     calls    errors syscall\n");
            out.push_str("------ ----------- ----------- --------- --------- ----------------\n");
            for (name, t) in &rows {
                let pct = if total_ns > 0 {
                    100.0 * t.duration_ns as f64 / total_ns as f64
                } else {
                    0.0
                };
                out.push_str(&format!(
                    "{:6.2} {:11.6} {:11} {:9} {:>9} {}\n",
                    pct,
                    t.duration_ns as f64 / 1e9,
                    t.duration_ns / 1000 / t.calls.max(1),
                    t.calls,
                    error_cell(t.errors),
                    name
                ));
            }
            out.push_str("------ ----------- ----------- --------- --------- ----------------\n");
            out.push_str(&format!(
                "100.00 {:11.6} {:11} {:9} {:>9} total\n",
                total_ns as f64 / 1e9,
                total_ns / 1000 / total_calls.max(1),
                total_calls,
                total_errors
            ));
        } else {
            out.push_str("    calls    errors syscall   (add -T for times)\n");
            out.push_str("--------- --------- ----------------\n");
            for (name, t) in &rows {
                out.push_str(&format!(
                    "{:9} {:>9} {}\n",
                    t.calls,
                    error_cell(t.errors),
                    name
                ));
            }
            out.push_str("--------- --------- ----------------\n");
            out.push_str(&format!("{total_calls:9} {total_errors:>9} total\n"));
        }
        out
    }
}

/// strace -c leaves the errors column empty for calls that never failed.
fn error_cell(errors: u64) -> String {
    if errors > 0 {
        errors.to_string()
    } else {
        String::new()
    }
}
