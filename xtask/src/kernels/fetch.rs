//! The matrix's kernels and its busybox, fetched once into `target/kernels/`: for a suite,
//! Debian's `linux-image-cloud-amd64` (resolved to the versioned package it depends on), of
//! which only the kernel image, its config and the few modules the guest loads are kept.

use std::{
    collections::HashSet,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

use super::apt::{self, Archives, PrivateApt};

/// The metapackage that names each suite's current cloud kernel.
const KERNEL_METAPACKAGE: &str = "linux-image-cloud-amd64";
/// Modules the guest needs for its results disk (virtio-pci, then virtio-blk), with their
/// dependencies; those built into a kernel are skipped.
const GUEST_MODULES: &[&str] = &["virtio_pci", "virtio_blk"];
/// The packages a split kernel image depends on for its kernel, modules and config.
const SPLIT_PARTS: &[&str] = &["linux-binary-", "linux-modules-", "linux-base-"];
/// Where the static busybox comes from: any suite's runs on every kernel of the matrix.
const BUSYBOX_SUITE: &str = "bookworm";

/// One cached kernel.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The Debian suite it comes from.
    pub suite: String,
    /// The versioned package, e.g. `linux-image-6.1.0-50-cloud-amd64`.
    pub package: String,
    /// The package version, e.g. `6.1.176-1`.
    pub version: String,
    /// `uname -r` of the kernel, e.g. `6.1.0-50-cloud-amd64`.
    pub release: String,
    /// The folder holding the files below (and the runs' files).
    pub dir: PathBuf,
    /// Modules to load in the guest, dependencies first (uncompressed `.ko` files in `dir`).
    pub modules: Vec<PathBuf>,
}

impl Kernel {
    /// The kernel image.
    pub fn vmlinuz(&self) -> PathBuf {
        self.dir.join("vmlinuz")
    }

    /// `major.minor` of the release.
    pub fn version_pair(&self) -> Option<(u32, u32)> {
        let mut parts = self.release.split(['.', '-', '+']);
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    }

    fn stamp(dir: &Path) -> PathBuf {
        dir.join("kernel.txt")
    }

    fn load(suite: &str, dir: &Path) -> Option<Self> {
        let text = fs::read_to_string(Self::stamp(dir)).ok()?;
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .map(str::to_string)
        };
        let modules = get("modules")?
            .split_whitespace()
            .map(|m| dir.join("modules").join(m))
            .collect::<Vec<_>>();
        let kernel = Self {
            suite: suite.to_string(),
            package: get("package")?,
            version: get("version")?,
            release: get("release")?,
            dir: dir.to_path_buf(),
            modules,
        };
        (kernel.vmlinuz().exists() && kernel.modules.iter().all(|m| m.exists())).then_some(kernel)
    }

    fn save(&self) -> anyhow::Result<()> {
        let names: Vec<String> = self
            .modules
            .iter()
            .filter_map(|m| m.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let text = format!(
            "package={}\nversion={}\nrelease={}\nmodules={}\n",
            self.package,
            self.version,
            self.release,
            names.join(" ")
        );
        fs::write(Self::stamp(&self.dir), text).context("writing kernel.txt")
    }
}

/// The downloads of one matrix run: one private apt per suite, created when first needed.
pub struct Fetcher {
    root: PathBuf,
    archives: Option<Archives>,
}

