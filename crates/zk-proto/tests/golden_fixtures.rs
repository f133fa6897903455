//! Golden bytes from real clients: every frame of every `tests/fixtures/*.txt` decodes with the
//! typed layer and re-encodes to the same bytes.
//!
//! Fixture format: `#` comment lines, then one frame per line, `> HEX` client to server or
//! `< HEX` server to client, HEX being the payload without the length prefix. The first frame
//! each way is the handshake; after it, replies are paired with requests by xid.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use zk_proto::{
    decode_request, decode_response, from_bytes, to_bytes, ConnectRequest, ConnectResponse, Decode,
    OpCode, Reader, ReplyHeader, Xid,
};

/// One frame of a fixture file.
struct Frame {
    line: usize,
    from_client: bool,
    payload: Vec<u8>,
}

/// What one fixture file held.
#[derive(Debug, Default)]
struct Summary {
    frames: usize,
    requests: usize,
    replies: usize,
    notifications: usize,
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits: {}", text.len()));
    }
    (0..text.len())
        .step_by(2)
        .map(|at| {
            u8::from_str_radix(&text[at..at + 2], 16)
                .map_err(|error| format!("bad hex at {at}: {error}"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn parse_fixture(text: &str) -> Result<Vec<Frame>, String> {
    let mut frames = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (from_client, rest) = if let Some(rest) = line.strip_prefix('>') {
            (true, rest)
        } else if let Some(rest) = line.strip_prefix('<') {
            (false, rest)
        } else {
            return Err(format!("line {line_number}: neither a comment nor a frame"));
        };
        let payload =
            parse_hex(rest.trim()).map_err(|error| format!("line {line_number}: {error}"))?;
        frames.push(Frame {
            line: line_number,
            from_client,
            payload,
        });
    }
    Ok(frames)
}

/// The opcode a reply answers when no request with its xid was seen in the file: the
/// reserved xids of notifications, pings, auth and setWatches.
fn reserved_xid_op_code(xid: Xid) -> Option<OpCode> {
    match xid {
        Xid::NOTIFICATION => Some(OpCode::Notification),
        Xid::PING => Some(OpCode::Ping),
        Xid::AUTH => Some(OpCode::Auth),
        Xid::SET_WATCHES => Some(OpCode::SetWatches),
        _ => None,
    }
}

/// Decodes and re-encodes every frame; returns the summary or every frame that failed.
fn check_fixture(text: &str) -> Result<Summary, Vec<String>> {
    let frames = parse_fixture(text).map_err(|error| vec![error])?;
    let mut failures = Vec::new();
    let mut summary = Summary::default();

    // Pass 1: the opcode of every request, by xid, in order (xids such as -2 repeat).
    let mut pending: HashMap<Xid, VecDeque<OpCode>> = HashMap::new();
    for frame in frames.iter().filter(|frame| frame.from_client).skip(1) {
        if let Ok(request) = decode_request(&frame.payload) {
            pending
                .entry(request.header.xid)
                .or_default()
                .push_back(request.header.op_code);
        }
    }

    // Pass 2: decode and re-encode every frame.
    let mut seen_connect_request = false;
    let mut seen_connect_response = false;
    for frame in &frames {
        summary.frames += 1;
        let direction = if frame.from_client { '>' } else { '<' };
        let re_encoded: Result<Vec<u8>, String> = if frame.from_client {
            if !seen_connect_request {
                seen_connect_request = true;
                from_bytes::<ConnectRequest>(&frame.payload)
                    .map(|record| to_bytes(&record))
                    .map_err(|error| format!("ConnectRequest: {error}"))
            } else {
                summary.requests += 1;
                decode_request(&frame.payload)
                    .map(|request| to_bytes(&request))
                    .map_err(|error| format!("request: {error}"))
            }
        } else if !seen_connect_response {
            seen_connect_response = true;
            from_bytes::<ConnectResponse>(&frame.payload)
                .map(|record| to_bytes(&record))
                .map_err(|error| format!("ConnectResponse: {error}"))
        } else {
            decode_reply(&frame.payload, &mut pending, &mut summary)
        };
        match re_encoded {
            Ok(bytes) if bytes == frame.payload => {}
            Ok(bytes) => failures.push(format!(
                "line {} {direction}: re-encoded bytes differ\n  got      {}\n  expected {}",
                frame.line,
                hex(&bytes),
                hex(&frame.payload)
            )),
            Err(error) => failures.push(format!(
                "line {} {direction}: {error}\n  bytes {}",
                frame.line,
                hex(&frame.payload)
            )),
        }
    }
    if !seen_connect_request || !seen_connect_response {
        failures.push("fixture has no handshake in one direction".into());
    }
    if failures.is_empty() {
        Ok(summary)
    } else {
        Err(failures)
    }
}

fn decode_reply(
    payload: &[u8],
    pending: &mut HashMap<Xid, VecDeque<OpCode>>,
    summary: &mut Summary,
) -> Result<Vec<u8>, String> {
    let header = ReplyHeader::decode(&mut Reader::new(payload))
        .map_err(|error| format!("reply header: {error}"))?;
    let op_code = if header.xid == Xid::NOTIFICATION {
        summary.notifications += 1;
        OpCode::Notification
    } else {
        summary.replies += 1;
        pending
            .get_mut(&header.xid)
            .and_then(VecDeque::pop_front)
            .or_else(|| reserved_xid_op_code(header.xid))
            .ok_or_else(|| format!("reply to xid {} matches no request", header.xid.0))?
    };
    decode_response(op_code, payload)
        .map(|response| to_bytes(&response))
        .map_err(|error| format!("{op_code:?} reply: {error}"))
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|error| {
        panic!(
            "cannot read the fixtures directory {}: {error}",
            dir.display()
        )
    });
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("fixtures directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_fixture_frame_round_trips_byte_for_byte() {
    let files = fixture_files();
    assert!(
        !files.is_empty(),
        "no tests/fixtures/*.txt: the golden fixtures are missing (scripts/capture_fixtures.py makes them)"
    );
    let mut all_failures = Vec::new();
    let mut total_frames = 0;
    for path in &files {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        match check_fixture(&text) {
            Ok(summary) => {
                assert!(summary.frames > 0, "{name} holds no frame");
                total_frames += summary.frames;
                println!("{name}: {summary:?}");
            }
            Err(failures) => all_failures.extend(
                failures
                    .into_iter()
                    .map(|failure| format!("{name}: {failure}")),
            ),
        }
    }
    println!("{} files, {total_frames} frames", files.len());
    assert!(
        all_failures.is_empty(),
        "{} frames do not round-trip:\n{}",
        all_failures.len(),
        all_failures.join("\n")
    );
}

/// The checker itself, on a small fixture written by hand: a 3.4-style handshake without the
/// read-only flag, a getData with its reply, a notification and an error reply.
#[test]
fn checker_accepts_a_hand_made_fixture_and_reports_mismatches() {
    let good = "\
# hand-made
> 00000000000000000000000000007530000000000000000000000010000000000000000000000000000000000
< 0000000000007530000000000000000700000010000000000000000000000000000000000
> 000000010000000400000002 2f6100
";
    // The frame above has a space inside its hex: the parser must reject it.
    assert!(check_fixture(good).is_err());

    let mut text = String::from("# hand-made\n");
    let connect = ConnectRequest {
        time_out: 30_000,
        passwd: vec![0; 16],
        ..ConnectRequest::default()
    };
    text += &format!("> {}\n", hex(&to_bytes(&connect)));
    let response = ConnectResponse {
        time_out: 30_000,
        session_id: zk_proto::SessionId(7),
        passwd: vec![1; 16],
        ..ConnectResponse::default()
    };
    text += &format!("< {}\n", hex(&to_bytes(&response)));
    let get_data = zk_proto::Request::new(
        Xid(1),
        zk_proto::RequestBody::GetData(zk_proto::GetDataRequest {
            path: "/a".into(),
            watch: true,
        }),
    );
    text += &format!("> {}\n", hex(&to_bytes(&get_data)));
    let event = zk_proto::WatcherEvent {
        event_type: zk_proto::EventType::NodeDataChanged,
        state: zk_proto::KeeperState::SyncConnected,
        path: "/a".into(),
    };
    text += &format!(
        "< {}\n",
        hex(&to_bytes(&zk_proto::Response::notification(event)))
    );
    let reply = zk_proto::Response::ok(
        Xid(1),
        zk_proto::Zxid(3),
        zk_proto::ResponseBody::GetData(zk_proto::GetDataResponse {
            data: None,
            stat: zk_proto::Stat::default(),
        }),
    );
    text += &format!("< {}\n", hex(&to_bytes(&reply)));
    let ping = zk_proto::Request::new(Xid::PING, zk_proto::RequestBody::Ping);
    text += &format!("> {}\n", hex(&to_bytes(&ping)));
    text += &format!(
        "< {}\n",
        hex(&to_bytes(&ReplyHeader::ok(Xid::PING, zk_proto::Zxid(3))))
    );

    let summary = check_fixture(&text).expect("hand-made fixture round-trips");
    assert_eq!(summary.frames, 7);
    assert_eq!(summary.requests, 2);
    assert_eq!(summary.replies, 2);
    assert_eq!(summary.notifications, 1);

    // A reply to an xid no request used is reported, with its bytes.
    let orphan = hex(&to_bytes(&ReplyHeader::ok(Xid(99), zk_proto::Zxid(3))));
    let failures = check_fixture(&format!("{text}< {orphan}\n")).unwrap_err();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].contains("matches no request"), "{failures:?}");
    assert!(failures[0].contains(&orphan), "{failures:?}");
}
