//! The targets of a capture: resolved before anything starts (programs looked up on PATH, `-p`
//! thread ids turned into processes), then registered in the kernel filter and the process
//! table before they run a syscall of their own: launched commands are forked blocked,
//! attached processes are read from /proc.

use std::{ffi::OsString, path::PathBuf};

use tracer_dataset::ProcessRow;

use super::{
    Job, JobOutcome, RecordConfig, RecordError, Target,
    launch::{self, Blocked, ChildSession, Credentials},
    procfs,
    writer::Writer,
};
use crate::{clock::now_ns, probe::Probe};

/// What `resolve` found.
pub enum Resolved<'a> {
    /// Jobs to launch.
    Launch {
        /// The jobs.
        jobs: &'a [Job],
        /// The program of each job.
        programs: Vec<PathBuf>,
    },
    /// Distinct process ids to attach to.
    Attach(Vec<u32>),
}

/// Finds every program on PATH (as a shell would) or every `-p` process.
pub fn resolve(target: &Target) -> Result<Resolved<'_>, RecordError> {
    match target {
        Target::Launch { jobs, .. } => {
            if jobs.is_empty() || jobs.iter().any(|j| j.argv.is_empty()) {
                return Err(RecordError::NothingToTrace);
            }
            let path_var = std::env::var_os("PATH");
            let programs = jobs
                .iter()
                .map(|j| launch::resolve(&j.argv[0], path_var.as_deref()))
                .collect::<Result<_, _>>()?;
            Ok(Resolved::Launch { jobs, programs })
        }
        Target::Attach { pids } => {
            if pids.is_empty() {
                return Err(RecordError::NothingToTrace);
            }
            let mut tgids = Vec::new();
            for pid in pids {
                let tgid = procfs::tgid_of(*pid).ok_or(RecordError::NoSuchPid(*pid))?;
                if !tgids.contains(&tgid) {
                    tgids.push(tgid);
                }
            }
            Ok(Resolved::Attach(tgids))
        }
    }
}

/// The registered targets: launched commands waiting for their release (none when
/// attaching), and an outcome in the making per command.
pub struct Registered {
    /// Per job, its blocked child until released.
    pub blocked: Vec<Option<Blocked>>,
    /// Per job.
    pub outcomes: Vec<JobOutcome>,
}

/// Whether the capture holds processes of other users than `owner` (the user its files are
/// for): a launched command run as someone else, or an attached process with another real or
/// effective uid. Such a capture's files are private (0600).
pub fn holds_other_users(config: &RecordConfig, resolved: &Resolved<'_>, owner: u32) -> bool {
    match resolved {
        Resolved::Launch { .. } => {
            // SAFETY: geteuid has no preconditions.
            let uid = config
                .creds
                .as_ref()
                .map_or_else(|| unsafe { libc::geteuid() }, |c| c.uid);
            uid != owner
        }
        Resolved::Attach(pids) => pids
            .iter()
            .any(|pid| procfs::uids(*pid).is_none_or(|uids| uids.iter().any(|u| *u != owner))),
    }
}

/// Forks every command blocked in `session` (or reads every attached process), puts it in the
/// filter and the process table; nothing runs yet.
pub fn register(
    config: &RecordConfig,
    resolved: &Resolved<'_>,
    ignored_signals: &[i32],
    session: ChildSession,
    probe: &mut Probe,
    writer: &mut Writer,
) -> Result<Registered, RecordError> {
    match resolved {
        Resolved::Launch { jobs, programs } => {
            let mut registered = Registered {
                blocked: Vec::new(),
                outcomes: Vec::new(),
            };
            let env = command_env(config.creds.as_ref());
            for (job, path) in jobs.iter().zip(programs) {
                let stdio = match &job.log {
                    Some(log) => Some(launch::Stdio::to_log(log)?),
                    None => None,
                };
                let options = launch::LaunchOptions {
                    creds: config.creds.as_ref(),
                    stdio: stdio.as_ref(),
                    new_process_group: config.job_process_groups,
                    session,
                    ignored_signals: ignored_signals.to_vec(),
                };
                let child = launch::spawn_blocked(path, &job.argv, &env, &options)?;
                if let Some(cpus) = &job.cpus {
                    pin(child.pid(), cpus)?;
                }
                probe.trace_pid(child.pid() as u32)?;
                writer.add_root(child.pid() as u32, launched_row(path), true);
                registered.outcomes.push(JobOutcome {
                    pid: child.pid(),
                    ..JobOutcome::default()
                });
                registered.blocked.push(Some(child));
            }
            Ok(registered)
        }
        Resolved::Attach(pids) => {
            for pid in pids {
                let row = procfs::process_row(*pid).ok_or(RecordError::NoSuchPid(*pid))?;
                probe.trace_pid(*pid)?;
                // A process that ended between the check and the insert never reaches the exit
                // hook as traced; its entry would keep the capture waiting forever.
                if !procfs::alive(*pid) {
                    probe.untrace(*pid)?;
                    return Err(RecordError::NoSuchPid(*pid));
                }
                writer.add_root(*pid, row, false);
            }
            Ok(Registered {
                blocked: Vec::new(),
                outcomes: Vec::new(),
            })
        }
    }
}

