//! Bytes per znode, measured with a counting global allocator.
//!
//! Method: count the bytes of every live heap allocation (the sizes requested from the
//! allocator), build a tree of `N` znodes (1000 parents under the root, the rest spread
//! evenly below them, 7-byte names, 8 bytes of data each), and divide the growth of the
//! live bytes, minus the bytes of all names and data, by the number of znodes. Only the
//! tree is alive at the end: the transactions used to build it are dropped. The allocator
//! also estimates what glibc's malloc really reserves for each allocation (8 bytes of
//! header, rounded up to 16, at least 32), which adds the cost of the one allocation that
//! holds each znode's name and data.
//!
//! `cargo test -p zk-tree --test memory` checks 100 000 znodes; the README's 1M figure comes
//! from `ZK_TREE_MEMORY_ZNODES=1000000 cargo test --release -p zk-tree --test memory -- --nocapture`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use zk_proto::{Acl, SessionId, Zxid};
use zk_tree::{DataTree, TreeConfig, Txn, TxnBody, ZnodePath};

struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_MALLOC_BYTES: AtomicUsize = AtomicUsize::new(0);

/// What glibc malloc takes for a request of `size` bytes on 64-bit Linux.
fn malloc_chunk(size: usize) -> usize {
    ((size + 8 + 15) & !15).max(32)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        LIVE_MALLOC_BYTES.fetch_add(malloc_chunk(layout.size()), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_MALLOC_BYTES.fetch_sub(malloc_chunk(layout.size()), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are global.
static SERIAL: Mutex<()> = Mutex::new(());

struct Measurement {
    znodes: usize,
    payload_bytes: usize,
    live_bytes: usize,
    malloc_bytes: usize,
}

impl Measurement {
    fn per_znode(&self) -> f64 {
        (self.live_bytes - self.payload_bytes) as f64 / self.znodes as f64
    }

    fn per_znode_with_malloc(&self) -> f64 {
        (self.malloc_bytes - self.payload_bytes) as f64 / self.znodes as f64
    }
}

const PARENTS: usize = 1000;
const DATA: &[u8] = b"8 bytes!";

fn measure(znodes: usize) -> Measurement {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let malloc_before = LIVE_MALLOC_BYTES.load(Ordering::Relaxed);
    let mut tree = DataTree::new(TreeConfig::default());
    let mut payload_bytes = 0;
    let mut zxid = 0;
    // parent_cversion -1: one more than the parent's, as Apache does on replay.
    let mut create = |tree: &mut DataTree, path: String| {
        zxid += 1;
        let txn = Txn {
            zxid: Zxid(zxid),
            time_ms: 1_700_000_000_000 + zxid,
            session_id: SessionId(1),
            body: TxnBody::Create {
                path: ZnodePath::parse(&path).unwrap(),
                data: Some(DATA.to_vec()),
                acl: Acl::open_unsafe(),
                ephemeral: false,
                parent_cversion: -1,
            },
        };
        let outcome = tree.apply(&txn);
        assert!(outcome.result.error().is_none(), "{path}");
    };
    for parent in 0..PARENTS {
        let path = format!("/p{parent:06}");
        payload_bytes += path.len() - 1 + DATA.len();
        create(&mut tree, path);
    }
    let children = znodes - PARENTS;
    for child in 0..children {
        let parent = child % PARENTS;
        let name = format!("c{:06}", child / PARENTS);
        payload_bytes += name.len() + DATA.len();
        let path = format!("/p{parent:06}/{name}");
        create(&mut tree, path);
    }
    // The four znodes every tree starts with have empty names... except these three.
    payload_bytes += "zookeeper".len() + "quota".len() + "config".len();
    assert_eq!(tree.node_count(), znodes + 4);
    let measurement = Measurement {
        znodes: tree.node_count(),
        payload_bytes,
        live_bytes: LIVE_BYTES.load(Ordering::Relaxed) - before,
        malloc_bytes: LIVE_MALLOC_BYTES.load(Ordering::Relaxed) - malloc_before,
    };
    drop(tree);
    measurement
}

fn report(m: &Measurement) {
    println!(
        "{} znodes: {:.1} bytes per znode beyond name and data (requested); {:.1} with glibc's \
         per-allocation overhead; structures {:.1} MiB",
        m.znodes,
        m.per_znode(),
        m.per_znode_with_malloc(),
        (m.live_bytes - m.payload_bytes) as f64 / (1024.0 * 1024.0)
    );
}

/// How many znodes to measure: 100 000 by default (fast enough for every test run);
/// `ZK_TREE_MEMORY_ZNODES` sets another count, such as the README's one million.
fn znodes_to_measure() -> usize {
    std::env::var("ZK_TREE_MEMORY_ZNODES")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(100_000)
}

#[test]
fn bytes_per_znode_stay_under_150() {
    let m = measure(znodes_to_measure());
    report(&m);
    assert!(
        m.per_znode() < 150.0,
        "{:.1} bytes per znode",
        m.per_znode()
    );
    assert!(
        m.per_znode_with_malloc() < 160.0,
        "{:.1}",
        m.per_znode_with_malloc()
    );
}
