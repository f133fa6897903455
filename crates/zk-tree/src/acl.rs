//! Access control: who a session is ([`AuthContext`]), the authentication schemes Apache
//! ships (`world`, `auth`, `digest`, `ip`, `super`), checking a permission against an ACL,
//! and validating/expanding the ACL of a create or setACL (Apache's `fixupACL`).

use base64::Engine;
use zk_proto::{Acl, ErrorCode, Id, Perms, SessionId};

/// The scheme whose single id `anyone` matches every session.
pub const SCHEME_WORLD: &str = "world";
/// The pseudo-scheme of an ACL entry that stands for "the ids I am authenticated as".
pub const SCHEME_AUTH: &str = "auth";
/// Username and password: the id is `user:base64(sha1("user:password"))`.
pub const SCHEME_DIGEST: &str = "digest";
/// The client's IPv4 address, with an optional `/bits` mask in ACLs.
pub const SCHEME_IP: &str = "ip";
/// The id a superuser session carries: it passes every ACL check.
pub const SCHEME_SUPER: &str = "super";

/// Who is asking: the session and every id it has authenticated as (the server adds
/// `ip:<address>` at connect and `digest:...` on addauth). A session is a superuser when
/// it holds an id of scheme `super`, or the digest id configured as the super digest.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct AuthContext {
    pub session_id: SessionId,
    pub ids: Vec<Id>,
}

impl AuthContext {
    /// A session authenticated as `ids`.
    pub fn new(session_id: SessionId, ids: Vec<Id>) -> Self {
        AuthContext { session_id, ids }
    }

    /// Whether the session bypasses ACL checks: it holds a `super` id, or the digest id
    /// equal to `super_digest` (`"user:base64(sha1)"`, Apache's
    /// `zookeeper.DigestAuthenticationProvider.superDigest`).
    pub fn is_super(&self, super_digest: Option<&str>) -> bool {
        self.ids.iter().any(|id| {
            id.scheme == SCHEME_SUPER
                || (id.scheme == SCHEME_DIGEST && Some(id.id.as_str()) == super_digest)
        })
    }
}

/// The digest id for an `addauth digest user:password`: `user:base64(sha1("user:password"))`
/// (Apache's `DigestAuthenticationProvider.generateDigest`). The user is everything before
/// the first `:`.
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = sha1_smol::Sha1::from(user_password.as_bytes())
        .digest()
        .bytes();
    let encoded = base64::engine::general_purpose::STANDARD.encode(hash);
    format!("{user}:{encoded}")
}

/// Apache's `ZooKeeperServer.checkACL`: `Ok` when some entry grants any bit of `perm` to one
/// of the session's ids. An empty ACL grants everything; a superuser passes every check.
pub fn check(
    acl: &[Acl],
    perm: Perms,
    auth: &AuthContext,
    super_digest: Option<&str>,
) -> Result<(), ErrorCode> {
    if acl.is_empty() || auth.is_super(super_digest) {
        return Ok(());
    }
    for entry in acl {
        if entry.perms.0 & perm.0 == 0 {
            continue;
        }
        if entry.id.scheme == SCHEME_WORLD && entry.id.id == "anyone" {
            return Ok(());
        }
        let Some(scheme) = Scheme::named(&entry.id.scheme) else {
            continue;
        };
        let granted = auth
            .ids
            .iter()
            .any(|id| id.scheme == entry.id.scheme && scheme.matches(&id.id, &entry.id.id));
        if granted {
            return Ok(());
        }
    }
    Err(ErrorCode::NoAuth)
}

