//! What one load session sends (operations drawn from the mix, keys drawn uniformly) and
//! what it counts (latencies inside the measurement window, every error).
//!
//! The plan keeps one request record per operation and rewrites only the path's key number
//! before encoding, so a request costs no allocation; replies are read through their
//! header only, unless deletes need the paths of created nodes or `--check-replies` asks
//! for full decoding.

use crate::connection::{write_request_frame, Reply, RequestPlan};
use crate::error::LoadError;
use crate::histogram::LatencyHistogram;
use crate::key_space::{set_key_index, KeySpace};
use crate::op_mix::{OpMix, Operation};
use crate::rng::SplitMix64;
use std::collections::{BTreeMap, VecDeque};
use tokio::time::Instant;
use zk_proto::{
    decode_response, Acl, CreateMode, CreateRequest, DeleteRequest, ExistsRequest, GetDataRequest,
    ResponseBody, SetDataRequest, Xid,
};

/// Paths of created nodes a session remembers for later deletes. Past it, new paths are
/// forgotten (those nodes simply stay), which bounds the memory of a create-heavy mix.
pub const CREATED_PATHS_LIMIT: usize = 100_000;

/// When a session sends and what it counts.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Replies received from here on are measured (before it: warm-up).
    pub window_start: Instant,
    /// Replies received from here on are not measured; `None` when the run ends by count.
    pub window_end: Option<Instant>,
    /// No request is sent from here on.
    pub issue_until: Instant,
    /// Requests this session sends inside the window, when the run ends by count.
    pub quota: Option<u64>,
}

/// What a plan is asked to do, shared by all sessions of a run.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// Operation weights.
    pub mix: OpMix,
    /// The znodes to use.
    pub key_space: KeySpace,
    /// Bytes written by `setData` and `create`.
    pub data: Vec<u8>,
    /// Decode every reply body fully and count undecodable ones as errors.
    pub check_replies: bool,
}

/// Errors seen by a session, by kind (an error code's name and number, or a failure).
pub type ErrorTally = BTreeMap<String, u64>;

/// Counts of one session.
#[derive(Debug, Clone, Default)]
pub struct SessionTally {
    /// Latencies of the successful replies inside the window, all operations.
    pub latency: LatencyHistogram,
    /// The same per operation, indexed by [`Operation::index`].
    pub per_operation: [LatencyHistogram; Operation::ALL.len()],
    /// Every error, in any phase (warm-up and drain included: errors are never hidden).
    pub errors: ErrorTally,
    /// When the last measured reply arrived.
    pub last_measured_reply_at: Option<Instant>,
}

impl SessionTally {
    /// Counts one error of `kind`.
    pub fn add_error(&mut self, kind: String, count: u64) {
        *self.errors.entry(kind).or_default() += count;
    }

    /// The total of every error kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Adds another session's counts.
    pub fn merge(&mut self, other: &SessionTally) {
        self.latency.merge(&other.latency);
        for (mine, theirs) in self.per_operation.iter_mut().zip(&other.per_operation) {
            mine.merge(theirs);
        }
        for (kind, count) in &other.errors {
            self.add_error(kind.clone(), *count);
        }
        self.last_measured_reply_at = self
            .last_measured_reply_at
            .max(other.last_measured_reply_at);
    }
}

/// The request stream of one load session.
#[derive(Debug)]
pub struct LoadPlan {
    mix: OpMix,
    rng: SplitMix64,
    keys: u64,
    key_prefix_len: usize,
    get: GetDataRequest,
    exists: ExistsRequest,
    set: SetDataRequest,
    create: CreateRequest,
    delete: DeleteRequest,
    created_paths: VecDeque<String>,
    remember_created: bool,
    check_replies: bool,
    schedule: Schedule,
    issued_in_window: u64,
    /// What the session measured.
    pub tally: SessionTally,
}

