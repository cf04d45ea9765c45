//! A minimal reader of the kernel's BTF (`/sys/kernel/btf/vmlinux`): just enough to find the
//! byte offset of a struct member, so the eBPF programs can read `task_struct` and friends on
//! any kernel (format: Documentation/bpf/btf.rst).

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

#[derive(Clone, Debug)]
struct Member {
    name: u32,
    type_id: u32,
    bit_offset: u32,
}

#[derive(Clone, Debug)]
struct Type {
    name: u32,
    kind: u32,
    /// Members of a struct or union; empty otherwise.
    members: Vec<Member>,
    /// Referenced type of typedef/const/volatile/... (for resolving anonymous members).
    ref_type: u32,
}

/// Parsed kernel BTF: types and strings.
pub struct Btf {
    strings: Vec<u8>,
    /// Index 0 is the void type.
    types: Vec<Type>,
    structs_by_name: HashMap<String, Vec<u32>>,
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, BtfError> {
    data.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(BtfError::Malformed("truncated"))
}

impl Btf {
    /// Reads the running kernel's BTF.
    pub fn from_sys_fs() -> Result<Self, BtfError> {
        Self::from_file(Path::new("/sys/kernel/btf/vmlinux"))
    }

    /// Reads BTF from a file.
    pub fn from_file(path: &Path) -> Result<Self, BtfError> {
        let data = std::fs::read(path).map_err(|source| BtfError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&data)
    }

    /// Parses raw little-endian BTF.
    pub fn parse(data: &[u8]) -> Result<Self, BtfError> {
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
        let types_data = data
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or(BtfError::Malformed("type section out of bounds"))?;
        let strings = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or(BtfError::Malformed("string section out of bounds"))?
            .to_vec();
        let mut types = vec![Type {
            name: 0,
            kind: 0,
            members: Vec::new(),
            ref_type: 0,
        }];
        let mut at = 0;
        while at < types_data.len() {
            let name = u32_at(types_data, at)?;
            let info = u32_at(types_data, at + 4)?;
            let size_or_type = u32_at(types_data, at + 8)?;
            at += 12;
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let kflag = info >> 31 == 1;
            let mut members = Vec::new();
            match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => at += 4,
                KIND_ARRAY => at += 12,
                KIND_STRUCT | KIND_UNION => {
                    for i in 0..vlen {
                        let m = at + i * 12;
                        let offset = u32_at(types_data, m + 8)?;
                        members.push(Member {
                            name: u32_at(types_data, m)?,
                            type_id: u32_at(types_data, m + 4)?,
                            bit_offset: if kflag { offset & 0x00ff_ffff } else { offset },
                        });
                    }
                    at += vlen * 12;
                }
                KIND_ENUM | KIND_FUNC_PROTO => at += vlen * 8,
                KIND_DATASEC | KIND_ENUM64 => at += vlen * 12,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => {}
                _ => return Err(BtfError::Malformed("unknown type kind")),
            }
            types.push(Type {
                name,
                kind,
                members,
                ref_type: size_or_type,
            });
        }
        let mut btf = Self {
            strings,
            types,
            structs_by_name: HashMap::new(),
        };
        for (id, t) in btf.types.iter().enumerate() {
            if t.kind == KIND_STRUCT && t.name != 0 {
                let name = btf.name(t.name).to_string();
                btf.structs_by_name.entry(name).or_default().push(id as u32);
            }
        }
        Ok(btf)
    }

    fn name(&self, offset: u32) -> &str {
        let start = offset as usize;
        let Some(rest) = self.strings.get(start..) else {
            return "";
        };
        let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    /// Follows typedef/const/volatile/restrict/type-tag to the underlying type.
    fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            let Some(t) = self.types.get(id as usize) else {
                return id;
            };
            match t.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = t.ref_type
                }
                _ => return id,
            }
        }
        id
    }

    /// Bit offset of `member` in type `id`, looking through anonymous struct/union members.
    fn find_member(&self, id: u32, member: &str) -> Option<u32> {
        let t = self.types.get(self.resolve(id) as usize)?;
        for m in &t.members {
            if m.name == 0 {
                if let Some(inner) = self.find_member(m.type_id, member) {
                    return Some(m.bit_offset + inner);
                }
            } else if self.name(m.name) == member {
                return Some(m.bit_offset);
            }
        }
        None
    }

    /// Byte offset of `strukt.member` (members of anonymous inner structs and unions count as
    /// the struct's own, as in C).
    pub fn member_offset(&self, strukt: &str, member: &str) -> Result<u32, BtfError> {
        let ids = self
            .structs_by_name
            .get(strukt)
            .ok_or_else(|| BtfError::NoStruct(strukt.to_string()))?;
        // Prefer the definition that has members (forward declarations have none).
        for id in ids {
            if let Some(bits) = self.find_member(*id, member) {
                return Ok(bits / 8);
            }
        }
        Err(BtfError::NoMember {
            strukt: strukt.to_string(),
            member: member.to_string(),
        })
    }
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
        let btf = Btf::parse(&tiny_btf()).expect("tiny BTF parses");
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
    fn rejects_garbage() {
        assert!(Btf::parse(b"not btf at all, definitely").is_err());
    }

    #[test]
    fn reads_running_kernel_task_struct() {
        let Ok(btf) = Btf::from_sys_fs() else {
            panic!("this project needs a kernel with BTF at /sys/kernel/btf/vmlinux");
        };
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
    }
}
