//! The report as a reader sees it: `index.html` of a comparison rendered in headless Chromium
//! (Debian's `chromium`, installed by `cargo xtask setup`), served over HTTP on the loopback
//! interface. A probe page on the same origin loads the report in a frame, waits for it, and
//! writes what the browser saw (every image's decoded size, every table's cells) into its own
//! DOM, which `--dump-dom` prints.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use analysis::{
    matrix::fmt_opt,
    report::{ReportConfig, write_report},
    synth::{ExperimentSpec, write_experiment},
};
use serde_json::Value;

const PROBE: &str = r#"<!doctype html><html><body><pre id="result">pending</pre>
<iframe id="f" src="index.html" style="width:1600px;height:1200px"></iframe>
<script>
document.getElementById('f').onload = function () {
  const d = this.contentDocument;
  const imgs = Array.from(d.images);
  Promise.all(imgs.map(i => i.complete ? Promise.resolve() :
      new Promise(r => { i.onload = r; i.onerror = r; }))).then(() => {
    const out = {
      images: imgs.map(i => ({src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight})),
      tables: {},
    };
    for (const t of d.querySelectorAll('table[id]')) {
      out.tables[t.id] = Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.textContent));
    }
    document.getElementById('result').textContent = JSON.stringify(out);
  });
};
</script></body></html>"#;

/// `python3 -m http.server` on a free loopback port, serving `dir`; killed on drop.
struct Server(Child, u16);

impl Server {
    fn start(dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting python3 -m http.server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "http.server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self(child, port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Chromium's flags for a headless run on a machine without network (as root: no sandbox).
fn chromium(profile: &Path) -> Command {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=15000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn rendered(dir: &Path) -> Value {
    std::fs::write(dir.join("probe.html"), PROBE).expect("write probe");
    let server = Server::start(dir);
    let profile = tempfile::tempdir().expect("profile dir");
    let out = chromium(profile.path())
        .arg("--dump-dom")
        .arg(format!("http://127.0.0.1:{}/probe.html", server.1))
        .output()
        .expect("running chromium (cargo xtask setup installs it)");
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "chromium printed no probe result: {dom}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("probe result {json:?}: {e}"))
}

#[test]
fn report_renders_in_chromium_with_every_image_and_the_figures_of_compare_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dataset = dir.path().join("dataset");
    write_experiment(
        &dataset,
        &ExperimentSpec {
            reps: 4,
            ..Default::default()
        },
    )
    .expect("synthetic experiment");
    let out = dir.path().join("report");
    write_report(&dataset, &out, &ReportConfig::default()).expect("report");
    let seen = rendered(&out);

    let images = seen["images"].as_array().expect("images");
    let srcs: Vec<&str> = images.iter().filter_map(|i| i["src"].as_str()).collect();
    for expected in ["coverage.png", "mismatch.png", "scatter.png", "matrix.png"] {
        assert!(
            srcs.contains(&expected),
            "{expected} not on the page: {srcs:?}"
        );
    }
    for i in images {
        assert!(
            i["w"].as_u64() > Some(100) && i["h"].as_u64() > Some(100),
            "image did not load in the browser: {i}"
        );
    }

    // The summary table holds compare.json's means and intervals, row for row.
    let compare: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("compare.json")).expect("compare.json"),
    )
    .expect("compare.json parses");
    let summary = seen["tables"]["summary"].as_array().expect("summary table");
    let lines = compare["summary"].as_array().expect("summary rows");
    let mut checked = 0;
    for row in summary.iter().skip(1) {
        let cells: Vec<&str> = row
            .as_array()
            .expect("row")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let (scenario, mode, view) = (cells[0], cells[1], cells[2]);
        let find = |metric: &str| {
            lines
                .iter()
                .find(|l| {
                    l["scenario"] == scenario
                        && l["mode"] == mode
                        && l["view"] == view
                        && l["metric"] == metric
                })
                .unwrap_or_else(|| panic!("no {metric} row for {scenario} {mode} {view}"))
        };
        let (cov, mis) = (find("coverage"), find("mismatch"));
        assert_eq!(cells[3], fmt_opt(cov["mean"].as_f64()), "{cells:?}");
        assert_eq!(cells[5], fmt_opt(mis["mean"].as_f64()), "{cells:?}");
        let ci = |r: &Value| {
            format!(
                "{:.3} to {:.3}",
                r["ci_lo"].as_f64().expect("ci_lo"),
                r["ci_hi"].as_f64().expect("ci_hi")
            )
        };
        assert_eq!(cells[4], ci(cov), "{cells:?}");
        assert_eq!(cells[6], ci(mis), "{cells:?}");
        checked += 1;
    }
    assert_eq!(checked, 2 * 2 * 3, "2 scenarios x 2 modes x 3 views");

    // The tests table holds compare.json's contrasts.
    let contrasts = seen["tables"]["contrasts"]
        .as_array()
        .expect("contrasts table");
    let expected = compare["contrasts"].as_array().expect("contrasts");
    assert_eq!(contrasts.len() - 1, expected.len());
    for (row, c) in contrasts.iter().skip(1).zip(expected) {
        let cells = row.as_array().expect("row");
        assert_eq!(cells[0], c["scenario"]);
        assert_eq!(
            cells[6].as_str(),
            Some(format!("{:.4}", c["p_value"].as_f64().expect("p")).as_str())
        );
    }
    assert!(
        seen["tables"]["mechanism"]
            .as_array()
            .expect("mechanism")
            .len()
            > 1
    );
    assert!(seen["tables"]["study"].as_array().expect("study").len() > 1);
}
