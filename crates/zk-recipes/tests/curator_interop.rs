//! A Rust process and a Java process using Curator 5.4 contend on the same mutex, leader
//! latch, read-write lock and semaphore, on Apache ZooKeeper 3.8: the znode layouts and
//! names agree, so each waits for the other. Java, javac and the Debian jars are required (missing is a
//! failure, never a skip).

mod common;

use common::server::{Kind, Server};
use common::{bounded, connect, eventually};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use zk_recipes::recipes::leader::LeaderLatch;
use zk_recipes::recipes::lock::{Mutex, ReadWriteLock, Semaphore, Side};
use zk_recipes::recipes::protected::{is_protected, strip_protection};

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

    fn has_said_anything(&mut self) -> Option<String> {
        self.lines.try_recv().ok()
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_and_curator_share_locks_a_latch_and_a_semaphore() {
    let class_dir = tempfile::tempdir().expect("class dir");
    let compile = {
        let dir = class_dir.path().to_owned();
        tokio::task::spawn_blocking(move || compile_peer(&dir))
    };
    let server = tokio::task::spawn_blocking(|| Server::start_kind(Kind::Reference))
        .await
        .expect("start the reference server");
    compile.await.expect("compile the Java peer");

    let client = connect(&server.address()).await;
    let mut java = JavaPeer::start(class_dir.path(), &server.address(), "/interop").await;

    // Rust holds the mutex; Curator queues behind it and waits.
    let mut mutex = Mutex::new(&client, "/interop/mutex").unwrap();
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
    assert_eq!(java.has_said_anything(), None, "Curator must wait");

    // Rust releases: Curator gets it, and Rust cannot.
    mutex.release().await.unwrap();
    assert_eq!(java.next_line().await, "ACQUIRED");
    assert!(!mutex.try_acquire(Duration::from_millis(300)).await.unwrap());

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

    // Leader latch: Rust joins first and leads; Curator follows; Rust leaves, Curator leads.
    let latch = LeaderLatch::start(&client, "/interop/latch", "rust").unwrap();
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

    // Curator leads; a Rust latch that joins now follows.
    let follower = LeaderLatch::start(&client, "/interop/latch", "rust-again").unwrap();
    assert!(!follower
        .await_leadership(Duration::from_millis(300))
        .await
        .unwrap());
    assert_eq!(java.ask("closelatch").await, "CLOSED");
    assert!(follower
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    follower.close().await;

    // Read-write lock: readers share across languages, a writer excludes the other side.
    let mut rw = ReadWriteLock::new(&client, "/interop/rw").unwrap();
    rw.acquire(Side::Read).await.unwrap();
    assert_eq!(java.ask("read").await, "READING");
    assert_eq!(java.ask("write").await, "NOWRITE", "Rust reads");
    assert_eq!(java.ask("unread").await, "UNREAD");
    rw.release(Side::Read).await.unwrap();
    assert_eq!(java.ask("write").await, "WRITING");
    assert!(!rw
        .try_acquire(Side::Read, Duration::from_millis(300))
        .await
        .unwrap());
    assert!(!rw
        .try_acquire(Side::Write, Duration::from_millis(300))
        .await
        .unwrap());
    assert_eq!(java.ask("unwrite").await, "UNWRITTEN");
    assert!(rw
        .try_acquire(Side::Write, Duration::from_secs(5))
        .await
        .unwrap());
    assert_eq!(java.ask("read").await, "NOREAD", "Rust writes");
    rw.release(Side::Write).await.unwrap();

    // Semaphore with two leases: one Rust, one Java; a third from either side waits.
    let mut semaphore = Semaphore::new(&client, "/interop/semaphore", 2).unwrap();
    let first = semaphore.acquire().await.unwrap();
    assert_eq!(java.ask("lease").await, "LEASED");
    assert!(semaphore
        .try_acquire(Duration::from_millis(300))
        .await
        .unwrap()
        .is_none());
    first.release().await;
    let mut other = Semaphore::new(&client, "/interop/semaphore", 2).unwrap();
    let second = other
        .try_acquire(Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    let third = semaphore
        .try_acquire(Duration::from_millis(300))
        .await
        .unwrap();
    assert!(third.is_none(), "Rust and Java hold both leases");
    assert_eq!(java.ask("return").await, "RETURNED");
    let third = semaphore.try_acquire(Duration::from_secs(5)).await.unwrap();
    assert!(third.is_some());
    second.release().await;
    if let Some(lease) = third {
        lease.release().await;
    }

    assert_eq!(java.ask("quit").await, "BYE");
    bounded("the Java peer to exit", java.child.wait())
        .await
        .expect("wait for java");
    client.close().await;
}
