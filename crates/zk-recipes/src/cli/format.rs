//! zkCli's output formats: stats, times, ACLs, child lists and error messages, as
//! Apache ZooKeeper 3.8's `StatPrinter`, `ZKUtil.getPermString` and `CliWrapperException`
//! write them. Times are printed in UTC (Java prints the local zone).

use crate::error::Error;
use zk_proto::{Acl, ErrorCode, Perms, Stat};

/// The lines `StatPrinter.print` writes for `stat`.
pub fn stat(stat: &Stat) -> String {
    format!(
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\n\
         cversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\n\
         dataLength = {}\nnumChildren = {}\n",
        stat.czxid,
        java_date(stat.ctime),
        stat.mzxid,
        java_date(stat.mtime),
        stat.pzxid,
        stat.cversion,
        stat.version,
        stat.aversion,
        stat.ephemeral_owner,
        stat.data_length,
        stat.num_children
    )
}

/// Milliseconds since the epoch as Java's `Date.toString()` prints them, in UTC:
/// `Thu Jan 01 00:00:00 UTC 1970`.
pub fn java_date(epoch_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = epoch_ms.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
        year
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `cdrwa`-style permissions, in zkCli's order.
pub fn perms(perms: Perms) -> String {
    [
        (Perms::CREATE, 'c'),
        (Perms::DELETE, 'd'),
        (Perms::READ, 'r'),
        (Perms::WRITE, 'w'),
        (Perms::ADMIN, 'a'),
    ]
    .iter()
    .filter(|(perm, _)| perms.contains(*perm))
    .map(|(_, letter)| *letter)
    .collect()
}

/// The lines `getAcl` prints: the id as jute's CSV `toString` (`'world,'anyone` and a line
/// break), then `: cdrwa`.
pub fn acl(acl: &[Acl]) -> String {
    acl.iter()
        .map(|entry| {
            format!(
                "'{},'{}\n: {}\n",
                entry.id.scheme,
                entry.id.id,
                perms(entry.perms)
            )
        })
        .collect()
}

/// Parses zkCli's ACL syntax `scheme:id:perms[,scheme:id:perms...]`.
pub fn parse_acl(text: &str) -> Result<Vec<Acl>, String> {
    let mut acl = Vec::new();
    for entry in text.split(',') {
        let (Some(first), Some(last)) = (entry.find(':'), entry.rfind(':')) else {
            return Err(format!("{entry} does not have the form scheme:id:perm"));
        };
        if first == last {
            return Err(format!("{entry} does not have the form scheme:id:perm"));
        }
        let mut perms = Perms(0);
        for letter in entry[last + 1..].chars() {
            perms = perms
                | match letter {
                    'r' => Perms::READ,
                    'w' => Perms::WRITE,
                    'c' => Perms::CREATE,
                    'd' => Perms::DELETE,
                    'a' => Perms::ADMIN,
                    other => return Err(format!("Unknown perm type: {other}")),
                };
        }
        acl.push(Acl {
            perms,
            id: zk_proto::Id {
                scheme: entry[..first].to_owned(),
                id: entry[first + 1..last].to_owned(),
            },
        });
    }
    Ok(acl)
}

/// A list as Java's `List.toString()` prints it: `[a, b]`.
pub fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// The message zkCli prints for `error` on `path` (`CliWrapperException.getMessage`).
pub fn error(error: &Error, path: &str) -> String {
    let code = error.code();
    match code {
        ErrorCode::NoNode => format!("Node does not exist: {path}"),
        ErrorCode::NoChildrenForEphemerals => format!("Ephemerals cannot have children: {path}"),
        ErrorCode::NodeExists => format!("Node already exists: {path}"),
        ErrorCode::NotEmpty => format!("Node not empty: {path}"),
        ErrorCode::NotReadOnly => format!("Not a read-only call: {path}"),
        ErrorCode::InvalidAcl => format!("Acl is not valid : {path}"),
        ErrorCode::NoAuth => format!("Insufficient permission : {path}"),
        ErrorCode::BadArguments => format!("Arguments are not valid : {path}"),
        ErrorCode::BadVersion => format!("version No is not valid : {path}"),
        ErrorCode::QuotaExceeded => format!("Quota has exceeded : {path}"),
        _ => format!("KeeperErrorCode = {error} for {path}"),
    }
}

/// The message zkCli prints for a path the client refuses before sending (Java's
/// `PathUtils.validatePath`), found by the same checks in the same order; `reason` (the
/// client's) is the fallback.
pub fn invalid_path(path: &str, reason: &str) -> String {
    if path.is_empty() {
        return "Path length must be > 0".to_owned();
    }
    if !path.starts_with('/') {
        return "Path must start with / character".to_owned();
    }
    if path.len() > 1 && path.ends_with('/') {
        return "Path must not end with / character".to_owned();
    }
    let chars: Vec<char> = path.chars().collect();
    let ends_segment = |index: usize| chars.get(index + 1).is_none_or(|&next| next == '/');
    for index in 1..chars.len() {
        let (previous, c) = (chars[index - 1], chars[index]);
        let offence = if c == '\0' {
            Some("null character not allowed")
        } else if c == '/' && previous == '/' {
            Some("empty node name specified")
        } else if c == '.' && is_relative_segment(&chars, index) && ends_segment(index) {
            Some("relative paths not allowed")
        } else if crate::path::is_forbidden_char(c) {
            Some("invalid character")
        } else {
            None
        };
        if let Some(offence) = offence {
            return format!("Invalid path string \"{path}\" caused by {offence} @{index}");
        }
    }
    format!("Invalid path string \"{path}\" caused by {reason}")
}

/// Whether the `.` at `index` ends a `.` or `..` segment's dots (`/.` or `/..`).
fn is_relative_segment(chars: &[char], index: usize) -> bool {
    match chars[index - 1] {
        '/' => true,
        '.' => index >= 2 && chars[index - 2] == '/',
        _ => false,
    }
}

/// What `config -c` prints: the configuration's version, a space, and the client
/// addresses of its `server.N` lines joined by commas (in server number order; a server
/// without a client address adds an empty entry, and one given only a port listens on
/// `0.0.0.0`), as Java's `ConfigUtils.getClientConfigStr`.
pub fn client_config(config: &str) -> String {
    let mut version = "";
    let mut servers: Vec<(u64, String)> = Vec::new();
    for line in config.lines().map(str::trim) {
        if line.starts_with(['#', '!']) {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "version" {
            version = value;
        }
        let Some(number) = key.strip_prefix("server.").and_then(|n| n.parse().ok()) else {
            continue;
        };
        let client = match value.split_once(';') {
            Some((_, client)) => match client.rsplit_once(':') {
                Some((host, port)) => format!("{host}:{port}"),
                None => format!("0.0.0.0:{client}"),
            },
            None => String::new(),
        };
        servers.push((number, client));
    }
    servers.sort();
    let addresses: Vec<String> = servers.into_iter().map(|(_, client)| client).collect();
    format!("{version} {}", addresses.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_like_java_in_utc() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2024-02-29T13:05:09Z, a Thursday.
        assert_eq!(java_date(1_709_211_909_000), "Thu Feb 29 13:05:09 UTC 2024");
        assert_eq!(java_date(-1000), "Wed Dec 31 23:59:59 UTC 1969");
    }

    #[test]
    fn stat_lines_match_stat_printer() {
        let printed = stat(&Stat {
            czxid: 0x1f,
            ephemeral_owner: 0x100,
            num_children: 2,
            cversion: -1,
            ..Stat::default()
        });
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[0], "cZxid = 0x1f");
        assert_eq!(lines[5], "cversion = -1");
        assert_eq!(lines[8], "ephemeralOwner = 0x100");
        assert_eq!(lines[10], "numChildren = 2");
    }

    #[test]
    fn acls_round_trip_through_zkcli_syntax() {
        let acl = parse_acl("world:anyone:cdrwa,digest:u:hash=:r").unwrap();
        assert_eq!(acl[0], Acl::open_unsafe()[0]);
        assert_eq!(acl[1].id.id, "u:hash=");
        assert_eq!(
            super::acl(&acl),
            "'world,'anyone\n: cdrwa\n'digest,'u:hash=\n: r\n"
        );
        assert!(parse_acl("world:anyone").is_err());
        assert!(parse_acl("world:anyone:x").is_err());
    }

    #[test]
    fn errors_read_like_zkcli() {
        assert_eq!(
            error(&Error::Keeper(ErrorCode::NoNode), "/a"),
            "Node does not exist: /a"
        );
        assert_eq!(
            error(&Error::Keeper(ErrorCode::BadVersion), "/a"),
            "version No is not valid : /a"
        );
        assert_eq!(list(&["a".into(), "b".into()]), "[a, b]");
    }

    #[test]
    fn invalid_paths_read_like_path_utils() {
        assert_eq!(
            invalid_path("/a/", "x"),
            "Path must not end with / character"
        );
        assert_eq!(invalid_path("a", "x"), "Path must start with / character");
        assert_eq!(
            invalid_path("/a//b", "x"),
            "Invalid path string \"/a//b\" caused by empty node name specified @3"
        );
        assert_eq!(
            invalid_path("/a/../b", "x"),
            "Invalid path string \"/a/../b\" caused by relative paths not allowed @4"
        );
        assert_eq!(
            invalid_path("/a/./b", "x"),
            "Invalid path string \"/a/./b\" caused by relative paths not allowed @3"
        );
    }

    #[test]
    fn client_config_lists_client_addresses() {
        assert_eq!(client_config(""), " ");
        let config = "server.2=10.0.0.2:2888:3888:participant;10.0.0.2:2181\n\
                      server.1=10.0.0.1:2888:3888:participant;2181\n\
                      server.3=10.0.0.3:2888:3888:observer\n\
                      version=100000000\n";
        assert_eq!(
            client_config(config),
            "100000000 0.0.0.0:2181,10.0.0.2:2181,"
        );
    }
}
