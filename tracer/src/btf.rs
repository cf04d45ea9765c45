//! A minimal reader of the kernel's BTF (`/sys/kernel/btf/vmlinux`), read once and in place:
//! just enough to find the byte offset of a struct member, so the eBPF programs can read
//! `task_struct` and friends on any kernel, and the type ids the tracepoint programs attach to
//! (format: Documentation/bpf/btf.rst).

use std::{collections::HashMap, path::Path};

/// Errors while reading BTF.
#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    /// The BTF file could not be read.
    #[error("cannot read kernel BTF at {path} (the kernel needs CONFIG_DEBUG_INFO_BTF=y)")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The data is not BTF or is truncated.
    #[error("malformed BTF: {0}")]
    Malformed(&'static str),
    /// The struct is not in the kernel's BTF.
    #[error("kernel BTF has no struct {0}")]
    NoStruct(String),
    /// The typedef is not in the kernel's BTF (for `btf_trace_<tracepoint>`: no such
    /// tracepoint).
    #[error("kernel BTF has no typedef {0}")]
    NoTypedef(String),
    /// The struct has no such member.
    #[error("kernel struct {strukt} has no member {member}")]
    NoMember {
        /// The struct.
        strukt: String,
        /// The member.
        member: String,
    },
}

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// The raw BTF of the running kernel, read once: mapped read-only where the kernel allows it
/// (Linux 6.16+ can mmap `/sys/kernel/btf/vmlinux`), otherwise read whole. A plain `read` of
/// that sysfs file returns at most a page per call: ~1,350 calls for 5.5 MB, each time.
pub struct BtfBytes {
    data: BtfData,
}

enum BtfData {
    /// A private read-only mapping of the file.
    Mapped { ptr: *mut libc::c_void, len: usize },
    /// The file's bytes, read in one go.
    Read(Vec<u8>),
}

// SAFETY: the mapping is read-only and owned by this value alone; it is only unmapped on drop.
unsafe impl Send for BtfBytes {}
// SAFETY: as above: shared access is read-only.
unsafe impl Sync for BtfBytes {}

impl BtfBytes {
    /// The running kernel's BTF.
    pub fn from_sys_fs() -> Result<Self, BtfError> {
        Self::from_file(Path::new(VMLINUX_BTF))
    }

    /// The BTF in `path`: mapped if the file system supports it, else read.
    pub fn from_file(path: &Path) -> Result<Self, BtfError> {
        let read_err = |source| BtfError::Read {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_err)?;
        let len = file.metadata().map_err(read_err)?.len() as usize;
        if len > 0 {
            // SAFETY: a fresh private read-only mapping of an open file; checked for failure.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_POPULATE,
                    std::os::fd::AsRawFd::as_raw_fd(&file),
                    0,
                )
            };
            if ptr != libc::MAP_FAILED {
                return Ok(Self {
                    data: BtfData::Mapped { ptr, len },
                });
            }
        }
        // Kernels before 6.16 cannot map the file: one buffer of its size, filled in page-sized
        // reads by the kernel.
        let mut data = Vec::with_capacity(len);
        std::io::Read::read_to_end(&mut &file, &mut data).map_err(read_err)?;
        Ok(Self {
            data: BtfData::Read(data),
        })
    }
}

impl std::ops::Deref for BtfBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.data {
            // SAFETY: the mapping is `len` readable bytes and lives as long as `self`.
            BtfData::Mapped { ptr, len } => unsafe {
                std::slice::from_raw_parts(ptr.cast::<u8>(), *len)
            },
            BtfData::Read(v) => v,
        }
    }
}

impl Drop for BtfBytes {
    fn drop(&mut self) {
        if let BtfData::Mapped { ptr, len } = self.data {
            // SAFETY: unmapping our own mapping once; no borrow of it outlives `self`.
            unsafe { libc::munmap(ptr, len) };
        }
    }
}

/// Where the running kernel exposes its BTF.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Bytes of a type record's common header (`struct btf_type`).
const TYPE_HEADER: usize = 12;

