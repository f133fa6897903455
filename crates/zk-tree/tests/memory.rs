//! Bytes per znode, measured with a counting global allocator.
//!
//! Method: count the bytes of every live heap allocation (the sizes requested from the
//! allocator), build a tree of `N` znodes, and divide the growth of the live bytes, minus
//! the bytes of all names and data, by the number of znodes. Only the tree is alive at the
//! end: the transactions used to build it are dropped. Two shapes of tree:
//!
//! * small: 1000 parents under the root, the rest spread evenly below them, 7-byte names,
//!   8 bytes of data each;
//! * server: what `zk-load --keys N --root /m` creates (and `/work/prof/mem.sh` measures):
//!   `/m/key-0` .. `/m/key-(N-1)`, 100 bytes of data each.
//!
//! The allocator also estimates what two real allocators reserve for each allocation:
//! glibc's malloc (8 bytes of header, rounded up to 16, at least 32) and jemalloc, the
//! server binary's allocator (size classes four per doubling, 16 apart up to 128; large
//! allocations in whole pages plus the page its cache-oblivious offset spills into). Both
//! add the cost of the one allocation that holds each znode's name, data and stat.
//!
//! `cargo test -p zk-tree --test memory` checks 100 000 znodes; the README's 1M figures come
//! from `ZK_TREE_MEMORY_ZNODES=1000000 cargo test --release -p zk-tree --test memory -- --nocapture --test-threads 1`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use zk_proto::{Acl, SessionId, Zxid};
use zk_tree::{DataTree, TreeConfig, Txn, TxnBody, ZnodePath};

struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_MALLOC_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_JEMALLOC_BYTES: AtomicUsize = AtomicUsize::new(0);

/// What glibc malloc takes for a request of `size` bytes on 64-bit Linux.
fn malloc_chunk(size: usize) -> usize {
    ((size + 8 + 15) & !15).max(32)
}

/// jemalloc 5.3's largest "small" size class; larger requests get whole pages.
const JEMALLOC_SMALL_MAX: usize = 14 * 1024;
const PAGE: usize = 4096;

/// What jemalloc (the zk-server binary's allocator, default build) keeps resident for a
/// request of `size` bytes: small requests take their size class (8, then 16 apart up to
/// 128, then four classes per doubling); a large one the pages it touches, which with the
/// cache-oblivious random offset is one page more than its length in pages (the rest of
/// its size class is never touched).
fn jemalloc_size(size: usize) -> usize {
    if size <= 8 {
        8
    } else if size <= 128 {
        size.next_multiple_of(16)
    } else if size <= JEMALLOC_SMALL_MAX {
        let spacing = size.next_power_of_two() / 8;
        size.next_multiple_of(spacing)
    } else {
        size.next_multiple_of(PAGE) + PAGE
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        LIVE_MALLOC_BYTES.fetch_add(malloc_chunk(layout.size()), Ordering::Relaxed);
        LIVE_JEMALLOC_BYTES.fetch_add(jemalloc_size(layout.size()), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_MALLOC_BYTES.fetch_sub(malloc_chunk(layout.size()), Ordering::Relaxed);
        LIVE_JEMALLOC_BYTES.fetch_sub(jemalloc_size(layout.size()), Ordering::Relaxed);
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
    jemalloc_bytes: usize,
}

impl Measurement {
    fn beyond_payload(&self, bytes: usize) -> f64 {
        (bytes - self.payload_bytes) as f64 / self.znodes as f64
    }

    fn per_znode(&self) -> f64 {
        self.beyond_payload(self.live_bytes)
    }

    fn per_znode_with_malloc(&self) -> f64 {
        self.beyond_payload(self.malloc_bytes)
    }

    fn per_znode_with_jemalloc(&self) -> f64 {
        self.beyond_payload(self.jemalloc_bytes)
    }
}

/// The znodes a measurement creates, in order, with their data.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// 1000 parents under the root, the rest spread evenly below them, 7-byte names and
    /// 8 bytes of data.
    Small,
    /// `/m`, then `/m/key-0` .. `/m/key-(N-2)`, 100 bytes of data each: what `zk-load`
    /// creates.
    Server,
}

const PARENTS: usize = 1000;
const SMALL_DATA: &[u8] = b"8 bytes!";
const SERVER_DATA: &[u8] = &[b'x'; 100];

impl Shape {
    fn data(self) -> &'static [u8] {
        match self {
            Shape::Small => SMALL_DATA,
            Shape::Server => SERVER_DATA,
        }
    }

    /// The path of the `index`-th of `znodes` znodes.
    fn path(self, index: usize) -> String {
        match self {
            Shape::Small if index < PARENTS => format!("/p{index:06}"),
            Shape::Small => {
                let child = index - PARENTS;
                format!("/p{:06}/c{:06}", child % PARENTS, child / PARENTS)
            }
            Shape::Server if index == 0 => "/m".to_owned(),
            Shape::Server => format!("/m/key-{}", index - 1),
        }
    }
}

