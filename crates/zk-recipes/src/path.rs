//! Znode paths: ZooKeeper's validation rules (checked before sending, as the Java client
//! does), the chroot of a connect string, and the joins and splits recipes need.

use crate::error::{Error, Result};

/// Checks `path` against ZooKeeper's rules: absolute, no empty, `.` or `..` component, no
/// trailing slash (allowed when `sequential`, since the server appends the counter), and no
/// control or non-character code points.
pub fn validate(path: &str, sequential: bool) -> Result<()> {
    let invalid = |reason| {
        Err(Error::InvalidPath {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return invalid("empty path");
    }
    if !path.starts_with('/') {
        return invalid("must start with /");
    }
    if path.len() == 1 {
        return if sequential {
            invalid("a sequential node needs a name or a parent")
        } else {
            Ok(())
        };
    }
    if path.ends_with('/') && !sequential {
        return invalid("must not end with /");
    }
    // A sequential name may end with '/': the server appends the counter there.
    let checked = if sequential {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    for component in checked[1..].split('/') {
        match component {
            "" => return invalid("empty node name"),
            "." | ".." => return invalid("relative component"),
            _ => {}
        }
    }
    if let Some(c) = path.chars().find(|&c| is_forbidden_char(c)) {
        return Err(Error::InvalidPath {
            path: path.to_owned(),
            reason: if c == '\0' {
                "null character"
            } else {
                "forbidden character"
            },
        });
    }
    Ok(())
}

/// The characters ZooKeeper's `PathUtils` refuses.
pub(crate) fn is_forbidden_char(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
}

/// A chroot from a connect string: every path the caller gives is under it on the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chroot {
    /// The prefix without a trailing slash; empty for no chroot.
    prefix: String,
}

impl Chroot {
    /// No chroot: paths go to the server as given.
    pub fn none() -> Self {
        Chroot::default()
    }

    /// A chroot at `prefix`, which must be a valid absolute path; `/` means none.
    pub fn new(prefix: &str) -> Result<Self> {
        validate(prefix, false)?;
        Ok(Chroot {
            prefix: if prefix == "/" {
                String::new()
            } else {
                prefix.to_owned()
            },
        })
    }

    /// The prefix, empty for none.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The server's path for a client path.
    pub fn to_server(&self, client_path: &str) -> String {
        if self.prefix.is_empty() {
            client_path.to_owned()
        } else if client_path == "/" {
            self.prefix.clone()
        } else {
            format!("{}{}", self.prefix, client_path)
        }
    }

    /// The client's path for a server path; a path outside the chroot is returned unchanged
    /// (the server never sends one for requests made under the chroot).
    pub fn to_client(&self, server_path: &str) -> String {
        if self.prefix.is_empty() {
            return server_path.to_owned();
        }
        match server_path.strip_prefix(&self.prefix) {
            Some("") => "/".to_owned(),
            Some(rest) if rest.starts_with('/') => rest.to_owned(),
            _ => server_path.to_owned(),
        }
    }
}

/// `parent` and `child` joined with one slash (`/` + `a` is `/a`, `/p` + `a` is `/p/a`).
pub fn join(parent: &str, child: &str) -> String {
    let child = child.trim_start_matches('/');
    if parent.ends_with('/') {
        format!("{parent}{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// The parent of an absolute path (`/a/b` → `/a`, `/a` → `/`); `None` for the root.
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(index) => Some(&path[..index]),
        None => None,
    }
}

/// The last component of a path (`/a/b` → `b`).
pub fn node_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Every proper ancestor of `path` from the top, without the root (`/a/b/c` → `/a`, `/a/b`).
pub fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(|(index, _)| index)
        .filter(|&index| index > 0)
        .map(move |index| &path[..index])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_paths() {
        for path in ["/", "/a", "/a/b", "/a.b/c", "/zookeeper/quota", "/ü"] {
            validate(path, false).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        validate("/locks/lock-", true).unwrap();
        validate("/locks/", true).unwrap();
    }

    #[test]
    fn invalid_paths() {
        for path in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/a/./b",
            "/a/..",
            "/a\0",
            "/a\u{1}",
            "/\u{fff5}",
        ] {
            assert!(validate(path, false).is_err(), "{path:?} should be refused");
        }
        assert!(validate("/", true).is_err());
    }

    #[test]
    fn chroot_maps_both_ways() {
        let chroot = Chroot::new("/app").unwrap();
        assert_eq!(chroot.to_server("/"), "/app");
        assert_eq!(chroot.to_server("/x/y"), "/app/x/y");
        assert_eq!(chroot.to_client("/app"), "/");
        assert_eq!(chroot.to_client("/app/x"), "/x");
        assert_eq!(chroot.to_client("/apple"), "/apple", "not under the chroot");
        let none = Chroot::new("/").unwrap();
        assert_eq!(none.to_server("/x"), "/x");
        assert!(Chroot::new("app").is_err());
    }

    #[test]
    fn joins_and_splits() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/p", "a"), "/p/a");
        assert_eq!(join("/p/", "/a"), "/p/a");
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(node_name("/a/b"), "b");
        assert_eq!(ancestors("/a/b/c").collect::<Vec<_>>(), ["/a", "/a/b"]);
        assert_eq!(ancestors("/a").count(), 0);
    }
}