/// A view of raw BTF: the type records are indexed once (their start offsets, and the structs
/// and typedefs of the names asked for), and a struct's members are read from the bytes only
/// when asked for, so opening the kernel's ~150,000 types copies nothing and allocates little.
pub struct Btf<'a> {
    strings: &'a [u8],
    types: &'a [u8],
    /// Offset in `types` of each type id's record; id 0 (void) has none and is not stored.
    starts: Vec<u32>,
    /// The structs and typedefs of the names asked for: kind, name, id, in id order.
    named: Vec<(u32, &'a [u8], u32)>,
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, BtfError> {
    // A match, not `ok_or`: this runs twice per type of the kernel's ~150k, and `ok_or`'s
    // error was built and dropped each time (a few percent of start-up in a profile).
    match data.get(at..at + 4) {
        Some(b) => Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(BtfError::Malformed("truncated")),
    }
}

/// One struct or union member.
struct Member {
    name: u32,
    type_id: u32,
    bit_offset: u32,
}

impl<'a> Btf<'a> {
    /// Indexes raw little-endian BTF, remembering the structs and typedefs called one of
    /// `names` (what `member_offset` and `typedef_id` can then find).
    pub fn parse(data: &'a [u8], names: &[&str]) -> Result<Self, BtfError> {
        if data.len() < 24 || data[0..2] != [0x9f, 0xeb] {
            return Err(BtfError::Malformed(
                "bad magic (big-endian BTF is not supported)",
            ));
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let type_off = u32_at(data, 8)? as usize;
        let type_len = u32_at(data, 12)? as usize;
        let str_off = u32_at(data, 16)? as usize;
        let str_len = u32_at(data, 20)? as usize;
        let types = data
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or(BtfError::Malformed("type section out of bounds"))?;
        let strings = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or(BtfError::Malformed("string section out of bounds"))?;
        // The kernel's BTF averages ~20 bytes a type.
        let mut starts = Vec::with_capacity(types.len() / 16);
        let mut named = Vec::new();
        let mut at = 0;
        while at < types.len() {
            let name = u32_at(types, at)?;
            let info = u32_at(types, at + 4)?;
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let extra = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => vlen * 12,
                KIND_ENUM | KIND_FUNC_PROTO => vlen * 8,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                _ => return Err(BtfError::Malformed("unknown type kind")),
            };
            starts.push(at as u32);
            if matches!(kind, KIND_STRUCT | KIND_TYPEDEF)
                && name != 0
                && let Some(rest) = strings.get(name as usize..)
                && let Some(wanted) = names.iter().find(|n| {
                    // The first byte before the compare: most names differ there.
                    rest.first() == n.as_bytes().first()
                        && rest.starts_with(n.as_bytes())
                        && rest.get(n.len()) == Some(&0)
                })
            {
                named.push((kind, &rest[..wanted.len()], starts.len() as u32));
            }
            at += TYPE_HEADER + extra;
        }
        if at != types.len() {
            return Err(BtfError::Malformed("truncated"));
        }
        Ok(Self {
            strings,
            types,
            starts,
            named,
        })
    }

    /// Ids of the types of `kind` called `name` (among the names given to `parse`).
    fn ids<'s>(&'s self, kind: u32, name: &'s str) -> impl Iterator<Item = u32> + 's {
        self.named
            .iter()
            .filter(move |(k, n, _)| *k == kind && *n == name.as_bytes())
            .map(|(_, _, id)| *id)
    }

    /// The string at `offset`, without its NUL.
    fn name_bytes(&self, offset: u32) -> &'a [u8] {
        let Some(rest) = self.strings.get(offset as usize..) else {
            return b"";
        };
        let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        &rest[..end]
    }

    /// Name offset, kind, vlen, kind_flag and size-or-type of type `id`, or `None` for void and
    /// ids past the table.
    fn header(&self, id: u32) -> Option<(u32, u32, usize, bool, u32)> {
        let at = *self.starts.get(usize::try_from(id).ok()?.checked_sub(1)?)? as usize;
        let word = |i: usize| u32_at(self.types, at + 4 * i).ok();
        let info = word(1)?;
        Some((
            word(0)?,
            (info >> 24) & 0x1f,
            (info & 0xffff) as usize,
            info >> 31 == 1,
            word(2)?,
        ))
    }

    /// Members of struct or union `id` (none for other kinds).
    fn members(&self, id: u32) -> impl Iterator<Item = Member> + '_ {
        let (vlen, kflag, at) = match self.header(id) {
            Some((_, KIND_STRUCT | KIND_UNION, vlen, kflag, _)) => (
                vlen,
                kflag,
                self.starts[id as usize - 1] as usize + TYPE_HEADER,
            ),
            _ => (0, false, 0),
        };
        (0..vlen).filter_map(move |i| {
            let m = at + i * 12;
            let offset = u32_at(self.types, m + 8).ok()?;
            Some(Member {
                name: u32_at(self.types, m).ok()?,
                type_id: u32_at(self.types, m + 4).ok()?,
                bit_offset: if kflag { offset & 0x00ff_ffff } else { offset },
            })
        })
    }

    /// Follows typedef/const/volatile/restrict/type-tag to the underlying type.
    fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.header(id) {
                Some((
                    _,
                    KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG,
                    _,
                    _,
                    ref_type,
                )) => id = ref_type,
                _ => return id,
            }
        }
        id
    }

    /// Bit offset of `member` in type `id`, looking through anonymous struct/union members.
    fn find_member(&self, id: u32, member: &[u8], depth: u32) -> Option<u32> {
        if depth > 32 {
            return None;
        }
        for m in self.members(self.resolve(id)) {
            if m.name == 0 {
                if let Some(inner) = self.find_member(m.type_id, member, depth + 1) {
                    return Some(m.bit_offset + inner);
                }
            } else if self.name_bytes(m.name) == member {
                return Some(m.bit_offset);
            }
        }
        None
    }

    /// Id of the typedef named `name` (the first, as aya's lookup finds it); `name` must be
    /// one of those given to `parse`.
    pub fn typedef_id(&self, name: &str) -> Option<u32> {
        self.ids(KIND_TYPEDEF, name).next()
    }

    /// Byte offset of `strukt.member` (members of anonymous inner structs and unions count as
    /// the struct's own, as in C); `strukt` must be one of the names given to `parse`.
    pub fn member_offset(&self, strukt: &str, member: &str) -> Result<u32, BtfError> {
        let mut found = false;
        // Prefer the definition that has members (forward declarations have none).
        for id in self.ids(KIND_STRUCT, strukt) {
            found = true;
            if let Some(bits) = self.find_member(id, member.as_bytes(), 0) {
                return Ok(bits / 8);
            }
        }
        Err(if found {
            BtfError::NoMember {
                strukt: strukt.to_string(),
                member: member.to_string(),
            }
        } else {
            BtfError::NoStruct(strukt.to_string())
        })
    }
}