/// The row of a launched command until its exec tells more: the tracer as parent, the
/// program's file name as comm (cut to the kernel's 15 bytes).
fn launched_row(path: &std::path::Path) -> ProcessRow {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    ProcessRow {
        ppid: Some(me),
        start_ns: Some(now_ns()),
        comm: Some(
            path.file_name()
                .map(|n| n.to_string_lossy().chars().take(15).collect())
                .unwrap_or_default(),
        ),
        ..ProcessRow::default()
    }
}

/// The environment of a command run as another user: the tracer's own, with the identity
/// variables of that user (as `runuser` sets them), so the program finds its own home.
fn command_env(creds: Option<&Credentials>) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    if let Some(c) = creds {
        let set = [
            ("HOME", c.home.as_str()),
            ("USER", c.name.as_str()),
            ("LOGNAME", c.name.as_str()),
            ("SHELL", c.shell.as_str()),
        ];
        for (key, value) in set {
            if value.is_empty() {
                continue;
            }
            env.retain(|(k, _)| k != key);
            env.push((key.into(), value.into()));
        }
    }
    env
}

/// Pins `pid` (still blocked before its exec) to `cpus`; what it starts inherits the set.
fn pin(pid: i32, cpus: &[usize]) -> Result<(), RecordError> {
    // SAFETY: an all-zero cpu_set_t is the empty set; CPU_SET writes inside it for cpus below
    // CPU_SETSIZE, which is checked.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(RecordError::Affinity {
                cpus: cpus.to_vec(),
                source: std::io::Error::from_raw_os_error(libc::EINVAL),
            });
        }
        // SAFETY: cpu < CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: a valid set of the size passed, for our own child.
    let r = unsafe { libc::sched_setaffinity(pid, std::mem::size_of_val(&set), &set) };
    if r != 0 {
        return Err(RecordError::Affinity {
            cpus: cpus.to_vec(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_env_sets_the_users_identity() {
        let creds = Credentials {
            uid: 1000,
            gid: 1000,
            name: "alice".into(),
            home: "/home/alice".into(),
            shell: String::new(),
            ..Credentials::default()
        };
        let env = command_env(Some(&creds));
        let get = |k: &str| {
            env.iter()
                .filter(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            get("HOME"),
            vec![OsString::from("/home/alice")],
            "HOME once"
        );
        assert_eq!(get("USER"), vec![OsString::from("alice")], "USER once");
        assert_eq!(
            get("LOGNAME"),
            vec![OsString::from("alice")],
            "LOGNAME once"
        );
        assert_eq!(
            get("SHELL"),
            std::env::var_os("SHELL").into_iter().collect::<Vec<_>>(),
            "an unknown shell leaves SHELL as it was"
        );
    }

    #[test]
    fn resolve_refuses_empty_targets() {
        let launch = Target::Launch {
            jobs: vec![],
            schedule: super::super::Schedule::Concurrent,
        };
        assert!(
            matches!(resolve(&launch), Err(RecordError::NothingToTrace)),
            "no job"
        );
        let attach = Target::Attach { pids: vec![] };
        assert!(
            matches!(resolve(&attach), Err(RecordError::NothingToTrace)),
            "no pid"
        );
        let gone = Target::Attach {
            pids: vec![999_999_999],
        };
        assert!(
            matches!(resolve(&gone), Err(RecordError::NoSuchPid(999_999_999))),
            "no such process"
        );
    }
}
