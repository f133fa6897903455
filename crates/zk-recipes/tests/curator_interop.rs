//! A Rust process and a Java process using Curator 5.4 contend on the same mutex, leader
//! latch, read-write lock, semaphore, semaphore mutex, multi-lock and leader selector, on
//! our server and on Apache ZooKeeper 3.8 (`name::ours`, `name::reference`): the znode
//! layouts and names agree, so each waits for the other. Java, javac and the Debian jars
//! are required (missing is a failure, never a skip).

mod common;

use common::target::TestRoot;
use common::{bounded, connect, eventually};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, Notify};
use zk_recipes::recipes::leader::{LeaderLatch, LeaderSelector};
use zk_recipes::recipes::lock::{MultiLock, Mutex, ReadWriteLock, Semaphore, SemaphoreMutex, Side};
use zk_recipes::recipes::protected::{is_protected, strip_protection};
use zk_recipes::Client;

/// How long a side is watched to show that it waits (says or gets nothing).
const STILL_WAITING: Duration = Duration::from_millis(300);

const CURATOR_JARS: &[&str] = &[
    "/usr/share/java/curator-recipes.jar",
    "/usr/share/java/curator-framework.jar",
    "/usr/share/java/curator-client.jar",
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-nop.jar",
];

/// The Java peer: its stdin, and its stdout lines as they come.
struct JavaPeer {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<String>,
}

impl JavaPeer {
    async fn start(class_dir: &Path, connect: &str, base: &str) -> JavaPeer {
        let classpath = format!("{}:{}", class_dir.display(), CURATOR_JARS.join(":"));
        let mut child = Command::new("/usr/bin/java")
            .args(["-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", &classpath])
            .args(["CuratorPeer", connect, base])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("start the Java peer");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let mut peer = JavaPeer {
            child,
            stdin,
            lines,
        };
        assert_eq!(peer.next_line().await, "READY");
        peer
    }

    async fn send(&mut self, command: &str) {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .expect("write to the Java peer");
        self.stdin.flush().await.expect("flush");
    }

    async fn next_line(&mut self) -> String {
        bounded("a line from the Java peer", self.lines.recv())
            .await
            .expect("the Java peer exited")
    }

    async fn ask(&mut self, command: &str) -> String {
        self.send(command).await;
        self.next_line().await
    }

    /// Fails if the peer says anything within [`STILL_WAITING`].
    async fn stays_silent(&mut self, why: &str) {
        if let Ok(line) = tokio::time::timeout(STILL_WAITING, self.lines.recv()).await {
            panic!("{why}, but the Java peer said {line:?}");
        }
    }
}

/// The Java peer's classes, compiled once per test binary into Cargo's temporary directory
/// for integration tests (inside the target directory).
fn peer_classes() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("curator-peer");
        std::fs::create_dir_all(&dir).expect("class directory");
        compile_peer(&dir);
        dir
    })
}