fn measure(shape: Shape, znodes: usize) -> Measurement {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let malloc_before = LIVE_MALLOC_BYTES.load(Ordering::Relaxed);
    let jemalloc_before = LIVE_JEMALLOC_BYTES.load(Ordering::Relaxed);
    let mut tree = DataTree::new(TreeConfig::default());
    let mut payload_bytes = 0;
    let data = shape.data();
    for index in 0..znodes {
        let path = shape.path(index);
        let name_len = path.len() - path.rfind('/').expect("absolute") - 1;
        payload_bytes += name_len + data.len();
        let zxid = index as i64 + 1;
        // parent_cversion -1: one more than the parent's, as Apache does on replay.
        let txn = Txn {
            zxid: Zxid(zxid),
            time_ms: 1_700_000_000_000 + zxid,
            session_id: SessionId(1),
            body: TxnBody::Create {
                path: ZnodePath::parse(&path).unwrap(),
                data: Some(data.to_vec()),
                acl: Acl::open_unsafe(),
                ephemeral: false,
                parent_cversion: -1,
            },
        };
        let outcome = tree.apply(&txn);
        assert!(outcome.result.error().is_none(), "{path}");
    }
    // The four znodes every tree starts with have empty names... except these three.
    payload_bytes += "zookeeper".len() + "quota".len() + "config".len();
    assert_eq!(tree.node_count(), znodes + 4);
    let measurement = Measurement {
        znodes: tree.node_count(),
        payload_bytes,
        live_bytes: LIVE_BYTES.load(Ordering::Relaxed) - before,
        malloc_bytes: LIVE_MALLOC_BYTES.load(Ordering::Relaxed) - malloc_before,
        jemalloc_bytes: LIVE_JEMALLOC_BYTES.load(Ordering::Relaxed) - jemalloc_before,
    };
    drop(tree);
    measurement
}

fn report(shape: Shape, m: &Measurement) {
    const MIB: f64 = 1024.0 * 1024.0;
    println!(
        "{shape:?}: {} znodes: {:.1} bytes per znode beyond name and data (requested); {:.1} \
         with glibc's per-allocation overhead; {:.1} with jemalloc's; structures {:.1} MiB; \
         everything with jemalloc {:.1} MiB",
        m.znodes,
        m.per_znode(),
        m.per_znode_with_malloc(),
        m.per_znode_with_jemalloc(),
        (m.live_bytes - m.payload_bytes) as f64 / MIB,
        m.jemalloc_bytes as f64 / MIB,
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

/// The 24-byte node, the 16-byte stat of a childless znode unchanged since its creation
/// and the 2-byte header of its allocation, plus the child index and the arena's tables
/// (about 53 bytes in all): a larger number means a field or an allocation per znode was
/// added, or created znodes no longer get the short form.
#[test]
fn bytes_per_znode_stay_under_60() {
    let m = measure(Shape::Small, znodes_to_measure());
    report(Shape::Small, &m);
    assert!(m.per_znode() < 60.0, "{:.1} bytes per znode", m.per_znode());
    assert!(
        m.per_znode_with_malloc() < 80.0,
        "{:.1}",
        m.per_znode_with_malloc()
    );
}

/// With 10-byte names and 100 bytes of data, the name, data, creation stat and 2-byte
/// header fill jemalloc's 128-byte class exactly: the server's resident memory per znode
/// is the node, the index and 128 bytes.
#[test]
fn server_shaped_znodes_fill_their_size_class() {
    let m = measure(Shape::Server, znodes_to_measure());
    report(Shape::Server, &m);
    assert!(
        m.per_znode_with_jemalloc() < 60.0,
        "{:.1} bytes per znode",
        m.per_znode_with_jemalloc()
    );
}
