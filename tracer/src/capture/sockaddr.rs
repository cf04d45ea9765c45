//! Socket addresses as the capture read them (the bytes of a `struct sockaddr_*` argument of
//! connect, bind, sendto, accept, accept4, recvfrom) turned into the `sock_family`,
//! `sock_addr` and `sock_port` columns.

use std::{
    borrow::Cow,
    fmt::Write as _,
    net::{Ipv4Addr, Ipv6Addr},
};

/// A decoded socket address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sock {
    /// `AF_INET`, `AF_INET6`, `AF_UNIX`, ..., or `AF_<n>`.
    pub family: Cow<'static, str>,
    /// The address (see `tracer_dataset::col::SOCK_ADDR`); `None` when the bytes are too short.
    pub addr: Option<String>,
    /// The port of an IP address.
    pub port: Option<i32>,
}

/// include/linux/socket.h.
const FAMILIES: &[(u16, &str)] = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (10, "AF_INET6"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
    (31, "AF_BLUETOOTH"),
    (38, "AF_ALG"),
    (40, "AF_VSOCK"),
    (44, "AF_XDP"),
];

/// The name of address family `family`.
pub fn family_name(family: u16) -> Cow<'static, str> {
    FAMILIES.iter().find(|(f, _)| *f == family).map_or_else(
        || Cow::Owned(format!("AF_{family}")),
        |(_, n)| Cow::Borrowed(*n),
    )
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Decodes the `bytes` of a socket address (as long as the program said it was, at most 128).
/// `None` when not even the family fits.
pub fn decode(bytes: &[u8]) -> Option<Sock> {
    let family = u16::from_ne_bytes(bytes.get(0..2)?.try_into().ok()?);
    let port = || {
        bytes
            .get(2..4)
            .map(|p| i32::from(u16::from_be_bytes([p[0], p[1]])))
    };
    let (addr, port) = match family {
        // sockaddr_un: the path up to its NUL; an abstract name (first byte NUL) is shown
        // with a leading '@', as ss and strace do, up to the given length.
        1 => {
            let path = &bytes[2..];
            let addr = match path.first() {
                None => String::new(),
                Some(0) => format!("@{}", String::from_utf8_lossy(&path[1..])),
                Some(_) => {
                    let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
                    String::from_utf8_lossy(&path[..end]).into_owned()
                }
            };
            (Some(addr), None)
        }
        // sockaddr_in: port and address in network order.
        2 => {
            let a: Option<[u8; 4]> = bytes.get(4..8).and_then(|a| a.try_into().ok());
            (a.map(|a| Ipv4Addr::from(a).to_string()), port())
        }
        // sockaddr_in6: port, flow info, address, scope id.
        10 => {
            let a: Option<[u8; 16]> = bytes.get(8..24).and_then(|a| a.try_into().ok());
            (a.map(|a| Ipv6Addr::from(a).to_string()), port())
        }
        _ => (Some(hex(&bytes[2..])), None),
    };
    Some(Sock {
        family: family_name(family),
        addr,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockaddr(family: u16, rest: &[u8]) -> Vec<u8> {
        let mut v = family.to_ne_bytes().to_vec();
        v.extend_from_slice(rest);
        v
    }

    #[test]
    fn decodes_the_common_families() {
        let inet = sockaddr(2, &[0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            decode(&inet),
            Some(Sock {
                family: "AF_INET".into(),
                addr: Some("127.0.0.1".into()),
                port: Some(8080),
            })
        );
        let mut six = sockaddr(10, &[0, 53, 0, 0, 0, 0]);
        six.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        six.extend_from_slice(&[0; 4]);
        let got = decode(&six).expect("decodes");
        assert_eq!(
            (got.family.as_ref(), got.addr.as_deref(), got.port),
            ("AF_INET6", Some("::1"), Some(53))
        );
        let unix = sockaddr(1, b"/run/x.sock\0junk");
        assert_eq!(
            decode(&unix).and_then(|s| s.addr).as_deref(),
            Some("/run/x.sock")
        );
        let abstract_name = sockaddr(1, b"\0bus");
        assert_eq!(
            decode(&abstract_name).and_then(|s| s.addr).as_deref(),
            Some("@bus")
        );
        let netlink = sockaddr(16, &[1, 2]);
        let got = decode(&netlink).expect("decodes");
        assert_eq!(
            (got.family.as_ref(), got.addr.as_deref()),
            ("AF_NETLINK", Some("0102"))
        );
        assert_eq!(
            decode(&sockaddr(99, &[])).map(|s| s.family),
            Some("AF_99".into())
        );
    }

    #[test]
    fn short_addresses_keep_what_they_have() {
        assert_eq!(decode(&[2]), None, "not even a family");
        let got = decode(&sockaddr(2, &[0, 80])).expect("family and port");
        assert_eq!((got.addr, got.port), (None, Some(80)));
    }
}