impl LoadPlan {
    /// The plan of session `session_index`, whose random stream is derived from `seed`.
    pub fn new(settings: &PlanSettings, seed: u64, session_index: u64, schedule: Schedule) -> Self {
        let key_prefix = settings.key_space.key_prefix();
        let data = Some(settings.data.clone());
        LoadPlan {
            mix: settings.mix.clone(),
            rng: SplitMix64::for_stream(seed, session_index),
            keys: settings.key_space.keys(),
            key_prefix_len: key_prefix.len(),
            get: GetDataRequest {
                path: key_prefix.clone(),
                watch: false,
            },
            exists: ExistsRequest {
                path: key_prefix.clone(),
                watch: false,
            },
            set: SetDataRequest {
                path: key_prefix,
                data: data.clone(),
                version: -1,
            },
            create: CreateRequest {
                path: settings.key_space.sequence_prefix(),
                data,
                acl: Acl::open_unsafe(),
                flags: CreateMode::PersistentSequential.flag(),
            },
            delete: DeleteRequest {
                path: String::new(),
                version: -1,
            },
            created_paths: VecDeque::new(),
            remember_created: settings.mix.contains(Operation::Delete),
            check_replies: settings.check_replies,
            schedule,
            issued_in_window: 0,
            tally: SessionTally::default(),
        }
    }

    fn is_measured(&self, received_at: Instant) -> bool {
        received_at >= self.schedule.window_start
            && !matches!(self.schedule.window_end, Some(end) if received_at >= end)
    }

    /// Whether the schedule allows another request at `now`, counting it against the quota.
    fn may_send(&mut self, now: Instant) -> bool {
        if now >= self.schedule.issue_until {
            return false;
        }
        match self.schedule.quota {
            Some(quota) if now >= self.schedule.window_start => {
                if self.issued_in_window >= quota {
                    return false;
                }
                self.issued_in_window += 1;
                true
            }
            _ => true,
        }
    }

    fn random_key(&mut self) -> u64 {
        self.rng.below(self.keys)
    }

    fn remember_created_path(&mut self, reply: &Reply<'_>) -> Result<(), LoadError> {
        if self.created_paths.len() >= CREATED_PATHS_LIMIT {
            return Ok(());
        }
        let response = decode_response(reply.operation.op_code(), reply.payload)?;
        if let ResponseBody::Create(created) = response.body {
            self.created_paths.push_back(created.path);
        }
        Ok(())
    }
}

impl RequestPlan for LoadPlan {
    fn next_request(&mut self, xid: Xid, now: Instant, out: &mut Vec<u8>) -> Option<Operation> {
        if !self.may_send(now) {
            return None;
        }
        let mut operation = self.mix.pick(&mut self.rng);
        if operation == Operation::Delete && self.created_paths.is_empty() {
            // Nothing of ours left to delete: create instead, so deletes never fail by design.
            operation = Operation::CreateSequential;
        }
        match operation {
            Operation::Get => {
                let key = self.random_key();
                set_key_index(&mut self.get.path, self.key_prefix_len, key);
                write_request_frame(out, xid, operation, &self.get);
            }
            Operation::Exists => {
                let key = self.random_key();
                set_key_index(&mut self.exists.path, self.key_prefix_len, key);
                write_request_frame(out, xid, operation, &self.exists);
            }
            Operation::Set => {
                let key = self.random_key();
                set_key_index(&mut self.set.path, self.key_prefix_len, key);
                write_request_frame(out, xid, operation, &self.set);
            }
            Operation::CreateSequential => write_request_frame(out, xid, operation, &self.create),
            Operation::Delete => {
                self.delete.path = self
                    .created_paths
                    .pop_front()
                    .expect("checked non-empty above");
                write_request_frame(out, xid, operation, &self.delete);
            }
        }
        Some(operation)
    }

