//! Znode paths: Apache's validation rule (`PathUtils.validatePath`) and the string splits the
//! tree needs.
//!
//! Apache works on raw strings and validates only where it must; for example a delete or a
//! create looks up the parent of the *unvalidated* path first, so a bad path can fail with
//! `NoNode` before it fails with `BadArguments`. [`split_last_slash`] is that raw split;
//! [`ZnodePath`] is a path that passed validation.

use serde::{Deserialize, Serialize};
use std::fmt;
use zk_proto::ErrorCode;

/// A znode path that satisfies Apache's `PathUtils.validatePath`: absolute, no trailing
/// slash (except the root), no empty, `.` or `..` segment, no forbidden character.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ZnodePath(String);

impl ZnodePath {
    /// Validates `path`; an invalid path is `BadArguments`, as the server answers it.
    pub fn parse(path: &str) -> Result<Self, ErrorCode> {
        validate(path)?;
        Ok(ZnodePath(path.to_owned()))
    }

    /// The root, `/`.
    pub fn root() -> Self {
        ZnodePath("/".to_owned())
    }

    /// The path as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `/`.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The parent's path (`/` for a top-level znode), or `None` for the root.
    pub fn parent(&self) -> Option<&str> {
        if self.is_root() {
            return None;
        }
        let (parent, _) = split_last_slash(&self.0)?;
        Some(if parent.is_empty() { "/" } else { parent })
    }

    /// The last segment: the znode's name (empty for the root).
    pub fn name(&self) -> &str {
        split_last_slash(&self.0).map_or("", |(_, name)| name)
    }

    /// The segments below the root, in order (none for the root).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|segment| !segment.is_empty())
    }

    /// The path of the child `name` of this znode (`name` is not checked).
    pub fn child(&self, name: &str) -> String {
        join(&self.0, name)
    }
}

impl fmt::Display for ZnodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ZnodePath {
    type Error = InvalidPath;

    fn try_from(path: String) -> Result<Self, Self::Error> {
        match validate(&path) {
            Ok(()) => Ok(ZnodePath(path)),
            Err(_) => Err(InvalidPath(path)),
        }
    }
}

impl From<ZnodePath> for String {
    fn from(path: ZnodePath) -> String {
        path.0
    }
}

impl AsRef<str> for ZnodePath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A string that is not a valid znode path (the error of decoding a [`ZnodePath`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid znode path {0:?}")]
pub struct InvalidPath(pub String);

/// Apache's `PathUtils.validatePath`: `Err(BadArguments)` for an invalid path.
///
/// Java checks UTF-16 code units, so every character outside the Basic Multilingual Plane
/// (stored as a surrogate pair, `\ud800`..`\udfff`) is forbidden as well.
pub fn validate(path: &str) -> Result<(), ErrorCode> {
    if !path.starts_with('/') {
        return Err(ErrorCode::BadArguments);
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(ErrorCode::BadArguments);
    }
    path[1..].split('/').try_for_each(validate_name)
}

/// Whether `name` may be one segment of a path (the name of a znode other than the root):
/// not empty, not `.` or `..`, no `/` and no forbidden character.
pub fn validate_name(name: &str) -> Result<(), ErrorCode> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(ErrorCode::BadArguments);
    }
    if name.chars().any(|c| c == '/' || is_forbidden_char(c)) {
        return Err(ErrorCode::BadArguments);
    }
    Ok(())
}

/// Whether `c` may not appear in a znode path.
pub fn is_forbidden_char(c: char) -> bool {
    let code = u32::from(c);
    code == 0
        || (0x01..=0x1f).contains(&code)
        || (0x7f..=0x9f).contains(&code)
        || (0xd800..=0xf8ff).contains(&code)
        || (0xfff0..=0xffff).contains(&code)
        || code > 0xffff
}

/// Java's `path.substring(0, lastSlash)` and `path.substring(lastSlash + 1)`: the raw parent
/// (`""` for a top-level path, which Apache's tree maps to the root) and the last segment.
/// `None` when the string has no `/` at all.
pub fn split_last_slash(path: &str) -> Option<(&str, &str)> {
    let slash = path.rfind('/')?;
    Some((&path[..slash], &path[slash + 1..]))
}

/// `parent + "/" + name`, without doubling the root's slash.
pub fn join(parent: &str, name: &str) -> String {
    let mut path = String::with_capacity(parent.len() + 1 + name.len());
    if parent != "/" {
        path.push_str(parent);
    }
    path.push('/');
    path.push_str(name);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(path: &str) -> bool {
        validate(path).is_ok()
    }

    #[test]
    fn accepts_well_formed_paths() {
        for path in [
            "/", "/a", "/a/b", "/a.b", "/...", "/a..", "/.a", "/a/b.", "/ü", "/a b",
        ] {
            assert!(valid(path), "{path:?} should be valid");
        }
    }

    #[test]
    fn refuses_relative_empty_and_trailing_slash() {
        for path in [
            "", "a", "a/b", "/a/", "//", "//a", "/a//b", "/.", "/..", "/a/.", "/a/../b",
        ] {
            assert!(!valid(path), "{path:?} should be invalid");
        }
    }

    #[test]
    fn refuses_forbidden_characters() {
        for c in [
            '\u{0}', '\u{1}', '\u{1f}', '\u{7f}', '\u{9f}', '\u{e000}', '\u{f8ff}', '\u{fff0}',
            '\u{ffff}', '😀',
        ] {
            let path = format!("/a{c}b");
            assert_eq!(validate(&path), Err(ErrorCode::BadArguments), "{c:?}");
        }
        for c in ['\u{20}', '\u{7e}', '\u{a0}', '\u{f900}', '\u{ffef}'] {
            assert!(valid(&format!("/a{c}b")), "{c:?}");
        }
    }

    #[test]
    fn splits_like_java_substring() {
        assert_eq!(split_last_slash("/a"), Some(("", "a")));
        assert_eq!(split_last_slash("/a/b"), Some(("/a", "b")));
        assert_eq!(split_last_slash("/a/"), Some(("/a", "")));
        assert_eq!(split_last_slash("/"), Some(("", "")));
        assert_eq!(split_last_slash("abc"), None);
    }

    #[test]
    fn znode_path_knows_parent_and_name() {
        let path = ZnodePath::parse("/a/b").unwrap();
        assert_eq!(path.parent(), Some("/a"));
        assert_eq!(path.name(), "b");
        assert_eq!(path.segments().collect::<Vec<_>>(), ["a", "b"]);
        let top = ZnodePath::parse("/a").unwrap();
        assert_eq!(top.parent(), Some("/"));
        assert_eq!(top.child("c"), "/a/c");
        let root = ZnodePath::root();
        assert_eq!(root.parent(), None);
        assert_eq!(root.name(), "");
        assert_eq!(root.child("c"), "/c");
        assert_eq!(ZnodePath::parse("/a/"), Err(ErrorCode::BadArguments));
    }

    #[test]
    fn decoding_validates() {
        let bytes = postcard::to_allocvec(&"/a/".to_string()).unwrap();
        assert!(postcard::from_bytes::<ZnodePath>(&bytes).is_err());
        let bytes = postcard::to_allocvec(&ZnodePath::parse("/a").unwrap()).unwrap();
        assert_eq!(
            postcard::from_bytes::<ZnodePath>(&bytes).unwrap().as_str(),
            "/a"
        );
    }
}
