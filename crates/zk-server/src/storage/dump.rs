//! Readable text for one snapshot or log file, for `zk-server snapshot-dump FILE` and
//! `zk-server log-dump FILE` (our `zkSnapShotToolkit` and `zkTxnLogToolkit`). The text is
//! for people; its layout may change.

use super::error::StorageError;
use super::segment::{self, SegmentEnd, SegmentHeader, SEGMENT_HEADER_BYTES};
use super::snapshot::{self, SNAPSHOT_HEADER_BYTES};
use crate::civil_time::civil_from_days;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use zk_proto::{Acl, Id, Perms, SessionId};
use zk_tree::{AuthContext, DataTree, TreeConfig, Txn, TxnBody};

/// Writes the header, the znodes (path, stat summary, data length; depth first, children
/// by name) and the sessions of the snapshot at `path`. Fails if the snapshot does not
/// pass its checks.
pub fn dump_snapshot(path: &Path, out: &mut impl Write) -> Result<(), StorageError> {
    let (header, bytes) = snapshot::read(path)?;
    let tree = DataTree::from_snapshot_bytes(
        &bytes[SNAPSHOT_HEADER_BYTES..],
        TreeConfig {
            // Stats are shown as clients of a server with TTL znodes enabled see them, so
            // that a TTL znode's owner is not mistaken for a session's.
            extended_types_enabled: true,
            super_digest: None,
            ..TreeConfig::default()
        },
    )
    .map_err(|error| StorageError::InvalidSnapshot {
        path: path.to_owned(),
        reason: error.to_string(),
    })?;
    let write_error = output_error();
    let mut text = String::new();
    text.push_str(&format!(
        "snapshot {}\nformat {}, zxid {}, body {} bytes, CRC ok\n",
        path.display(),
        header.format,
        header.zxid,
        header.body_len
    ));
    text.push_str(&format!(
        "last applied zxid {}, digest {:#018x}, znodes {}\n----\n",
        tree.last_applied_zxid(),
        tree.digest(),
        tree.node_count()
    ));
    out.write_all(text.as_bytes()).map_err(write_error)?;
    write_znodes(&tree, out)?;
    let mut text = String::from("----\nsessions (id, timeout ms, ephemerals):\n");
    for (session, timeout_ms) in tree.sessions() {
        let ephemerals = tree.get_ephemerals(session, "/").len();
        text.push_str(&format!("{session}, {timeout_ms}, {ephemerals}\n"));
    }
    out.write_all(text.as_bytes()).map_err(output_error())
}

fn write_znodes(tree: &DataTree, out: &mut impl Write) -> Result<(), StorageError> {
    let reader = AuthContext::new(
        SessionId(0),
        vec![Id {
            scheme: "super".into(),
            id: "snapshot-dump".into(),
        }],
    );
    let mut stack = vec!["/".to_owned()];
    while let Some(path) = stack.pop() {
        let Ok((children, stat)) = tree.get_children(&path, &reader) else {
            continue;
        };
        let line = format!(
            "{path}\n  czxid {:#x} mzxid {:#x} pzxid {:#x} ctime {} mtime {} version {} cversion {} \
             aversion {} ephemeralOwner {:#x} children {} dataLength {}\n",
            stat.czxid,
            stat.mzxid,
            stat.pzxid,
            format_time_ms(stat.ctime),
            format_time_ms(stat.mtime),
            stat.version,
            stat.cversion,
            stat.aversion,
            stat.ephemeral_owner,
            stat.num_children,
            stat.data_length,
        );
        out.write_all(line.as_bytes()).map_err(output_error())?;
        let prefix = if path == "/" { "" } else { path.as_str() };
        stack.extend(children.iter().rev().map(|name| format!("{prefix}/{name}")));
    }
    Ok(())
}