    fn on_reply(&mut self, reply: Reply<'_>) -> Result<(), LoadError> {
        if let Err(code) = reply.header.result() {
            let kind = match code {
                Some(code) => format!("{} {code:?} ({})", reply.operation, reply.header.err),
                None => format!(
                    "{} unknown error code {}",
                    reply.operation, reply.header.err
                ),
            };
            self.tally.add_error(kind, 1);
            return Ok(());
        }
        if self.check_replies {
            if let Err(error) = decode_response(reply.operation.op_code(), reply.payload) {
                self.tally
                    .add_error(format!("{} undecodable reply: {error}", reply.operation), 1);
                return Ok(());
            }
        }
        if self.remember_created && reply.operation == Operation::CreateSequential {
            self.remember_created_path(&reply)?;
        }
        if self.is_measured(reply.received_at) {
            let latency = reply.received_at.saturating_duration_since(reply.sent_at);
            self.tally.latency.record(latency);
            self.tally.per_operation[reply.operation.index()].record(latency);
            self.tally.last_measured_reply_at = Some(reply.received_at);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use zk_proto::{
        decode_request, jute::to_bytes, CreateResponse, ErrorCode, OpCode, ReplyHeader, Request,
        RequestBody, Response, Zxid,
    };

    fn settings(mix: &str) -> PlanSettings {
        PlanSettings {
            mix: OpMix::parse(mix).unwrap(),
            key_space: KeySpace::new("/bench", 50).unwrap(),
            data: vec![7; 10],
            check_replies: true,
        }
    }

    fn open_schedule(now: Instant) -> Schedule {
        Schedule {
            window_start: now,
            window_end: None,
            issue_until: now + Duration::from_secs(3600),
            quota: None,
        }
    }

    fn next(plan: &mut LoadPlan, xid: i32, now: Instant) -> Option<Request> {
        let mut out = Vec::new();
        plan.next_request(Xid(xid), now, &mut out)?;
        Some(decode_request(&out[4..]).unwrap())
    }

    fn reply(plan: &mut LoadPlan, operation: Operation, response: &Response, at: Instant) {
        let payload = to_bytes(response);
        plan.on_reply(Reply {
            operation,
            header: response.header,
            payload: &payload,
            sent_at: at - Duration::from_micros(250),
            received_at: at,
        })
        .unwrap();
    }

    #[test]
    fn requests_name_keys_of_the_key_space() {
        let now = Instant::now();
        let mut plan = LoadPlan::new(&settings("get=1,exists=1,set=1"), 1, 0, open_schedule(now));
        for xid in 1..200 {
            let request = next(&mut plan, xid, now).unwrap();
            assert_eq!(request.header.xid, Xid(xid));
            let path = match request.body {
                RequestBody::GetData(body) => body.path,
                RequestBody::Exists(body) => body.path,
                RequestBody::SetData(body) => {
                    assert_eq!(body.data, Some(vec![7; 10]));
                    assert_eq!(body.version, -1);
                    body.path
                }
                other => panic!("unexpected {other:?}"),
            };
            let index: u64 = path.strip_prefix("/bench/key-").unwrap().parse().unwrap();
            assert!(index < 50);
        }
    }

    #[test]
    fn same_seed_same_requests() {
        let now = Instant::now();
        let mut a = LoadPlan::new(&settings("get=3,set=1"), 9, 2, open_schedule(now));
        let mut b = LoadPlan::new(&settings("get=3,set=1"), 9, 2, open_schedule(now));
        for xid in 1..100 {
            assert_eq!(next(&mut a, xid, now), next(&mut b, xid, now));
        }
    }

    #[test]
    fn deletes_use_created_paths_and_fall_back_to_create() {
        let now = Instant::now();
        let mut plan = LoadPlan::new(&settings("delete"), 1, 0, open_schedule(now));
        let first = next(&mut plan, 1, now).unwrap();
        let RequestBody::Create(create) = first.body else {
            panic!("expected a create, got {first:?}");
        };
        assert_eq!(create.path, "/bench/seq/n-");
        assert_eq!(create.flags, CreateMode::PersistentSequential.flag());
        let created = Response::ok(
            Xid(1),
            Zxid(3),
            ResponseBody::Create(CreateResponse {
                path: "/bench/seq/n-0000000000".into(),
            }),
        );
        reply(&mut plan, Operation::CreateSequential, &created, now);
        let second = next(&mut plan, 2, now).unwrap();
        assert_eq!(
            second.body,
            RequestBody::Delete(DeleteRequest {
                path: "/bench/seq/n-0000000000".into(),
                version: -1
            })
        );
        assert_eq!(
            next(&mut plan, 3, now).unwrap().header.op_code,
            OpCode::Create
        );
    }

    #[test]
    fn only_replies_inside_the_window_are_measured_but_all_errors_count() {
        let start = Instant::now();
        let schedule = Schedule {
            window_start: start + Duration::from_secs(1),
            window_end: Some(start + Duration::from_secs(2)),
            issue_until: start + Duration::from_secs(2),
            quota: None,
        };
        let mut plan = LoadPlan::new(&settings("exists"), 1, 0, schedule);
        let ok = Response::ok(Xid(1), Zxid(1), ResponseBody::Empty);
        let ok = Response {
            body: ResponseBody::Exists(Default::default()),
            ..ok
        };
        let failed = Response::error(Xid(2), Zxid(1), ErrorCode::NoNode);
        reply(&mut plan, Operation::Exists, &ok, start);
        reply(&mut plan, Operation::Exists, &failed, start);
        reply(
            &mut plan,
            Operation::Exists,
            &ok,
            start + Duration::from_millis(1500),
        );
        reply(
            &mut plan,
            Operation::Exists,
            &ok,
            start + Duration::from_secs(2),
        );
        assert_eq!(plan.tally.latency.count(), 1);
        assert_eq!(
            plan.tally.per_operation[Operation::Exists.index()].count(),
            1
        );
        assert_eq!(plan.tally.error_count(), 1);
        assert_eq!(
            plan.tally.errors.keys().collect::<Vec<_>>(),
            ["exists NoNode (-101)"]
        );
        assert!(next(&mut plan, 3, start + Duration::from_secs(2)).is_none());
    }

    #[test]
    fn undecodable_reply_is_an_error_when_checking() {
        let now = Instant::now();
        let mut plan = LoadPlan::new(&settings("get"), 1, 0, open_schedule(now));
        // A getData reply with a header and no body.
        let payload = to_bytes(&ReplyHeader::ok(Xid(1), Zxid(1)));
        plan.on_reply(Reply {
            operation: Operation::Get,
            header: ReplyHeader::ok(Xid(1), Zxid(1)),
            payload: &payload,
            sent_at: now,
            received_at: now,
        })
        .unwrap();
        assert_eq!(plan.tally.error_count(), 1);
        assert_eq!(plan.tally.latency.count(), 0);
    }

    #[test]
    fn quota_limits_requests_inside_the_window() {
        let now = Instant::now();
        let schedule = Schedule {
            quota: Some(3),
            ..open_schedule(now)
        };
        let mut plan = LoadPlan::new(&settings("get"), 1, 0, schedule);
        let sent = (1..10).filter_map(|xid| next(&mut plan, xid, now)).count();
        assert_eq!(sent, 3);
    }

    #[test]
    fn tallies_merge() {
        let mut left = SessionTally::default();
        left.add_error("x".into(), 2);
        left.latency.record_us(5);
        let mut right = SessionTally::default();
        right.add_error("x".into(), 1);
        right.add_error("y".into(), 1);
        right.latency.record_us(7);
        left.merge(&right);
        assert_eq!(left.error_count(), 4);
        assert_eq!(left.errors["x"], 3);
        assert_eq!(left.latency.count(), 2);
    }
}
