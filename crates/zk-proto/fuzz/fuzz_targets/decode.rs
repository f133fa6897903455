//! Feeds arbitrary bytes to every decoder of zk-proto: the frame splitter, the first-message
//! classifier, the handshake records, `decode_request`, and `decode_response` for every
//! opcode. Decoding must never panic, and whatever decodes must decode again, unchanged, from
//! its own encoding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zk_proto::{
    decode_request, decode_response, from_bytes, split_first_message, split_frame, to_bytes,
    ConnectRequest, ConnectResponse, OpCode, DEFAULT_MAX_FRAME_LEN,
};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(Some(frame)) = split_frame(bytes, DEFAULT_MAX_FRAME_LEN) {
        assert_eq!(frame.payload.len() + 4, frame.consumed_len);
        assert!(frame.consumed_len <= bytes.len());
    }
    let _ = split_first_message(bytes, DEFAULT_MAX_FRAME_LEN);

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
});
