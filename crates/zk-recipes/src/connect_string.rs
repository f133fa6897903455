//! The connect string: `host:port[,host:port...][/chroot]`, as every ZooKeeper client takes
//! it. A host without a port gets 2181; IPv6 literals are written in brackets.

use crate::error::{Error, Result};
use crate::path::Chroot;
use std::fmt;

/// The client port ZooKeeper listens on unless told otherwise.
pub const DEFAULT_CLIENT_PORT: u16 = 2181;

/// One server address from a connect string, resolved when connecting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostAddr {
    /// A host name or an IP literal (without brackets).
    pub host: String,
    /// The client port.
    pub port: u16,
}

impl fmt::Display for HostAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A parsed connect string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    /// The servers, in the order written (the client shuffles its own copy).
    pub hosts: Vec<HostAddr>,
    /// Where the client's `/` is on the servers.
    pub chroot: Chroot,
}

impl ConnectString {
    /// Parses `text`; at least one host is required.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |why: &str| Error::InvalidArgument(format!("connect string {text:?}: {why}"));
        let (hosts_part, chroot) = match text.find('/') {
            Some(index) => (&text[..index], Chroot::new(&text[index..])?),
            None => (text, Chroot::none()),
        };
        let mut hosts = Vec::new();
        for entry in hosts_part.split(',').map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            hosts.push(parse_host(entry).ok_or_else(|| invalid("bad host:port"))?);
        }
        if hosts.is_empty() {
            return Err(invalid("no host"));
        }
        Ok(ConnectString { hosts, chroot })
    }
}

fn parse_host(entry: &str) -> Option<HostAddr> {
    let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (entry, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(port) => port.parse::<u16>().ok().filter(|&p| p != 0)?,
        None => DEFAULT_CLIENT_PORT,
    };
    Some(HostAddr {
        host: host.to_owned(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(host: &str, port: u16) -> HostAddr {
        HostAddr {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn hosts_ports_and_chroot() {
        let parsed = ConnectString::parse("a:1,b:2,c/app/x").unwrap();
        assert_eq!(
            parsed.hosts,
            [host("a", 1), host("b", 2), host("c", DEFAULT_CLIENT_PORT)]
        );
        assert_eq!(parsed.chroot.prefix(), "/app/x");
    }

    #[test]
    fn ipv6_literals() {
        let parsed = ConnectString::parse("[::1]:2182,[fe80::1]").unwrap();
        assert_eq!(parsed.hosts, [host("::1", 2182), host("fe80::1", 2181)]);
        assert_eq!(parsed.hosts[0].to_string(), "[::1]:2182");
    }

    #[test]
    fn bad_strings() {
        for text in ["", "/app", "a:x", "a:0", ":1", "a:1/b/", "[::1"] {
            assert!(ConnectString::parse(text).is_err(), "{text:?}");
        }
        let root = ConnectString::parse("a:1/").unwrap();
        assert_eq!(root.chroot.prefix(), "", "a chroot of / is none");
    }
}