/// Apache's `PrepRequestProcessor.fixupACL`: drops duplicate entries, refuses an empty list,
/// expands `auth` entries into the session's authenticated ids, and refuses ids that their
/// scheme does not accept. Every failure is `InvalidAcl`.
pub fn fixup(acl: &[Acl], auth: &AuthContext) -> Result<Vec<Acl>, ErrorCode> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for entry in acl {
        if !unique.contains(&entry) {
            unique.push(entry);
        }
    }
    if unique.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut fixed = Vec::with_capacity(unique.len());
    for entry in unique {
        let id = &entry.id;
        if id.scheme == SCHEME_WORLD && id.id == "anyone" {
            fixed.push(entry.clone());
        } else if id.scheme == SCHEME_AUTH {
            let before = fixed.len();
            for own in &auth.ids {
                if Scheme::named(&own.scheme).is_some_and(Scheme::is_authenticated) {
                    fixed.push(Acl {
                        perms: entry.perms,
                        id: own.clone(),
                    });
                }
            }
            if fixed.len() == before {
                return Err(ErrorCode::InvalidAcl);
            }
        } else {
            match Scheme::named(&id.scheme) {
                Some(scheme) if scheme.is_valid(&id.id) => fixed.push(entry.clone()),
                _ => return Err(ErrorCode::InvalidAcl),
            }
        }
    }
    Ok(fixed)
}

/// What getACL shows a session without ADMIN permission: digest ids with the hash replaced
/// by `x` (Apache's `id.replaceAll(":.*", ":x")`).
pub fn mask_digests(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|entry| {
            if entry.id.scheme != SCHEME_DIGEST {
                return entry.clone();
            }
            Acl {
                perms: entry.perms,
                id: Id {
                    scheme: entry.id.scheme.clone(),
                    id: replace_colon_tails(&entry.id.id),
                },
            }
        })
        .collect()
}

/// Java's `s.replaceAll(":.*", ":x")`: each `:` and the rest of its line become `:x` (`.`
/// stops at Java's line terminators).
fn replace_colon_tails(s: &str) -> String {
    let is_line_end = |c: char| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
    let mut out = String::with_capacity(s.len());
    let mut skipping = false;
    for c in s.chars() {
        if skipping && !is_line_end(c) {
            continue;
        }
        skipping = false;
        if c == ':' {
            out.push_str(":x");
            skipping = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// The authentication providers Apache registers by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Digest,
    Ip,
}

impl Scheme {
    fn named(scheme: &str) -> Option<Self> {
        match scheme {
            SCHEME_DIGEST => Some(Scheme::Digest),
            SCHEME_IP => Some(Scheme::Ip),
            _ => None,
        }
    }

    /// Whether ids of this scheme prove who the user is, so that `auth` ACLs expand to them.
    fn is_authenticated(self) -> bool {
        self == Scheme::Digest
    }

    /// Whether `id` is well formed for an ACL entry.
    fn is_valid(self, id: &str) -> bool {
        match self {
            // Java's id.split(":").length == 2, where split drops trailing empty strings.
            Scheme::Digest => java_split_len(id, ':') == 2,
            Scheme::Ip => parse_ip_expression(id).is_some(),
        }
    }

    /// Whether the session id `id` matches the ACL id `acl_id`.
    fn matches(self, id: &str, acl_id: &str) -> bool {
        match self {
            Scheme::Digest => id == acl_id,
            Scheme::Ip => ip_matches(id, acl_id),
        }
    }
}

/// The length of Java's `s.split(sep)`: trailing empty strings are removed, but an empty
/// input still gives one (empty) element.
fn java_split_len(s: &str, separator: char) -> usize {
    if s.is_empty() {
        return 1;
    }
    let parts: Vec<&str> = s.split(separator).collect();
    parts.len()
        - parts
            .iter()
            .rev()
            .take_while(|part| part.is_empty())
            .count()
}

/// Java's `Integer.parseInt` for the decimal numbers of an address: optional sign, ASCII
/// digits.
fn parse_java_int(s: &str) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// An IPv4 address in dotted decimal (Apache has no IPv6 support here).
fn parse_ipv4(addr: &str) -> Option<[u8; 4]> {
    let mut bytes = [0u8; 4];
    let mut parts = addr.split('.');
    for byte in &mut bytes {
        let value = parse_java_int(parts.next()?)?;
        *byte = u8::try_from(value).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(bytes)
}

/// An ACL ip expression `a.b.c.d[/bits]`: the address and the mask length.
fn parse_ip_expression(expression: &str) -> Option<([u8; 4], u32)> {
    let (addr, bits) = match expression.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits)),
        None => (expression, None),
    };
    let addr = parse_ipv4(addr)?;
    let bits = match bits {
        None => 32,
        Some(bits) => u32::try_from(parse_java_int(bits)?)
            .ok()
            .filter(|bits| *bits <= 32)?,
    };
    Some((addr, bits))
}