impl Fetcher {
    /// A fetcher caching into `root` (`target/kernels`).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            archives: None,
        }
    }

    fn apt(&mut self, suite: &str) -> anyhow::Result<PrivateApt> {
        if self.archives.is_none() {
            self.archives = Some(Archives::from_system()?);
        }
        let archives = self.archives.as_ref().expect("set above");
        PrivateApt::new(&self.root.join("apt").join(suite), suite, archives)
    }

    /// Removes the private apt folders (lists and downloaded `.deb`s): what the matrix keeps
    /// of a package is unpacked beside it.
    pub fn clean(&self) {
        let _ = fs::remove_dir_all(self.root.join("apt"));
        let _ = fs::remove_dir_all(self.root.join("download"));
    }

    /// The static busybox, downloaded once.
    pub fn busybox(&mut self) -> anyhow::Result<PathBuf> {
        let path = self.root.join("busybox");
        if path.exists() {
            return Ok(path);
        }
        let mut apt = self.apt(BUSYBOX_SUITE)?;
        let download = self.root.join("download/busybox");
        let deb = apt.download("busybox-static", &download)?;
        let unpacked = download.join("x");
        apt::unpack(&deb, &unpacked)?;
        fs::copy(unpacked.join("bin/busybox"), &path)
            .with_context(|| format!("copying busybox from {}", deb.display()))?;
        let _ = fs::remove_dir_all(&download);
        Ok(path)
    }

    /// The cloud kernel of `suite`, downloaded and unpacked once.
    pub fn kernel(&mut self, suite: &str, busybox: &Path) -> anyhow::Result<Kernel> {
        let dir = self.root.join(suite);
        if let Some(k) = Kernel::load(suite, &dir) {
            return Ok(k);
        }
        let mut apt = self.apt(suite)?;
        let package = apt
            .dependency(KERNEL_METAPACKAGE, "linux-image-")
            .with_context(|| format!("finding {suite}'s cloud kernel"))?;
        let download = self.root.join("download").join(suite);
        let _ = fs::remove_dir_all(&download);
        let deb = apt.download(&package, &download)?;
        let version = apt::deb_field(&deb, "Version")?;
        let unpacked = download.join("x");
        apt::unpack(&deb, &unpacked)?;
        // Newer kernels (trixie-backports' 7.x) split the image package: the kernel, its
        // modules and its config come in the packages it depends on.
        if find_image(&unpacked).is_none() {
            for part in apt::depends_names(&apt::deb_field(&deb, "Depends")?) {
                if SPLIT_PARTS.iter().any(|p| part.starts_with(p)) {
                    let part_deb = apt.download(&part, &download)?;
                    apt::unpack(&part_deb, &unpacked)?;
                }
            }
        }
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("modules"))?;
        let (vmlinuz, release, config) = find_image(&unpacked)
            .with_context(|| format!("{package} (and its parts) ship no kernel image"))?;
        fs::copy(&vmlinuz, dir.join("vmlinuz"))?;
        let config_text =
            fs::read_to_string(&config).with_context(|| format!("reading {}", config.display()))?;
        if !config_text.lines().any(|l| l == "CONFIG_DEBUG_INFO_BTF=y") {
            bail!("{package} is built without CONFIG_DEBUG_INFO_BTF: tracer cannot run on it");
        }
        fs::write(dir.join("config"), config_text)?;
        let moddir = ["lib/modules", "usr/lib/modules"]
            .iter()
            .map(|p| unpacked.join(p).join(&release))
            .find(|p| p.is_dir())
            .with_context(|| format!("{package} ships no modules folder for {release}"))?;
        let modules = resolve_modules(&moddir, GUEST_MODULES, &dir.join("modules"), busybox)
            .with_context(|| format!("collecting the guest's modules from {package}"))?;
        let kernel = Kernel {
            suite: suite.to_string(),
            package,
            version,
            release,
            dir,
            modules,
        };
        kernel.save()?;
        let _ = fs::remove_dir_all(&download);
        Ok(kernel)
    }
}

/// The kernel image, its release and its config: `boot/vmlinuz-<release>` and
/// `boot/config-<release>`, or in split packages `usr/lib/modules/<release>/vmlinuz` and
/// `config` beside it.
fn find_image(unpacked: &Path) -> Option<(PathBuf, String, PathBuf)> {
    let boot = unpacked.join("boot");
    let in_boot = fs::read_dir(&boot).ok().and_then(|dir| {
        dir.filter_map(Result::ok).find_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let release = name.strip_prefix("vmlinuz-")?.to_string();
            let config = boot.join(format!("config-{release}"));
            Some((e.path(), release, config))
        })
    });
    in_boot.or_else(|| {
        let modules = unpacked.join("usr/lib/modules");
        fs::read_dir(&modules)
            .ok()?
            .filter_map(Result::ok)
            .find_map(|e| {
                let vmlinuz = e.path().join("vmlinuz");
                vmlinuz.exists().then(|| {
                    let release = e.file_name().to_string_lossy().into_owned();
                    (vmlinuz, release, e.path().join("config"))
                })
            })
    })
}

