//! Decoding is total: arbitrary bytes, and valid encodings with bytes changed or cut off,
//! give a record or an error and never panic.

mod common;

use common::*;
use proptest::prelude::*;
use zk_proto::*;

/// Feeds `bytes` to every decoder of the crate; none may panic. Whatever decodes must
/// re-encode to bytes that decode to the same value (strings may have lost invalid UTF-8 and
/// booleans their exact byte, so the bytes themselves can differ).
fn decode_everything(bytes: &[u8]) {
    let _ = split_frame(bytes, DEFAULT_MAX_FRAME_LEN);
    let _ = split_first_message(bytes, DEFAULT_MAX_FRAME_LEN);
    let _ = FourLetterWord::from_prefix(bytes);
    if let Ok(connect) = from_bytes::<ConnectRequest>(bytes) {
        assert_eq!(
            from_bytes::<ConnectRequest>(&to_bytes(&connect)),
            Ok(connect)
        );
    }
    if let Ok(connect) = from_bytes::<ConnectResponse>(bytes) {
        assert_eq!(
            from_bytes::<ConnectResponse>(&to_bytes(&connect)),
            Ok(connect)
        );
    }
    if let Ok(request) = decode_request(bytes) {
        assert_eq!(decode_request(&to_bytes(&request)), Ok(request));
    }
    for &op_code in OpCode::ALL {
        if let Ok(response) = decode_response(op_code, bytes) {
            assert_eq!(decode_response(op_code, &to_bytes(&response)), Ok(response));
        }
    }
}

/// Overwrites a few bytes of `bytes` and cuts it at `cut`.
fn mutate(
    mut bytes: Vec<u8>,
    edits: &[(prop::sample::Index, u8)],
    cut: Option<prop::sample::Index>,
) -> Vec<u8> {
    if !bytes.is_empty() {
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = *value;
        }
    }
    if let Some(cut) = cut {
        let len = cut.index(bytes.len() + 1);
        bytes.truncate(len);
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8)>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop_oneof![Just(0u8), Just(0xff), Just(0x7f), Just(0x80), any::<u8>()],
        ),
        0..4,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        decode_everything(&bytes);
    }

    #[test]
    fn damaged_requests_never_panic(
        request in request(),
        edits in edits(),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        decode_everything(&mutate(to_bytes(&request), &edits, cut));
    }

    #[test]
    fn damaged_replies_never_panic(
        (_op_code, response) in response(),
        edits in edits(),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        decode_everything(&mutate(to_bytes(&response), &edits, cut));
    }

    #[test]
    fn damaged_handshakes_never_panic(
        request in connect_request(),
        response in connect_response(),
        edits in edits(),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        decode_everything(&mutate(to_bytes(&request), &edits, cut));
        decode_everything(&mutate(to_bytes(&response), &edits, cut));
    }
}

/// Lengths and counts are checked against the input before anything is reserved: a huge
/// count in a tiny input fails fast instead of allocating.
#[test]
fn huge_counts_fail_without_allocating() {
    let mut bytes = to_bytes(&ReplyHeader::ok(Xid(1), Zxid(1)));
    bytes.extend_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(
        decode_response(OpCode::GetChildren, &bytes),
        Err(DecodeError::UnexpectedEnd { .. })
    ));
    let mut bytes = to_bytes(&RequestHeader {
        xid: Xid(1),
        op_code: OpCode::SetWatches,
    });
    bytes.extend_from_slice(&0i64.to_be_bytes());
    bytes.extend_from_slice(&0x7fff_fff0i32.to_be_bytes());
    assert!(matches!(
        decode_request(&bytes),
        Err(DecodeError::InvalidBody { .. })
    ));
}
