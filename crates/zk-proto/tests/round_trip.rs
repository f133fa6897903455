//! Every record survives encode → decode unchanged, and re-encoding the decoded value gives
//! the same bytes.

mod common;

use common::*;
use proptest::prelude::*;
use std::fmt::Debug;
use zk_proto::*;

fn assert_round_trip<T: Encode + Decode + PartialEq + Debug>(value: &T) {
    let bytes = to_bytes(value);
    let decoded: T = from_bytes(&bytes)
        .unwrap_or_else(|error| panic!("{value:?} does not decode from its bytes: {error}"));
    assert_eq!(&decoded, value);
    assert_eq!(to_bytes(&decoded), bytes);
}

/// One proptest per record: `name: strategy,`.
macro_rules! round_trip_tests {
    ($($name:ident: $strategy:expr,)*) => {
        proptest! {
            $(
                #[test]
                fn $name(value in $strategy) {
                    assert_round_trip(&value);
                }
            )*
        }
    };
}

round_trip_tests! {
    id_record: id(),
    acl_record: acl(),
    stat_record: stat(),
    client_info_record: client_info(),
    request_header_record: request_header(),
    reply_header_record: reply_header(),
    multi_header_record: multi_header(),
    connect_request_record: connect_request(),
    connect_response_record: connect_response(),
    get_data_request_record: get_data_request(),
    set_data_request_record: set_data_request(),
    reconfig_request_record: reconfig_request(),
    set_data_response_record: set_data_response(),
    create_request_record: create_request(),
    create_ttl_request_record: create_ttl_request(),
    delete_request_record: delete_request(),
    delete_container_request_record: delete_container_request(),
    get_children_request_record: get_children_request(),
    get_all_children_number_request_record: get_all_children_number_request(),
    get_children2_request_record: get_children2_request(),
    check_version_request_record: check_version_request(),
    sync_request_record: sync_request(),
    sync_response_record: sync_response(),
    get_acl_request_record: get_acl_request(),
    set_acl_request_record: set_acl_request(),
    set_acl_response_record: set_acl_response(),
    error_response_record: error_response(),
    create_response_record: create_response(),
    create2_response_record: create2_response(),
    exists_request_record: exists_request(),
    exists_response_record: exists_response(),
    get_data_response_record: get_data_response(),
    get_children_response_record: get_children_response(),
    get_all_children_number_response_record: get_all_children_number_response(),
    get_children2_response_record: get_children2_response(),
    get_acl_response_record: get_acl_response(),
    get_ephemerals_request_record: get_ephemerals_request(),
    get_ephemerals_response_record: get_ephemerals_response(),
    watcher_event_record: watcher_event(),
    set_watches_record: set_watches(),
    set_watches2_record: set_watches2(),
    add_watch_request_record: add_watch_request(),
    check_watches_request_record: check_watches_request(),
    remove_watches_request_record: remove_watches_request(),
    auth_packet_record: auth_packet(),
    get_sasl_request_record: get_sasl_request(),
    set_sasl_response_record: set_sasl_response(),
    who_am_i_response_record: who_am_i_response(),
    multi_write_request_record: multi_write_request(),
    multi_read_request_record: multi_read_request(),
    multi_response_record: multi_response(),
}

proptest! {
    /// The typed request layer: `decode_request` gives back the request, and its bytes.
    #[test]
    fn decode_request_inverts_encode(request in request()) {
        let bytes = to_bytes(&request);
        let decoded = decode_request(&bytes).expect("a valid request decodes");
        prop_assert_eq!(&decoded, &request);
        prop_assert_eq!(to_bytes(&decoded), bytes);
    }

    /// The typed reply layer, for the opcode each body answers.
    #[test]
    fn decode_response_inverts_encode((op_code, response) in response()) {
        let bytes = to_bytes(&response);
        let decoded = decode_response(op_code, &bytes).expect("a valid reply decodes");
        prop_assert_eq!(&decoded, &response);
        prop_assert_eq!(to_bytes(&decoded), bytes);
    }

    /// Error replies are the header alone, whatever the opcode.
    #[test]
    fn error_replies_decode_for_every_opcode(
        op_code in op_code(),
        xid in xid(),
        zxid in zxid(),
        code in prop::sample::select(ErrorCode::ALL),
    ) {
        let response = Response::error(xid, zxid, code);
        let bytes = to_bytes(&response);
        prop_assert_eq!(bytes.len(), 16);
        prop_assert_eq!(decode_response(op_code, &bytes).expect("error reply"), response);
    }

    /// Frames written back to back split back into the same payloads.
    #[test]
    fn frames_split_back_into_their_payloads(requests in prop::collection::vec(request(), 1..6)) {
        let mut stream = Vec::new();
        for request in &requests {
            write_frame(&mut stream, request);
        }
        let mut rest = &stream[..];
        for request in &requests {
            let frame = split_frame(rest, DEFAULT_MAX_FRAME_LEN)
                .expect("length within the limit")
                .expect("complete frame");
            prop_assert_eq!(&decode_request(frame.payload).expect("request"), request);
            rest = &rest[frame.consumed_len..];
        }
        prop_assert!(rest.is_empty());
    }

    /// Every proper prefix of a frame is incomplete, never an error and never a frame.
    #[test]
    fn frame_prefixes_are_incomplete(request in request(), cut in any::<prop::sample::Index>()) {
        let mut frame = Vec::new();
        write_frame(&mut frame, &request);
        let cut = cut.index(frame.len());
        prop_assert_eq!(split_frame(&frame[..cut], DEFAULT_MAX_FRAME_LEN), Ok(None));
    }
}