/// Keeps the first `bits` bits of the address.
fn mask(addr: [u8; 4], bits: u32) -> u32 {
    let value = u32::from_be_bytes(addr);
    if bits == 0 {
        0
    } else {
        value & (u32::MAX << (32 - bits))
    }
}

/// Apache's `IPAuthenticationProvider.matches`.
fn ip_matches(id: &str, acl_expression: &str) -> bool {
    let Some((acl_addr, bits)) = parse_ip_expression(acl_expression) else {
        return false;
    };
    let Some(addr) = parse_ipv4(id) else {
        return false;
    };
    mask(acl_addr, bits) == mask(addr, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    fn acl(perms: Perms, scheme: &str, name: &str) -> Acl {
        Acl {
            perms,
            id: id(scheme, name),
        }
    }

    fn session(ids: &[Id]) -> AuthContext {
        AuthContext::new(SessionId(1), ids.to_vec())
    }

    #[test]
    fn digest_id_matches_apache() {
        // From Apache's documentation and DigestAuthenticationProviderTest.
        assert_eq!(
            digest_id("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
        assert_eq!(digest_id("nouser"), "nouser:/VOdnd9F357nyOV6c/1qBFn7N6o=");
        assert_eq!(
            digest_id("a:b:c"),
            format!("a:{}", &digest_id("a:b:c")[2..])
        );
    }

    #[test]
    fn world_anyone_grants_the_listed_bits_only() {
        let list = [acl(Perms::READ, "world", "anyone")];
        let nobody = session(&[]);
        assert_eq!(check(&list, Perms::READ, &nobody, None), Ok(()));
        assert_eq!(
            check(&list, Perms::WRITE, &nobody, None),
            Err(ErrorCode::NoAuth)
        );
        // Any one bit of the requested set is enough (getACL asks for READ|ADMIN).
        assert_eq!(
            check(&list, Perms::READ | Perms::ADMIN, &nobody, None),
            Ok(())
        );
        assert_eq!(check(&[], Perms::ADMIN, &nobody, None), Ok(()));
    }

    #[test]
    fn digest_ids_match_exactly_and_super_passes() {
        let bob = digest_id("bob:pw");
        let list = [acl(Perms::ALL, "digest", &bob)];
        assert_eq!(
            check(&list, Perms::READ, &session(&[id("digest", &bob)]), None),
            Ok(())
        );
        assert_eq!(
            check(
                &list,
                Perms::READ,
                &session(&[id("digest", &digest_id("bob:other"))]),
                None
            ),
            Err(ErrorCode::NoAuth)
        );
        assert_eq!(
            check(&list, Perms::READ, &session(&[id("super", "")]), None),
            Ok(())
        );
        let root = digest_id("root:secret");
        assert_eq!(
            check(
                &list,
                Perms::READ,
                &session(&[id("digest", &root)]),
                Some(&root)
            ),
            Ok(())
        );
        assert_eq!(
            check(&list, Perms::READ, &session(&[id("digest", &root)]), None),
            Err(ErrorCode::NoAuth)
        );
    }

    #[test]
    fn ip_masks_compare_prefixes() {
        assert!(ip_matches("10.1.2.3", "10.1.2.3"));
        assert!(ip_matches("10.1.2.3", "10.0.0.0/8"));
        assert!(ip_matches("10.1.2.3", "10.1.0.0/22"));
        assert!(!ip_matches("10.1.2.3", "10.1.0.0/23"));
        assert!(ip_matches("192.168.9.9", "0.0.0.0/0"));
        assert!(!ip_matches("10.1.2.3", "10.1.2.4"));
        assert!(!ip_matches("::1", "10.0.0.0/8"));
        assert!(!ip_matches("10.1.2.3", "10.0.0.0/33"));
        let list = [acl(Perms::READ, "ip", "127.0.0.0/8")];
        assert_eq!(
            check(&list, Perms::READ, &session(&[id("ip", "127.0.0.1")]), None),
            Ok(())
        );
        assert_eq!(
            check(&list, Perms::READ, &session(&[id("ip", "10.0.0.1")]), None),
            Err(ErrorCode::NoAuth)
        );
    }

    #[test]
    fn ip_expressions_are_validated_like_apache() {
        let valid = |s| Scheme::Ip.is_valid(s);
        assert!(valid("1.2.3.4"));
        assert!(valid("1.2.3.4/0"));
        assert!(valid("1.2.3.4/32"));
        assert!(valid("+1.2.3.4"));
        assert!(!valid("1.2.3.4/33"));
        assert!(!valid("1.2.3.4/"));
        assert!(!valid("1.2.3"));
        assert!(!valid("1.2.3.4.5"));
        assert!(!valid("1.2.3.256"));
        assert!(!valid("::1"));
        assert!(!valid("localhost"));
    }

    #[test]
    fn digest_ids_are_validated_like_java_split() {
        let valid = |s| Scheme::Digest.is_valid(s);
        assert!(valid("user:hash"));
        assert!(valid(":hash"));
        assert!(valid("user:hash:"));
        assert!(!valid("user:"));
        assert!(!valid("user"));
        assert!(!valid(""));
        assert!(!valid(":"));
        assert!(!valid("a:b:c"));
    }

    #[test]
    fn fixup_dedupes_expands_auth_and_validates() {
        let bob = digest_id("bob:pw");
        let auth = session(&[id("ip", "127.0.0.1"), id("digest", &bob), id("super", "")]);
        let open = acl(Perms::ALL, "world", "anyone");
        assert_eq!(
            fixup(&[open.clone(), open.clone()], &auth),
            Ok(vec![open.clone()])
        );
        // `auth` expands to the authenticated (digest) ids only, not ip or super.
        assert_eq!(
            fixup(&[acl(Perms::READ, "auth", "")], &auth),
            Ok(vec![acl(Perms::READ, "digest", &bob)])
        );
        let anonymous = session(&[id("ip", "127.0.0.1")]);
        assert_eq!(
            fixup(&[acl(Perms::READ, "auth", "")], &anonymous),
            Err(ErrorCode::InvalidAcl)
        );
        assert_eq!(fixup(&[], &auth), Err(ErrorCode::InvalidAcl));
        for bad in [
            acl(Perms::ALL, "world", "bogus"),
            acl(Perms::ALL, "digest", "user:"),
            acl(Perms::ALL, "ip", "::1"),
            acl(Perms::ALL, "super", ""),
            acl(Perms::ALL, "sasl", "bob"),
        ] {
            assert_eq!(
                fixup(std::slice::from_ref(&bad), &auth),
                Err(ErrorCode::InvalidAcl),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn masking_hides_digest_hashes() {
        let list = [
            acl(Perms::ALL, "digest", "bob:abc="),
            acl(Perms::READ, "world", "anyone"),
            acl(Perms::READ, "digest", "a:b\nc:d"),
        ];
        let masked = mask_digests(&list);
        assert_eq!(masked[0].id.id, "bob:x");
        assert_eq!(masked[1], list[1]);
        assert_eq!(masked[2].id.id, "a:x\nc:x");
    }
}