/// Writes the header and one line per txn (time, session, zxid, type, details) of the log
/// segment at `path`, then how its records end: clean, a torn tail, or damage followed by
/// valid records. Damage is reported in the text, not as an error: this is the tool for
/// looking at damaged logs.
pub fn dump_log(path: &Path, out: &mut impl Write) -> Result<(), StorageError> {
    let header = match read_prefix(path, SEGMENT_HEADER_BYTES)
        .and_then(|bytes| SegmentHeader::decode(path, &bytes))
    {
        Ok(header) => format!("format {}, first zxid {}", header.format, header.first_zxid),
        Err(error @ StorageError::Io { .. }) => return Err(error),
        Err(error @ StorageError::ForeignFile { .. }) => return Err(error),
        Err(error) => format!("INVALID ({error})"),
    };
    out.write_all(format!("log segment {}\nheader: {header}\n", path.display()).as_bytes())
        .map_err(output_error())?;
    // Records as large as the format allows: the dump must show what a server with any
    // limit wrote.
    let scan = segment::scan(path, u32::MAX as usize, |_, txn| {
        out.write_all(format_txn(&txn).as_bytes())
            .map_err(output_error())
    })?;
    let mut text = format!(
        "{} txns, last zxid {}, records end at offset {} of {} bytes\n",
        scan.record_count,
        scan.last_zxid
            .map_or_else(|| "none".to_owned(), |zxid| zxid.to_string()),
        scan.valid_end,
        scan.file_len
    );
    match &scan.end {
        SegmentEnd::Clean => text.push_str("end: clean (zeros or end of file follow)\n"),
        SegmentEnd::Damaged {
            offset,
            reason,
            valid_record_at: Some(at),
        } => text.push_str(&format!(
            "end: DAMAGED at offset {offset}: {reason}; a valid record follows at offset {at} \
             (damage in the middle: recovery refuses this log)\n"
        )),
        SegmentEnd::Damaged {
            offset,
            reason,
            valid_record_at: None,
        } => text.push_str(&format!(
            "end: DAMAGED at offset {offset}: {reason}; no valid record follows (a torn tail: \
             recovery cuts it if this is the last segment)\n"
        )),
    }
    out.write_all(text.as_bytes()).map_err(output_error())
}

/// Up to `length` bytes from the start of `path`.
fn read_prefix(path: &Path, length: usize) -> Result<Vec<u8>, StorageError> {
    let file = std::fs::File::open(path).map_err(StorageError::io(path, "open"))?;
    let mut bytes = Vec::with_capacity(length);
    file.take(length as u64)
        .read_to_end(&mut bytes)
        .map_err(StorageError::io(path, "read"))?;
    Ok(bytes)
}

/// One txn as a line: `<time> session <id> zxid <zxid> <type> <details>`.
pub fn format_txn(txn: &Txn) -> String {
    format!(
        "{} session {} zxid {} {}\n",
        format_time_ms(txn.time_ms),
        txn.session_id,
        txn.zxid,
        format_body(&txn.body)
    )
}

