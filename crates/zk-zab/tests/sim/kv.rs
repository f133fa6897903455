//! The clients' workload: a tiny key-value store replicated through ZAB.
//!
//! Every transaction carries one client request `(client, op id, op)`. Each simulated server
//! applies its delivered transactions to a [`Kv`] and answers the client that submitted the
//! request to it. Reads are ordered operations too (they go through ZAB), so every answer is
//! computed at one point of the agreed sequence, and the linearizability checker can hold
//! the answers against the order the clients saw.
//!
//! A request may be committed twice (a client retries after its server crashed or lost the
//! leadership, and both copies get through). Like ZooKeeper's sessions, the store remembers
//! the last op id and answer of each client: a repeat is answered from that memory and
//! changes nothing, and an older op is ignored.

use std::collections::BTreeMap;

/// Keys per kind: few, so that clients contend.
pub const KEYS: u8 = 3;
pub const PREFIXES: u8 = 2;

/// What a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Set `key` to `value` (creating it at version 0 if absent).
    Write { key: u8, value: u64 },
    /// Set `key` to `value` if it exists at `expected_version`.
    Cas {
        key: u8,
        expected_version: u32,
        value: u64,
    },
    /// The value and version of `key`, ordered through ZAB.
    Read { key: u8 },
    /// The next sequence number under `prefix` (ZooKeeper's sequential create).
    CreateSequential { prefix: u8 },
}

/// What the store answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Output {
    Written { version: u32 },
    Swapped { version: u32 },
    BadVersion,
    Value(Option<(u64, u32)>),
    Sequence(u32),
}

/// One client request, the payload of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub client: u32,
    /// Unique over the whole run; increasing per client.
    pub op_id: u64,
    pub op: Op,
}

/// The value of one key: `(value, version)`, or absent.
pub type Cell = Option<(u64, u32)>;

/// Applies `op` to one key's cell; `None` if `op` is not about a key.
pub fn apply_to_cell(cell: Cell, op: &Op) -> (Cell, Output) {
    match *op {
        Op::Write { value, .. } => {
            let version = cell.map_or(0, |(_, version)| version + 1);
            (Some((value, version)), Output::Written { version })
        }
        Op::Cas {
            expected_version,
            value,
            ..
        } => match cell {
            Some((_, version)) if version == expected_version => (
                Some((value, version + 1)),
                Output::Swapped {
                    version: version + 1,
                },
            ),
            _ => (cell, Output::BadVersion),
        },
        Op::Read { .. } => (cell, Output::Value(cell)),
        Op::CreateSequential { .. } => unreachable!("sequential creates have their own state"),
    }
}

/// Applies a sequential create to the prefix's counter.
pub fn apply_to_sequence(next: u32) -> (u32, Output) {
    (next + 1, Output::Sequence(next))
}

/// A server's state machine.
#[derive(Debug, Clone, Default)]
pub struct Kv {
    cells: BTreeMap<u8, (u64, u32)>,
    sequences: BTreeMap<u8, u32>,
    /// Per client: the last op id applied and its answer.
    last: BTreeMap<u32, (u64, Output)>,
}

impl Kv {
    /// Applies a delivered transaction's payload; returns the request and its answer, or
    /// `None` for a payload that is not a request or for a stale repeat.
    pub fn apply(&mut self, data: &[u8]) -> Option<(Request, Output)> {
        let request = decode(data)?;
        if let Some((last_op, output)) = self.last.get(&request.client) {
            if request.op_id == *last_op {
                return Some((request, *output));
            }
            if request.op_id < *last_op {
                return None;
            }
        }
        let output = match request.op {
            Op::CreateSequential { prefix } => {
                let next = self.sequences.entry(prefix).or_default();
                let (after, output) = apply_to_sequence(*next);
                *next = after;
                output
            }
            op => {
                let key = key_of(&op).expect("a key operation");
                let (cell, output) = apply_to_cell(self.cells.get(&key).copied(), &op);
                match cell {
                    Some(cell) => self.cells.insert(key, cell),
                    None => self.cells.remove(&key),
                };
                output
            }
        };
        self.last.insert(request.client, (request.op_id, output));
        Some((request, output))
    }

    /// The current version of `key`, if it exists.
    pub fn version(&self, key: u8) -> Option<u32> {
        self.cells.get(&key).map(|(_, version)| *version)
    }

    /// The value and version of `key`, read locally (the local-reads test double).
    pub fn read(&self, key: u8) -> Cell {
        self.cells.get(&key).copied()
    }
}

/// The key an operation is about, for the ops on keys.
pub fn key_of(op: &Op) -> Option<u8> {
    match *op {
        Op::Write { key, .. } | Op::Cas { key, .. } | Op::Read { key } => Some(key),
        Op::CreateSequential { .. } => None,
    }
}

/// Encodes a request as a transaction payload: a fixed 26-byte layout.
pub fn encode(request: &Request) -> Vec<u8> {
    let (kind, key, a, b) = match request.op {
        Op::Write { key, value } => (0u8, key, value, 0u32),
        Op::Cas {
            key,
            expected_version,
            value,
        } => (1, key, value, expected_version),
        Op::Read { key } => (2, key, 0, 0),
        Op::CreateSequential { prefix } => (3, prefix, 0, 0),
    };
    let mut bytes = Vec::with_capacity(26);
    bytes.extend_from_slice(&request.client.to_le_bytes());
    bytes.extend_from_slice(&request.op_id.to_le_bytes());
    bytes.push(kind);
    bytes.push(key);
    bytes.extend_from_slice(&a.to_le_bytes());
    bytes.extend_from_slice(&b.to_le_bytes());
    bytes
}

pub fn decode(data: &[u8]) -> Option<Request> {
    if data.len() != 26 {
        return None;
    }
    let client = u32::from_le_bytes(data[0..4].try_into().ok()?);
    let op_id = u64::from_le_bytes(data[4..12].try_into().ok()?);
    let (kind, key) = (data[12], data[13]);
    let a = u64::from_le_bytes(data[14..22].try_into().ok()?);
    let b = u32::from_le_bytes(data[22..26].try_into().ok()?);
    let op = match kind {
        0 => Op::Write { key, value: a },
        1 => Op::Cas {
            key,
            expected_version: b,
            value: a,
        },
        2 => Op::Read { key },
        3 => Op::CreateSequential { prefix: key },
        _ => return None,
    };
    Some(Request { client, op_id, op })
}

#[test]
fn requests_round_trip_and_repeats_change_nothing() {
    let write = Request {
        client: 1,
        op_id: 7,
        op: Op::Cas {
            key: 2,
            expected_version: 0,
            value: 9,
        },
    };
    assert_eq!(decode(&encode(&write)), Some(write));
    let mut kv = Kv::default();
    let first = Request {
        client: 1,
        op_id: 6,
        op: Op::Write { key: 2, value: 5 },
    };
    assert_eq!(
        kv.apply(&encode(&first)).unwrap().1,
        Output::Written { version: 0 }
    );
    assert_eq!(
        kv.apply(&encode(&write)).unwrap().1,
        Output::Swapped { version: 1 }
    );
    assert_eq!(
        kv.apply(&encode(&write)).unwrap().1,
        Output::Swapped { version: 1 },
        "a repeat gets the first answer"
    );
    assert_eq!(kv.apply(&encode(&first)), None, "an older op is ignored");
    assert_eq!(kv.version(2), Some(1));
}
