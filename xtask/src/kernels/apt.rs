//! Debian packages fetched with a private apt configuration: a sources list, state and cache of
//! our own under `target/kernels/apt/<suite>/`, built from the archive URIs and keyring the
//! system already uses, so the system's apt configuration is read for its URIs and never
//! changed. Each package is downloaded once, unpacked with `dpkg-deb -x`, and only the files the
//! matrix needs are kept.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

use crate::run;

/// The system's sources: deb822 files in this folder, and the one-line list beside it.
const SYSTEM_SOURCES_DIR: &str = "/etc/apt/sources.list.d";
const SYSTEM_SOURCES_LIST: &str = "/etc/apt/sources.list";
/// Debian's archive keyring, used when a source names no `Signed-By`.
const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// One archive the system uses: its URI and the keyring its `Signed-By` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// The archive's base URI, as the system's sources give it.
    pub uri: String,
    /// The keyring that signs it.
    pub keyring: String,
}

/// The Debian archives the system already uses: the main archive and the security one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archives {
    /// The archive of the release suites (`bookworm`, `trixie`, ...).
    pub main: Archive,
    /// The security archive (`<suite>-security`), if the system uses one.
    pub security: Option<Archive>,
}

/// One source entry: URIs, suites and keyring, from either sources format.
#[derive(Debug, Default)]
struct Entry {
    uris: Vec<String>,
    suites: Vec<String>,
    signed_by: Option<String>,
}

/// Parses deb822 stanzas (`Types: deb`, `URIs:`, `Suites:`, `Signed-By:` with a path).
fn parse_deb822(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for stanza in text.split("\n\n") {
        let mut e = Entry::default();
        let mut is_deb = false;
        for line in stanza.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if line.starts_with('#') || line.starts_with(' ') {
                continue;
            }
            let words = || value.split_whitespace().map(str::to_string);
            match key.trim().to_ascii_lowercase().as_str() {
                "types" => is_deb = value.split_whitespace().any(|t| t == "deb"),
                "uris" => e.uris = words().collect(),
                "suites" => e.suites = words().collect(),
                // An inline key block is not a path; the default keyring is used then.
                "signed-by" if value.trim().starts_with('/') => {
                    e.signed_by = Some(value.trim().to_string());
                }
                _ => {}
            }
        }
        if is_deb && !e.uris.is_empty() {
            entries.push(e);
        }
    }
    entries
}

/// Parses one-line entries: `deb [signed-by=/path ...] URI SUITE COMPONENTS...`.
fn parse_one_line(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("deb ") else {
            continue;
        };
        let mut e = Entry::default();
        let rest = rest.trim_start();
        let rest = match rest.strip_prefix('[') {
            Some(opts) => {
                let (opts, after) = opts.split_once(']').unwrap_or((opts, ""));
                e.signed_by = opts
                    .split_whitespace()
                    .find_map(|o| o.strip_prefix("signed-by="))
                    .map(str::to_string);
                after
            }
            None => rest,
        };
        let mut words = rest.split_whitespace();
        if let (Some(uri), Some(suite)) = (words.next(), words.next()) {
            e.uris.push(uri.to_string());
            e.suites.push(suite.to_string());
            entries.push(e);
        }
    }
    entries
}

/// Picks the main archive (an entry with a plain release suite such as `bookworm`) and the
/// security archive (an entry with a `*-security` suite) among the system's entries.
fn pick_archives(entries: &[Entry]) -> Option<Archives> {
    let archive = |e: &Entry| Archive {
        uri: e.uris[0].trim_end_matches('/').to_string(),
        keyring: e
            .signed_by
            .clone()
            .unwrap_or_else(|| DEFAULT_KEYRING.to_string()),
    };
    let main = entries
        .iter()
        .find(|e| {
            e.suites
                .iter()
                .any(|s| !s.contains('-') && !s.contains('/'))
        })
        .map(archive)?;
    let security = entries
        .iter()
        .find(|e| e.suites.iter().any(|s| s.ends_with("-security")))
        .map(archive);
    Some(Archives { main, security })
}