fn format_body(body: &TxnBody) -> String {
    let data_len = |data: &Option<Vec<u8>>| data.as_ref().map_or(-1, |data| data.len() as i64);
    match body {
        TxnBody::Create {
            path,
            data,
            acl,
            ephemeral,
            parent_cversion,
        } => format!(
            "create {} {} dataLength {} acl {} parentCversion {parent_cversion}",
            path.as_str(),
            if *ephemeral {
                "ephemeral"
            } else {
                "persistent"
            },
            data_len(data),
            format_acl(acl)
        ),
        TxnBody::CreateContainer {
            path,
            data,
            acl,
            parent_cversion,
        } => format!(
            "createContainer {} dataLength {} acl {} parentCversion {parent_cversion}",
            path.as_str(),
            data_len(data),
            format_acl(acl)
        ),
        TxnBody::CreateTtl {
            path,
            data,
            acl,
            parent_cversion,
            ttl_ms,
        } => format!(
            "createTTL {} ttl {ttl_ms}ms dataLength {} acl {} parentCversion {parent_cversion}",
            path.as_str(),
            data_len(data),
            format_acl(acl)
        ),
        TxnBody::Delete { path } => format!("delete {}", path.as_str()),
        TxnBody::DeleteContainer { path } => format!("deleteContainer {}", path.as_str()),
        TxnBody::SetData {
            path,
            data,
            version,
        } => format!(
            "setData {} version {version} dataLength {}",
            path.as_str(),
            data_len(data)
        ),
        TxnBody::SetAcl { path, acl, version } => format!(
            "setACL {} version {version} acl {}",
            path.as_str(),
            format_acl(acl)
        ),
        TxnBody::Check { path, version } => format!("check {} version {version}", path.as_str()),
        TxnBody::Multi(ops) => {
            let ops: Vec<String> = ops.iter().map(format_body).collect();
            format!("multi [{}]", ops.join("; "))
        }
        TxnBody::Error(code) => format!("error {code:?} ({})", code.code()),
        TxnBody::RolledBack => "rolledBack".to_owned(),
        TxnBody::CreateSession { timeout_ms } => format!("createSession timeout {timeout_ms}ms"),
        TxnBody::CloseSession { ephemerals } => {
            let paths: Vec<&str> = ephemerals.iter().map(|path| path.as_str()).collect();
            format!("closeSession ephemerals [{}]", paths.join(", "))
        }
    }
}

/// `[scheme:id:cdrwa, ...]`, with zkCli's permission letters.
fn format_acl(acl: &[Acl]) -> String {
    let entries: Vec<String> = acl
        .iter()
        .map(|entry| {
            format!(
                "{}:{}:{}",
                entry.id.scheme,
                entry.id.id,
                perm_letters(entry.perms)
            )
        })
        .collect();
    format!("[{}]", entries.join(", "))
}

fn perm_letters(perms: Perms) -> String {
    [
        (Perms::CREATE, 'c'),
        (Perms::DELETE, 'd'),
        (Perms::READ, 'r'),
        (Perms::WRITE, 'w'),
        (Perms::ADMIN, 'a'),
    ]
    .iter()
    .filter(|(perm, _)| perms.0 & perm.0 != 0)
    .map(|(_, letter)| *letter)
    .collect()
}

/// `YYYY-MM-DD HH:MM:SS.mmm UTC` for milliseconds since the Unix epoch.
pub fn format_time_ms(time_ms: i64) -> String {
    let days = time_ms.div_euclid(86_400_000);
    let ms_of_day = time_ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03} UTC",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000
    )
}

fn output_error() -> impl FnOnce(std::io::Error) -> StorageError {
    StorageError::io(PathBuf::from("<output>"), "write the dump")
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::{ErrorCode, Zxid};
    use zk_tree::ZnodePath;

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(format_time_ms(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(
            format_time_ms(951_782_400_000),
            "2000-02-29 00:00:00.000 UTC"
        );
        assert_eq!(
            format_time_ms(1_700_000_000_123),
            "2023-11-14 22:13:20.123 UTC"
        );
        assert_eq!(format_time_ms(-1), "1969-12-31 23:59:59.999 UTC");
    }

    #[test]
    fn txn_lines_name_type_path_and_details() {
        let txn = Txn {
            zxid: Zxid(0x1_0000_0003),
            time_ms: 0,
            session_id: SessionId(0x42),
            body: TxnBody::Multi(vec![
                TxnBody::Create {
                    path: ZnodePath::parse("/a").unwrap(),
                    data: Some(b"xyz".to_vec()),
                    acl: Acl::open_unsafe(),
                    ephemeral: true,
                    parent_cversion: 2,
                },
                TxnBody::Error(ErrorCode::NoNode),
            ]),
        };
        assert_eq!(
            format_txn(&txn),
            "1970-01-01 00:00:00.000 UTC session 0x42 zxid 0x100000003 multi [create /a ephemeral \
             dataLength 3 acl [world:anyone:cdrwa] parentCversion 2; error NoNode (-101)]\n"
        );
    }
}