/// Raw BTF in which each `(name, id)` of `typedefs` is a typedef of that name at that type id,
/// every other id up to the largest a nameless pointer to void: the kernel's BTF reduced to
/// what a BTF tracepoint program's load looks up in it (the id of `btf_trace_<tracepoint>`,
/// which the kernel then checks against its own BTF). Parsing this costs a pass over 12-byte
/// records instead of aya's full parse of ~150,000 kernel types (strings, members, params).
pub fn typedefs_only(typedefs: &[(&str, u32)]) -> Vec<u8> {
    let max_id = typedefs.iter().map(|(_, id)| *id).max().unwrap_or(0) as usize;
    let mut strings = vec![0u8];
    let mut named = HashMap::new();
    for (name, id) in typedefs {
        named.insert(*id, strings.len() as u32);
        strings.extend_from_slice(name.as_bytes());
        strings.push(0);
    }
    let type_len = max_id * TYPE_HEADER;
    let mut out = Vec::with_capacity(24 + type_len + strings.len());
    let header = [
        0xeb9f_u16 as u32 | (1 << 16), // magic, version 1, flags 0
        24,                            // hdr_len
        0,                             // type_off
        type_len as u32,
        type_len as u32, // str_off
        strings.len() as u32,
    ];
    for w in header {
        out.extend_from_slice(&w.to_le_bytes());
    }
    for id in 1..=max_id as u32 {
        let (name, kind) = match named.get(&id) {
            Some(name) => (*name, KIND_TYPEDEF),
            None => (0, KIND_PTR),
        };
        for w in [name, kind << 24, 0] {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    out.extend_from_slice(&strings);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a tiny BTF blob: `struct outer { int a; union { int b; int c; }; }` with `int`.
    fn tiny_btf() -> Vec<u8> {
        let strings = b"\0int\0outer\0a\0b\0c\0".to_vec();
        let (int_name, outer_name, a, b, c) = (1u32, 5u32, 11u32, 13u32, 15u32);
        let mut types = Vec::new();
        let mut push = |words: &[u32]| {
            for w in words {
                types.extend_from_slice(&w.to_le_bytes());
            }
        };
        // id 1: int, size 4, encoding word.
        push(&[int_name, KIND_INT << 24, 4, 32]);
        // id 2: anonymous union { int b @0; int c @0; }
        push(&[0, (KIND_UNION << 24) | 2, 4, b, 1, 0, c, 1, 0]);
        // id 3: struct outer { int a @0; union @32 }
        push(&[outer_name, (KIND_STRUCT << 24) | 2, 8, a, 1, 0, 0, 2, 32]);
        let mut out = vec![0x9f, 0xeb, 1, 0];
        for w in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            strings.len() as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&types);
        out.extend_from_slice(&strings);
        out
    }

    #[test]
    fn finds_direct_and_anonymous_members() {
        let data = tiny_btf();
        let btf = Btf::parse(&data, &["outer", "nope"]).expect("tiny BTF parses");
        assert_eq!(btf.member_offset("outer", "a").expect("a"), 0);
        assert_eq!(btf.member_offset("outer", "c").expect("c"), 4);
        assert!(matches!(
            btf.member_offset("outer", "zz"),
            Err(BtfError::NoMember { .. })
        ));
        assert!(matches!(
            btf.member_offset("nope", "a"),
            Err(BtfError::NoStruct(_))
        ));
    }

    #[test]
    fn typedefs_only_puts_each_name_at_its_id() {
        let data = typedefs_only(&[("btf_trace_a", 3), ("btf_trace_b", 7)]);
        let btf = Btf::parse(&data, &["btf_trace_a", "btf_trace_b", "btf_trace_c"])
            .expect("the reduced BTF parses");
        assert_eq!(btf.typedef_id("btf_trace_a"), Some(3), "a at 3");
        assert_eq!(btf.typedef_id("btf_trace_b"), Some(7), "b at 7");
        assert_eq!(btf.typedef_id("btf_trace_c"), None, "nothing else");
        let aya = aya::Btf::parse(&data, aya::Endianness::default()).expect("aya parses it");
        assert_eq!(
            aya.id_by_type_name_kind("btf_trace_b", aya_obj::btf::BtfKind::Typedef)
                .expect("aya finds b"),
            7,
            "aya's lookup gives the same id"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(Btf::parse(b"not btf at all, definitely", &[]).is_err());
    }

    #[test]
    fn reads_running_kernel_task_struct() {
        let Ok(bytes) = BtfBytes::from_sys_fs() else {
            panic!("this project needs a kernel with BTF at /sys/kernel/btf/vmlinux");
        };
        let names = [
            "task_struct",
            "mm_struct",
            "btf_trace_sys_exit",
            "btf_trace_sched_process_exit",
        ];
        let btf = Btf::parse(&bytes, &names).expect("the kernel's BTF parses");
        let pid = btf
            .member_offset("task_struct", "pid")
            .expect("task_struct.pid");
        let tgid = btf
            .member_offset("task_struct", "tgid")
            .expect("task_struct.tgid");
        assert_eq!(tgid, pid + 4, "pid and tgid are adjacent pid_t fields");
        let start = btf
            .member_offset("mm_struct", "arg_start")
            .expect("mm_struct.arg_start");
        let end = btf
            .member_offset("mm_struct", "arg_end")
            .expect("mm_struct.arg_end");
        assert_eq!(end, start + 8);
        let full = aya::Btf::parse(&bytes, aya::Endianness::default()).expect("aya parses it");
        for name in ["btf_trace_sys_exit", "btf_trace_sched_process_exit"] {
            let id = btf.typedef_id(name).expect("the tracepoint's typedef");
            assert_eq!(
                full.id_by_type_name_kind(name, aya_obj::btf::BtfKind::Typedef)
                    .expect("aya finds it"),
                id,
                "{name}: same id as aya's lookup in the full BTF"
            );
        }
    }
}