fn compile_peer(out_dir: &Path) {
    for required in ["/usr/bin/javac", "/usr/bin/java"]
        .iter()
        .chain(CURATOR_JARS)
    {
        assert!(
            Path::new(required).exists(),
            "{required} is missing: install openjdk and the Debian curator/zookeeper packages"
        );
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/java/CuratorPeer.java");
    let status = std::process::Command::new("/usr/bin/javac")
        .arg("-d")
        .arg(out_dir)
        .arg("-cp")
        .arg(CURATOR_JARS.join(":"))
        .arg(&source)
        .status()
        .expect("run javac");
    assert!(status.success(), "javac failed on {}", source.display());
}

/// Every scenario in turn, with one Java peer, under the test's root on one server.
async fn rust_and_curator_share_recipes(root: TestRoot) {
    let classes = tokio::task::spawn_blocking(peer_classes)
        .await
        .expect("compile the Java peer");
    let client = connect(&root.address()).await;
    let mut java = JavaPeer::start(classes, &root.address(), "/interop").await;
    mutex_queues_both_ways(&client, &mut java).await;
    latch_hands_over_both_ways(&client, &mut java).await;
    read_write_lock_shares_reads_and_excludes_writes(&client, &mut java).await;
    semaphore_counts_leases_of_both(&client, &mut java).await;
    semaphore_mutex_excludes_both_ways(&client, &mut java).await;
    multi_lock_holds_all_or_none_across_languages(&client, &mut java).await;
    leader_selector_takes_turns_with_curator(&client, &mut java).await;
    assert_eq!(java.ask("quit").await, "BYE");
    bounded("the Java peer to exit", java.child.wait())
        .await
        .expect("wait for java");
    client.close().await;
}
on_both_servers!(
    rust_and_curator_share_recipes,
    flavor = "multi_thread",
    worker_threads = 2
);

/// `InterProcessMutex`: Rust holds, Curator queues behind it (node names checked) and gets
/// the lock on release; then the other way round.
async fn mutex_queues_both_ways(client: &Client, java: &mut JavaPeer) {
    let mut mutex = Mutex::new(client, "/interop/mutex").unwrap();
    mutex.acquire().await.unwrap();
    java.send("acquire").await;
    let line = eventually("Curator's node in the queue", || async {
        let participants = mutex.participants().await.ok()?;
        (participants.len() == 2).then_some(participants)
    })
    .await;
    let ours = mutex
        .node_path()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(line[0], ours, "Rust's node is first");
    assert!(is_protected(&line[1]), "Curator's node: {}", line[1]);
    let curator_name = strip_protection(&line[1]);
    assert!(
        curator_name.starts_with("lock-") && curator_name.len() == "lock-".len() + 10,
        "Curator's node name: {}",
        line[1]
    );
    assert!(is_protected(&ours) && strip_protection(&ours).starts_with("lock-"));
    java.stays_silent("Curator must wait").await;

    // Rust releases: Curator gets it, and Rust cannot.
    mutex.release().await.unwrap();
    assert_eq!(java.next_line().await, "ACQUIRED");
    assert!(!mutex.try_acquire(STILL_WAITING).await.unwrap());

    // Rust queues behind Curator and gets the lock when Curator releases.
    let waiter = tokio::spawn(async move {
        mutex.acquire().await.unwrap();
        mutex
    });
    eventually("Rust's node in the queue", || async {
        let participants = client.get_children("/interop/mutex").await.ok()?;
        (participants.len() == 2).then_some(())
    })
    .await;
    assert!(!waiter.is_finished(), "Rust must wait for Curator");
    assert_eq!(java.ask("release").await, "RELEASED");
    let mut mutex = bounded("Rust to acquire after Curator", waiter)
        .await
        .unwrap();
    mutex.release().await.unwrap();
}

/// `LeaderLatch`: Rust joins first and leads, Curator follows; Rust leaves and Curator
/// leads; a Rust latch joining now follows until Curator leaves.
async fn latch_hands_over_both_ways(client: &Client, java: &mut JavaPeer) {
    let latch = LeaderLatch::start(client, "/interop/latch", "rust").unwrap();
    assert!(latch
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    assert_eq!(java.ask("latch java").await, "LATCHED");
    let participants = eventually("both latch participants", || async {
        let participants = latch.participants().await.ok()?;
        (participants.len() == 2).then_some(participants)
    })
    .await;
    let ids: Vec<&str> = participants.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["rust", "java"]);
    assert_eq!(java.ask("isleader").await, "LEADER false");
    latch.close().await;
    let mut java_leads = false;
    for _ in 0..100 {
        if java.ask("isleader").await == "LEADER true" {
            java_leads = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(java_leads, "Curator leads once Rust left");

    let follower = LeaderLatch::start(client, "/interop/latch", "rust-again").unwrap();
    assert!(!follower.await_leadership(STILL_WAITING).await.unwrap());
    assert_eq!(java.ask("closelatch").await, "CLOSED");
    assert!(follower
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    follower.close().await;
}

/// `InterProcessReadWriteLock`: readers share across languages, a writer excludes the other
/// side, both ways.
async fn read_write_lock_shares_reads_and_excludes_writes(client: &Client, java: &mut JavaPeer) {
    let mut rw = ReadWriteLock::new(client, "/interop/rw").unwrap();
    rw.acquire(Side::Read).await.unwrap();
    assert_eq!(java.ask("read").await, "READING");
    assert_eq!(java.ask("write").await, "NOWRITE", "Rust reads");
    assert_eq!(java.ask("unread").await, "UNREAD");
    rw.release(Side::Read).await.unwrap();
    assert_eq!(java.ask("write").await, "WRITING");
    assert!(!rw.try_acquire(Side::Read, STILL_WAITING).await.unwrap());
    assert!(!rw.try_acquire(Side::Write, STILL_WAITING).await.unwrap());
    assert_eq!(java.ask("unwrite").await, "UNWRITTEN");
    assert!(rw
        .try_acquire(Side::Write, Duration::from_secs(5))
        .await
        .unwrap());
    assert_eq!(java.ask("read").await, "NOREAD", "Rust writes");
    rw.release(Side::Write).await.unwrap();
}

/// `InterProcessSemaphoreV2` with two leases: one Rust, one Java; a third from either side
/// waits.
async fn semaphore_counts_leases_of_both(client: &Client, java: &mut JavaPeer) {
    let mut semaphore = Semaphore::new(client, "/interop/semaphore", 2).unwrap();
    let first = semaphore.acquire().await.unwrap();
    assert_eq!(java.ask("lease").await, "LEASED");
    assert!(semaphore
        .try_acquire(STILL_WAITING)
        .await
        .unwrap()
        .is_none());
    first.release().await;
    let mut other = Semaphore::new(client, "/interop/semaphore", 2).unwrap();
    let second = other
        .try_acquire(Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    let third = semaphore.try_acquire(STILL_WAITING).await.unwrap();
    assert!(third.is_none(), "Rust and Java hold both leases");
    assert_eq!(java.ask("return").await, "RETURNED");
    let third = semaphore.try_acquire(Duration::from_secs(5)).await.unwrap();
    assert!(third.is_some());
    second.release().await;
    if let Some(lease) = third {
        lease.release().await;
    }
}

/// `InterProcessSemaphoreMutex`: Rust holds, Curator waits until Rust releases; then
/// Curator holds and Rust waits.
async fn semaphore_mutex_excludes_both_ways(client: &Client, java: &mut JavaPeer) {
    let mut mutex = SemaphoreMutex::new(client, "/interop/smutex").unwrap();
    mutex.acquire().await.unwrap();
    java.send("smacquire").await;
    java.stays_silent("Curator must wait for Rust's semaphore mutex")
        .await;
    let mut layout = client.get_children("/interop/smutex").await.unwrap();
    layout.sort();
    assert_eq!(
        layout,
        ["leases", "locks"],
        "InterProcessSemaphoreV2's layout"
    );
    assert_eq!(
        client
            .get_children("/interop/smutex/leases")
            .await
            .unwrap()
            .len(),
        2,
        "Rust's lease, and Curator's, created before it waits (as ours does)"
    );
    mutex.release().await.unwrap();
    assert_eq!(java.next_line().await, "SMACQUIRED");
    assert!(!mutex.try_acquire(STILL_WAITING).await.unwrap());
    assert_eq!(java.ask("smrelease").await, "SMRELEASED");
    assert!(mutex.try_acquire(Duration::from_secs(5)).await.unwrap());
    mutex.release().await.unwrap();
}

/// `InterProcessMultiLock` over two mutexes: Curator cannot take both while Rust holds one
/// (and gives back the one it took); Rust's multi-lock waits while Curator holds both.
async fn multi_lock_holds_all_or_none_across_languages(client: &Client, java: &mut JavaPeer) {
    const PATHS: [&str; 2] = ["/interop/multi/one", "/interop/multi/two"];
    let mut blocker = Mutex::new(client, PATHS[1]).unwrap();
    blocker.acquire().await.unwrap();
    assert_eq!(java.ask("multi").await, "NOMULTI");
    assert!(
        client
            .get_children(PATHS[0])
            .await
            .unwrap_or_default()
            .is_empty(),
        "Curator gave the first lock back"
    );
    blocker.release().await.unwrap();
    assert_eq!(java.ask("multi").await, "MULTI");
    let mut both = MultiLock::new(client, &PATHS).unwrap();
    assert!(!both.try_acquire(STILL_WAITING).await.unwrap());
    let mut first = Mutex::new(client, PATHS[0]).unwrap();
    assert!(!first.try_acquire(STILL_WAITING).await.unwrap());
    assert_eq!(java.ask("unmulti").await, "UNMULTI");
    assert!(both.try_acquire(Duration::from_secs(5)).await.unwrap());
    assert_eq!(java.ask("multi").await, "NOMULTI", "Rust holds both");
    both.release().await.unwrap();
}

/// `LeaderSelector` (auto-requeue on both sides): Rust leads while Curator queues; when
/// Rust's term ends Curator leads and Rust, queued again, waits; when Curator relinquishes
/// Rust leads again.
async fn leader_selector_takes_turns_with_curator(client: &Client, java: &mut JavaPeer) {
    let end_term = Arc::new(Notify::new());
    let terms = Arc::new(AtomicUsize::new(0));
    let selector = LeaderSelector::start(client, "/interop/selector", "rust", true, {
        let end_term = end_term.clone();
        let terms = terms.clone();
        move |_client| {
            let end_term = end_term.clone();
            let terms = terms.clone();
            async move {
                terms.fetch_add(1, Ordering::SeqCst);
                end_term.notified().await;
            }
        }
    })
    .unwrap();
    let mut rust_leads = selector.leadership();
    eventually("Rust's first term", || async {
        (terms.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    assert_eq!(java.ask("select java").await, "SELECTING");
    let participants = eventually("both selector participants", || async {
        let participants = selector.participants().await.ok()?;
        (participants.len() == 2).then_some(participants)
    })
    .await;
    let ids: Vec<&str> = participants.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["rust", "java"]);
    java.stays_silent("Curator must not lead while Rust does")
        .await;

    end_term.notify_one();
    assert_eq!(java.next_line().await, "SELECTED");
    assert!(
        tokio::time::timeout(STILL_WAITING, rust_leads.wait_for(|leads| *leads))
            .await
            .is_err(),
        "Rust must not lead while Curator does"
    );
    assert_eq!(terms.load(Ordering::SeqCst), 1);

    assert_eq!(java.ask("relinquish").await, "RELINQUISHED");
    // The flag goes up just before the leadership task starts its term.
    eventually("Rust's second term", || async {
        (terms.load(Ordering::SeqCst) == 2).then_some(())
    })
    .await;
    assert!(selector.has_leadership());
    assert_eq!(java.ask("closeselector").await, "SELECTORCLOSED");
    eventually("Curator's selector gone", || async {
        (selector.participants().await.ok()?.len() == 1).then_some(())
    })
    .await;
    selector.close().await;
}