impl Archives {
    /// Reads the archives from the system's sources (read only).
    pub fn from_system() -> anyhow::Result<Self> {
        let mut entries = Vec::new();
        if let Ok(dir) = fs::read_dir(SYSTEM_SOURCES_DIR) {
            let mut files: Vec<PathBuf> = dir
                .filter_map(Result::ok)
                .map(|d| d.path())
                .filter(|p| p.extension().is_some_and(|e| e == "sources"))
                .collect();
            files.sort();
            for f in files {
                let text =
                    fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
                entries.extend(parse_deb822(&text));
            }
        }
        if let Ok(text) = fs::read_to_string(SYSTEM_SOURCES_LIST) {
            entries.extend(parse_one_line(&text));
        }
        pick_archives(&entries).with_context(|| {
            format!(
                "no Debian archive among the system's apt sources ({SYSTEM_SOURCES_DIR}/*.sources, \
                 {SYSTEM_SOURCES_LIST}): the kernel matrix downloads Debian's cloud kernels from it"
            )
        })
    }
}

/// A private apt for one suite: sources, state and cache under `dir`.
pub struct PrivateApt {
    dir: PathBuf,
    suite: String,
    updated: bool,
}

impl PrivateApt {
    /// Prepares (but does not update) a private apt for `suite` in `dir`: its sources list names
    /// the main archive's `suite` and, if the system has one, the security archive's
    /// `suite-security`, each signed by the keyring the system uses for it.
    pub fn new(dir: &Path, suite: &str, archives: &Archives) -> anyhow::Result<Self> {
        for sub in [
            "etc/sources.list.d",
            "etc/preferences.d",
            "etc/trusted.gpg.d",
            "state/lists/partial",
            "cache/archives/partial",
        ] {
            fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("creating {}", dir.join(sub).display()))?;
        }
        let mut list = format!(
            "deb [signed-by={}] {} {suite} main\n",
            archives.main.keyring, archives.main.uri
        );
        // Release suites from bullseye on have `<suite>-security`; others (`*-backports`, or
        // `<suite>/updates` before bullseye) get the main archive only.
        if let Some(sec) = &archives.security
            && !suite.contains('-')
        {
            list.push_str(&format!(
                "deb [signed-by={}] {} {suite}-security main\n",
                sec.keyring, sec.uri
            ));
        }
        let sources = dir.join("etc/sources.list");
        fs::write(&sources, list).with_context(|| format!("writing {}", sources.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            suite: suite.to_string(),
            updated: false,
        })
    }

    /// `apt-get`/`apt-cache` with every configuration path pointed into our folder.
    fn command(&self, program: &str) -> Command {
        let d = |sub: &str| self.dir.join(sub).display().to_string();
        let mut cmd = Command::new(program);
        for (key, value) in [
            ("Dir::Etc::sourcelist", d("etc/sources.list")),
            ("Dir::Etc::sourceparts", d("etc/sources.list.d")),
            ("Dir::Etc::preferences", d("etc/preferences")),
            ("Dir::Etc::preferencesparts", d("etc/preferences.d")),
            ("Dir::Etc::trusted", d("etc/trusted.gpg")),
            ("Dir::Etc::trustedparts", d("etc/trusted.gpg.d")),
            ("Dir::State", d("state")),
            // No installed packages: nothing of the system's dpkg state affects the choice.
            ("Dir::State::status", "/dev/null".to_string()),
            ("Dir::Cache", d("cache")),
            ("Acquire::Languages", "none".to_string()),
            (
                "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled",
                "false".to_string(),
            ),
            // Our folders belong to root; apt's download sandbox user could not write them.
            ("APT::Sandbox::User", "root".to_string()),
        ] {
            cmd.arg("-o").arg(format!("{key}={value}"));
        }
        cmd
    }

    fn update(&mut self) -> anyhow::Result<()> {
        if !self.updated {
            eprintln!(
                "xtask kernels: apt-get update ({}, private lists)",
                self.suite
            );
            run(self.command("apt-get").args(["-qq", "update"]))
                .with_context(|| format!("updating the private apt lists of {}", self.suite))?;
            self.updated = true;
        }
        Ok(())
    }

    /// The first dependency of `package`'s candidate version whose name starts with `prefix`
    /// (how a metapackage such as `linux-image-cloud-amd64` names the versioned package it
    /// stands for, beside helpers such as `linux-base-*`).
    pub fn dependency(&mut self, package: &str, prefix: &str) -> anyhow::Result<String> {
        self.update()?;
        let out = self
            .command("apt-cache")
            .args(["show", "--no-all-versions", package])
            .output()
            .with_context(|| format!("apt-cache show {package}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "apt-cache show {package} ({}) failed: {}",
                self.suite,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        text.lines()
            .find_map(|l| l.strip_prefix("Depends: "))
            .and_then(|deps| {
                deps.split([',', ' ', '|'])
                    .find(|w| w.starts_with(prefix) && *w != package)
            })
            .map(str::to_string)
            .with_context(|| {
                format!(
                    "{package} in {} depends on no {prefix}* package",
                    self.suite
                )
            })
    }

    /// Downloads `package`'s candidate `.deb` into `dest` and returns its path.
    pub fn download(&mut self, package: &str, dest: &Path) -> anyhow::Result<PathBuf> {
        self.update()?;
        fs::create_dir_all(dest)?;
        eprintln!("xtask kernels: apt-get download {package} ({})", self.suite);
        let mut cmd = self.command("apt-get");
        cmd.args(["-qq", "download", package]).current_dir(dest);
        let status = cmd
            .status()
            .with_context(|| format!("apt-get download {package}"))?;
        if !status.success() {
            bail!(
                "apt-get download {package} ({}) failed: {status}",
                self.suite
            );
        }
        let prefix = format!("{package}_");
        fs::read_dir(dest)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
            })
            .with_context(|| {
                format!(
                    "apt-get download left no {prefix}*.deb in {}",
                    dest.display()
                )
            })
    }
}

