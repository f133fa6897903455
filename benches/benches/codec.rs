//! Codec micro-benchmarks: encoding and decoding of the records on the hot path of a
//! ZooKeeper server (reads, writes, their replies) and frame splitting. No I/O: everything
//! works on in-memory buffers, and encoders write into a reused `Vec` as the server does.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use zk_proto::{
    decode_request, decode_response, split_frame, write_frame, Acl, CreateRequest, Decode, Encode,
    ExistsResponse, GetDataRequest, GetDataResponse, OpCode, Reader, ReplyHeader, Request,
    RequestBody, Response, ResponseBody, SetDataRequest, Stat, Xid, Zxid, DEFAULT_MAX_FRAME_LEN,
};

fn stat() -> Stat {
    Stat {
        czxid: 0x1_0000_0010,
        mzxid: 0x1_0000_0020,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_500,
        version: 3,
        cversion: 0,
        aversion: 0,
        ephemeral_owner: 0,
        data_length: 100,
        num_children: 0,
        pzxid: 0x1_0000_0010,
    }
}

fn get_data_request() -> Request {
    Request::new(
        Xid(42),
        RequestBody::GetData(GetDataRequest {
            path: "/app/config/service-0001".into(),
            watch: true,
        }),
    )
}

fn get_data_response() -> Response {
    Response::ok(
        Xid(42),
        Zxid(0x1_0000_0020),
        ResponseBody::GetData(GetDataResponse {
            data: Some(vec![b'x'; 100]),
            stat: stat(),
        }),
    )
}

fn set_data_request() -> Request {
    Request::new(
        Xid(43),
        RequestBody::SetData(SetDataRequest {
            path: "/app/config/service-0001".into(),
            data: Some(vec![b'y'; 100]),
            version: 3,
        }),
    )
}

fn create_request() -> Request {
    Request::new(
        Xid(44),
        RequestBody::Create(CreateRequest {
            path: "/app/locks/lock-".into(),
            data: Some(vec![b'z'; 16]),
            acl: Acl::open_unsafe(),
            flags: 3,
        }),
    )
}

fn exists_response() -> Response {
    Response::ok(
        Xid(45),
        Zxid(0x1_0000_0020),
        ResponseBody::Exists(ExistsResponse { stat: stat() }),
    )
}

/// Benchmarks encoding `record` into a reused buffer, and decoding its bytes with `decode`.
fn encode_and_decode<T: Encode>(
    c: &mut Criterion,
    name: &str,
    record: &T,
    decode: impl Fn(&[u8]) -> bool,
) {
    let mut bytes = Vec::new();
    record.encode(&mut bytes);
    assert!(decode(&bytes), "{name}: the benchmark input decodes");

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(bytes.len());
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(record).encode(&mut out);
            black_box(out.len())
        })
    });
    group.bench_function("decode", |b| b.iter(|| decode(black_box(&bytes))));
    group.finish();
}

fn records(c: &mut Criterion) {
    encode_and_decode(c, "get_data_request", &get_data_request(), |bytes| {
        decode_request(bytes).is_ok()
    });
    encode_and_decode(c, "get_data_response_100b", &get_data_response(), |bytes| {
        decode_response(OpCode::GetData, bytes).is_ok()
    });
    encode_and_decode(c, "set_data_request_100b", &set_data_request(), |bytes| {
        decode_request(bytes).is_ok()
    });
    encode_and_decode(c, "create_request", &create_request(), |bytes| {
        decode_request(bytes).is_ok()
    });
    encode_and_decode(c, "reply_header_stat", &exists_response(), |bytes| {
        let mut reader = Reader::new(bytes);
        ReplyHeader::decode(&mut reader).is_ok() && Stat::decode(&mut reader).is_ok()
    });
}

/// Splitting a buffer of 64 back-to-back getData frames, as a connection's read buffer holds
/// them after a burst of pipelined requests.
fn frame_split(c: &mut Criterion) {
    const FRAMES: usize = 64;
    let request = get_data_request();
    let mut stream = Vec::new();
    for _ in 0..FRAMES {
        write_frame(&mut stream, &request);
    }

    let mut group = c.benchmark_group("frame");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("split_64", |b| {
        b.iter(|| {
            let mut rest = black_box(&stream[..]);
            let mut payload_bytes = 0;
            while let Ok(Some(frame)) = split_frame(rest, DEFAULT_MAX_FRAME_LEN) {
                payload_bytes += frame.payload.len();
                rest = &rest[frame.consumed_len..];
            }
            black_box(payload_bytes)
        })
    });
    let mut out = Vec::with_capacity(stream.len());
    group.bench_function("write_64", |b| {
        b.iter(|| {
            out.clear();
            for _ in 0..FRAMES {
                write_frame(&mut out, black_box(&request));
            }
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, records, frame_split);
criterion_main!(benches);