/// Every `*.ko*` file under `moddir/kernel`, by module name (`-` and `_` are the same).
fn module_files(moddir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![moddir.join("kernel")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(name) = path.file_name().and_then(|n| n.to_str())
                && let Some((stem, _)) = name.split_once(".ko")
            {
                out.push((stem.replace('-', "_"), path));
            }
        }
    }
    out
}

/// A module's bytes, decompressed (Debian compresses modules with xz since 6.x).
fn module_bytes(path: &Path, busybox: &Path) -> anyhow::Result<Vec<u8>> {
    let name = path.to_string_lossy();
    if name.ends_with(".ko") {
        return fs::read(path).with_context(|| format!("reading {name}"));
    }
    let applet = if name.ends_with(".xz") {
        "xzcat"
    } else if name.ends_with(".gz") {
        "zcat"
    } else {
        bail!("{name}: compressed in a format busybox cannot read");
    };
    let out = Command::new(busybox)
        .arg(applet)
        .arg(path)
        .output()
        .with_context(|| format!("busybox {applet} {name}"))?;
    if !out.status.success() {
        bail!("busybox {applet} {name} failed");
    }
    Ok(out.stdout)
}

/// The `depends=` entry of a module's `.modinfo` section.
fn depends(ko: &[u8]) -> Vec<String> {
    let key = b"\0depends=";
    ko.windows(key.len())
        .position(|w| w == key)
        .map(|at| {
            let rest = &ko[at + key.len()..];
            let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
            String::from_utf8_lossy(&rest[..end])
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.replace('-', "_"))
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `roots` and their dependencies as uncompressed `.ko` files into `dest`, numbered in
/// load order (dependencies first); modules built into the kernel (`modules.builtin`) are
/// skipped.
fn resolve_modules(
    moddir: &Path,
    roots: &[&str],
    dest: &Path,
    busybox: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let files = module_files(moddir);
    let builtin = fs::read_to_string(moddir.join("modules.builtin")).unwrap_or_default();
    let is_builtin = |name: &str| {
        builtin.lines().any(|l| {
            l.rsplit('/')
                .next()
                .and_then(|f| f.strip_suffix(".ko"))
                .is_some_and(|m| m.replace('-', "_") == name)
        })
    };
    let mut order: Vec<(String, Vec<u8>)> = Vec::new();
    let mut seen = HashSet::new();
    // Depth-first, dependencies before dependants.
    fn visit(
        name: &str,
        files: &[(String, PathBuf)],
        is_builtin: &dyn Fn(&str) -> bool,
        busybox: &Path,
        seen: &mut HashSet<String>,
        order: &mut Vec<(String, Vec<u8>)>,
    ) -> anyhow::Result<()> {
        if !seen.insert(name.to_string()) {
            return Ok(());
        }
        let Some((_, path)) = files.iter().find(|(n, _)| n == name) else {
            if is_builtin(name) {
                return Ok(());
            }
            bail!("module {name} is neither shipped nor built in");
        };
        let bytes = module_bytes(path, busybox)?;
        for dep in depends(&bytes) {
            visit(&dep, files, is_builtin, busybox, seen, order)?;
        }
        order.push((name.to_string(), bytes));
        Ok(())
    }
    for root in roots {
        visit(root, &files, &is_builtin, busybox, &mut seen, &mut order)?;
    }
    let mut out = Vec::new();
    for (i, (name, bytes)) in order.into_iter().enumerate() {
        let path = dest.join(format!("{i:02}-{name}.ko"));
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        out.push(path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_reads_the_modinfo_entry() {
        let ko = b"\x7fELF...\0license=GPL\0depends=virtio,virtio_ring\0intree=Y\0";
        assert_eq!(depends(ko), ["virtio", "virtio_ring"]);
        assert!(depends(b"\0depends=\0name=virtio\0").is_empty());
        assert!(depends(b"no modinfo").is_empty());
    }
}