/// Unpacks a `.deb` into `dest` (`dpkg-deb -x`).
pub fn unpack(deb: &Path, dest: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dest)?;
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(dest)
        .status()
        .context("running dpkg-deb")?;
    if !status.success() {
        bail!("dpkg-deb -x {} failed: {status}", deb.display());
    }
    Ok(())
}

/// A control field of a `.deb` (`dpkg-deb -f DEB FIELD`), empty if absent.
pub fn deb_field(deb: &Path, field: &str) -> anyhow::Result<String> {
    let out = Command::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .arg(field)
        .output()
        .context("running dpkg-deb -f")?;
    if !out.status.success() {
        bail!("dpkg-deb -f {} {field} failed", deb.display());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The package names of a `Depends` field, alternatives included, without versions.
pub fn depends_names(field: &str) -> Vec<String> {
    field
        .split([',', '|'])
        .filter_map(|d| d.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_gives_main_and_security_archives() {
        let text = "Types: deb\n# a comment: with a colon\nURIs: http://mirror.invalid/debian\n\
                    Suites: bookworm bookworm-updates\nComponents: main\n\
                    Signed-By: /usr/share/keyrings/k.gpg\n\n\
                    Types: deb\nURIs: http://mirror.invalid/debian-security/\n\
                    Suites: bookworm-security\nComponents: main\n";
        let archives = pick_archives(&parse_deb822(text)).expect("archives");
        assert_eq!(archives.main.uri, "http://mirror.invalid/debian");
        assert_eq!(archives.main.keyring, "/usr/share/keyrings/k.gpg");
        let sec = archives.security.expect("security");
        assert_eq!(sec.uri, "http://mirror.invalid/debian-security");
        assert_eq!(sec.keyring, DEFAULT_KEYRING);
    }

    #[test]
    fn one_line_sources_with_options() {
        let text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.invalid/debian trixie main\n\
                    deb-src http://m.invalid/debian trixie main\n\
                    deb http://m.invalid/debian-security trixie-security main\n";
        let archives = pick_archives(&parse_one_line(text)).expect("archives");
        assert_eq!(archives.main.uri, "http://m.invalid/debian");
        assert_eq!(archives.main.keyring, "/k.gpg");
        assert_eq!(
            archives.security.map(|s| s.uri).as_deref(),
            Some("http://m.invalid/debian-security")
        );
    }

    #[test]
    fn depends_names_drop_versions() {
        assert_eq!(
            depends_names("dracut | initramfs-tools (>= 0.120), linux-binary-7.3 (= 7.3-1)"),
            ["dracut", "initramfs-tools", "linux-binary-7.3"]
        );
    }

    #[test]
    fn no_debian_source_is_none() {
        assert!(pick_archives(&parse_deb822("Types: deb-src\nURIs: http://x.invalid\n")).is_none());
    }
}
