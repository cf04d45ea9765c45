//! Loading and attaching the eBPF programs, and the user side of their maps: the traced-process
//! set, the per-syscall flags, the ring buffer and the loss counters.

use aya::{
    Btf as AyaBtf, Ebpf, EbpfLoader,
    maps::{Array, HashMap, MapData, PerCpuArray, RingBuf},
    programs::BtfTracePoint,
};
use tracer_common::{
    KernelOffsets, LOST_KINDS, MAX_SYSCALL_NR, SC_PATH_SHIFT, SC_TRACE, TRACED_DYING, TRACED_LIVE,
};

use tracer_dataset::Arch;

use crate::btf::{Btf, BtfError};

/// The compiled eBPF object (built by build.rs).
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(env!("TRACER_EBPF_OBJECT"));

/// Errors while setting up the kernel side.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// This binary was built without the eBPF object (build.rs stub mode).
    #[error(
        "this tracer was built without its eBPF programs ({0}); install the toolchain with \
         `cargo xtask setup` and rebuild"
    )]
    NoObject(&'static str),
    /// Kernel structure offsets could not be read.
    #[error("reading kernel structure layout from BTF")]
    Btf(#[from] BtfError),
    /// aya's BTF loader failed.
    #[error("loading kernel BTF for BTF tracepoints")]
    AyaBtf(#[source] aya::BtfError),
    /// The object or its maps could not be loaded.
    #[error("loading the eBPF object into the kernel")]
    Load(#[source] aya::EbpfError),
    /// A program failed to load or attach.
    #[error("loading or attaching eBPF program {name}")]
    Program {
        /// The program.
        name: &'static str,
        /// The cause.
        #[source]
        source: aya::programs::ProgramError,
    },
    /// A map operation failed.
    #[error("eBPF map {name}")]
    Map {
        /// The map.
        name: &'static str,
        /// The cause.
        #[source]
        source: aya::maps::MapError,
    },
    /// A program the object must define is missing.
    #[error("eBPF object has no program {0}")]
    MissingProgram(&'static str),
    /// A map the object must define is missing.
    #[error("eBPF object has no map {0}")]
    MissingMap(&'static str),
    /// The requested ring size is not usable.
    #[error("--ring-bytes {0}: must be a power of two of at least 4096 bytes")]
    RingSize(u64),
}

/// What the kernel side records.
#[derive(Clone, Debug)]
pub struct ProbeConfig {
    /// Ring buffer size in bytes (power of two, page multiple).
    pub ring_bytes: u32,
    /// Attach `sys_enter` too, for entry timestamps and durations.
    pub durations: bool,
    /// Syscall numbers to record; `None` for all.
    pub filter: Option<Vec<i32>>,
    /// Architecture of the syscall table.
    pub arch: Arch,
}

/// Reads the kernel structure offsets the programs need from the running kernel's BTF.
pub fn kernel_offsets(btf: &Btf) -> Result<KernelOffsets, BtfError> {
    Ok(KernelOffsets {
        task_pid: btf.member_offset("task_struct", "pid")?,
        task_tgid: btf.member_offset("task_struct", "tgid")?,
        task_exit_code: btf.member_offset("task_struct", "exit_code")?,
        task_signal: btf.member_offset("task_struct", "signal")?,
        task_mm: btf.member_offset("task_struct", "mm")?,
        signal_live: btf.member_offset("signal_struct", "live")?,
        mm_arg_start: btf.member_offset("mm_struct", "arg_start")?,
        bprm_filename: btf.member_offset("linux_binprm", "filename")?,
        task_pending_signal: btf.member_offset("task_struct", "pending")?
            + btf.member_offset("sigpending", "signal")?,
        pad: 0,
    })
}

/// The loaded and attached programs with their maps.
pub struct Probe {
    ebpf: Ebpf,
}

impl Probe {
    /// Loads the object, fills the syscall table and attaches every program. Nothing is recorded
    /// until a process is added with `trace_pid`.
    pub fn load(config: &ProbeConfig) -> Result<Self, ProbeError> {
        if EBPF_OBJECT.is_empty() {
            return Err(ProbeError::NoObject(
                option_env!("TRACER_EBPF_STUB_REASON").unwrap_or("stub build"),
            ));
        }
        let ring = config.ring_bytes as u64;
        if ring < 4096 || !ring.is_power_of_two() {
            return Err(ProbeError::RingSize(ring));
        }
        let offsets = kernel_offsets(&Btf::from_sys_fs()?)?;
        let durations: u32 = config.durations.into();
        let ebpf = EbpfLoader::new()
            .override_global("KERNEL_OFFSETS", &offsets, true)
            .override_global("WANT_DURATIONS", &durations, true)
            .map_max_entries("EVENTS", config.ring_bytes)
            // ENTRY_TS is task storage, which aya does not wrap on the user side; we never
            // touch it from here.
            .allow_unsupported_maps()
            .load(EBPF_OBJECT)
            .map_err(ProbeError::Load)?;
        let mut probe = Self { ebpf };
        probe.fill_syscall_flags(config)?;
        let btf = AyaBtf::from_sys_fs().map_err(ProbeError::AyaBtf)?;
        // Process lifecycle hooks, then raw_syscalls:sys_exit (and sys_enter with -T). All are
        // BTF tracepoints: no tracefs needed, typed arguments, and each program is named as its
        // tracepoint.
        let mut hooks = vec![
            "sched_process_fork",
            "sched_process_exec",
            "sched_process_exit",
            "sys_exit",
        ];
        if config.durations {
            hooks.push("sys_enter");
        }
        for name in hooks {
            let program_err = |source| ProbeError::Program { name, source };
            let prog: &mut BtfTracePoint = probe
                .ebpf
                .program_mut(name)
                .ok_or(ProbeError::MissingProgram(name))?
                .try_into()
                .map_err(program_err)?;
            prog.load(name, &btf).map_err(program_err)?;
            prog.attach().map_err(program_err)?;
        }
        Ok(probe)
    }

    fn fill_syscall_flags(&mut self, config: &ProbeConfig) -> Result<(), ProbeError> {
        let map = self
            .ebpf
            .map_mut("SYSCALL_FLAGS")
            .ok_or(ProbeError::MissingMap("SYSCALL_FLAGS"))?;
        let mut flags: Array<&mut MapData, u8> =
            Array::try_from(map).map_err(|source| ProbeError::Map {
                name: "SYSCALL_FLAGS",
                source,
            })?;
        let mut table = vec![0u8; MAX_SYSCALL_NR as usize];
        match &config.filter {
            None => table.iter_mut().for_each(|f| *f = SC_TRACE),
            Some(nrs) => {
                for nr in nrs {
                    if let Some(f) = usize::try_from(*nr).ok().and_then(|i| table.get_mut(i)) {
                        *f = SC_TRACE;
                    }
                }
            }
        }
        for (nr, name) in config.arch.all() {
            if let (Some(idx), Some(f)) = (
                tracer_dataset::arch::path_arg(name),
                usize::try_from(nr).ok().and_then(|i| table.get_mut(i)),
            ) {
                *f |= (idx + 1) << SC_PATH_SHIFT;
            }
        }
        for (nr, f) in table.iter().enumerate() {
            if *f != 0 {
                flags
                    .set(nr as u32, f, 0)
                    .map_err(|source| ProbeError::Map {
                        name: "SYSCALL_FLAGS",
                        source,
                    })?;
            }
        }
        Ok(())
    }

    fn traced(&mut self) -> Result<HashMap<&mut MapData, u32, u32>, ProbeError> {
        let map = self
            .ebpf
            .map_mut("TRACED")
            .ok_or(ProbeError::MissingMap("TRACED"))?;
        HashMap::try_from(map).map_err(|source| ProbeError::Map {
            name: "TRACED",
            source,
        })
    }

    /// Starts recording process `tgid` (all its threads) and, from now on, its new children.
    pub fn trace_pid(&mut self, tgid: u32) -> Result<(), ProbeError> {
        self.traced()?
            .insert(tgid, TRACED_LIVE, 0)
            .map_err(|source| ProbeError::Map {
                name: "TRACED",
                source,
            })
    }

    /// Stops following `tgid`.
    pub fn untrace(&mut self, tgid: u32) -> Result<(), ProbeError> {
        match self.traced()?.remove(&tgid) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(source) => Err(ProbeError::Map {
                name: "TRACED",
                source,
            }),
        }
    }

    /// Number of traced processes still alive (dying ones no longer count).
    pub fn traced_count(&mut self) -> Result<usize, ProbeError> {
        let traced = self.traced()?;
        Ok(traced
            .iter()
            .filter_map(Result::ok)
            .filter(|(_, v)| *v == TRACED_LIVE)
            .count())
    }

    /// Traced process ids, alive and dying.
    pub fn traced_pids(&mut self) -> Result<Vec<u32>, ProbeError> {
        Ok(self.traced()?.keys().filter_map(Result::ok).collect())
    }

    /// Removes processes that have been dying for at least `grace` (every thread's exit event
    /// has been written by then), so their pids cannot be reused by an unrelated process while
    /// still in the filter. `dying_since` remembers when each was first seen dying.
    pub fn prune_dying(
        &mut self,
        dying_since: &mut std::collections::HashMap<u32, std::time::Instant>,
        grace: std::time::Duration,
    ) -> Result<(), ProbeError> {
        let now = std::time::Instant::now();
        let mut traced = self.traced()?;
        let dying: Vec<u32> = traced
            .iter()
            .filter_map(Result::ok)
            .filter(|(_, v)| *v == TRACED_DYING)
            .map(|(k, _)| k)
            .collect();
        dying_since.retain(|k, _| dying.contains(k));
        for k in dying {
            let since = *dying_since.entry(k).or_insert(now);
            if now.duration_since(since) >= grace {
                let _ = traced.remove(&k);
                dying_since.remove(&k);
            }
        }
        Ok(())
    }

    /// Stops recording every process (used when the capture ends before they do).
    pub fn untrace_all(&mut self) -> Result<(), ProbeError> {
        let mut traced = self.traced()?;
        let keys: Vec<u32> = traced.keys().filter_map(Result::ok).collect();
        for k in keys {
            let _ = traced.remove(&k);
        }
        Ok(())
    }

    /// Takes the ring buffer for the drain thread.
    pub fn take_ring(&mut self) -> Result<RingBuf<MapData>, ProbeError> {
        let map = self
            .ebpf
            .take_map("EVENTS")
            .ok_or(ProbeError::MissingMap("EVENTS"))?;
        RingBuf::try_from(map).map_err(|source| ProbeError::Map {
            name: "EVENTS",
            source,
        })
    }

    /// Lost records: `[cpu][kind]` with kinds `LOST_SYSCALL`, `LOST_LIFECYCLE`.
    pub fn lost(&mut self) -> Result<Vec<[u64; LOST_KINDS as usize]>, ProbeError> {
        let map = self
            .ebpf
            .map_mut("LOST")
            .ok_or(ProbeError::MissingMap("LOST"))?;
        let lost: PerCpuArray<&mut MapData, u64> =
            PerCpuArray::try_from(map).map_err(|source| ProbeError::Map {
                name: "LOST",
                source,
            })?;
        let mut per_cpu: Vec<[u64; LOST_KINDS as usize]> = Vec::new();
        for kind in 0..LOST_KINDS {
            let values = lost.get(&kind, 0).map_err(|source| ProbeError::Map {
                name: "LOST",
                source,
            })?;
            for (cpu, v) in values.iter().enumerate() {
                if per_cpu.len() <= cpu {
                    per_cpu.push([0; LOST_KINDS as usize]);
                }
                per_cpu[cpu][kind as usize] = *v;
            }
        }
        Ok(per_cpu)
    }
}
