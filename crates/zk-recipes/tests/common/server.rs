//! Servers under test as child processes: ours (`zk-server`) and Apache ZooKeeper 3.8 from
//! Debian, each in its own temporary directory on a free loopback port, stopped by PID.
//!
//! A test may start its own server ([`Server::start_kind`]), or use the one server of each
//! kind that the whole test binary shares ([`shared`]): a JVM takes a second or two to
//! start, so tests that do not stop or restart their server share one, each under a root
//! path of its own. A static is never dropped, so a shared server is started under a small
//! shell "lifeline" that reads a pipe whose writing end only the test process holds: when
//! the test process ends, however it ends, the pipe closes and the shell kills the server
//! (by PID, as its parent) and removes its directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a server may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// tickTime of test servers: sessions may last 2 to 50 ticks (400 ms to 10 s).
const TICK_TIME_MS: u32 = 200;

/// A free port on 127.0.0.1 (another process may take it before it is used; servers that
/// fail to bind are retried on a new one).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Which server implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// This project's `zk-server`.
    Ours,
    /// Apache ZooKeeper 3.8 (Debian's package), run with Java.
    Reference,
}

/// The server of `kind` shared by every test of this test binary, started on first use.
/// It lives until the test process exits (see the module's documentation); tests give it
/// distinct root paths and never stop it.
pub fn shared(kind: Kind) -> &'static Server {
    static OURS: OnceLock<Server> = OnceLock::new();
    static REFERENCE: OnceLock<Server> = OnceLock::new();
    let cell = match kind {
        Kind::Ours => &OURS,
        Kind::Reference => &REFERENCE,
    };
    cell.get_or_init(|| Server::start_with(kind, Lifetime::TestProcess))
}

/// How long a server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lifetime {
    /// Until [`Server::stop`] or drop: a direct child, killed by PID.
    Owner,
    /// Until the test process exits: a child of a lifeline shell.
    TestProcess,
}

/// The lifeline shell: `$1` is the directory to remove, the rest the server's command. Its
/// standard input is the pipe; the server gets none of it.
const LIFELINE_SCRIPT: &str = r#"dir=$1; shift
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
{ read -r _ <&3; kill -9 "$server" 2>/dev/null; } 0<&3 &
lifeline=$!
exec 3<&-
wait "$server"
status=$?
kill "$lifeline" 2>/dev/null
rm -rf "$dir"
exit "$status"
"#;

/// A running (or stopped) server with its data directory.
pub struct Server {
    kind: Kind,
    lifetime: Lifetime,
    dir: TempDir,
    port: u16,
    child: Option<Child>,
    /// A shared server's lifeline: the pipe's writing end, held for the process's life.
    lifeline: Option<ChildStdin>,
}

impl Server {
    /// Starts our server.
    pub fn start() -> Server {
        Server::start_kind(Kind::Ours)
    }

    /// Starts a server of `kind` and waits until it answers a request.
    pub fn start_kind(kind: Kind) -> Server {
        Server::start_with(kind, Lifetime::Owner)
    }

    fn start_with(kind: Kind, lifetime: Lifetime) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("zk-recipes-test-")
            .tempdir()
            .expect("temporary directory");
        let mut server = Server {
            kind,
            lifetime,
            dir,
            port: free_port(),
            child: None,
            lifeline: None,
        };
        for attempt in 0..3 {
            server.spawn();
            if server.wait_ready() {
                return server;
            }
            let log = server.log_tail();
            server.stop();
            assert!(
                attempt < 2,
                "{:?} server did not start:\n{log}",
                server.kind
            );
            server.port = free_port();
        }
        unreachable!()
    }

    /// Which implementation this is.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and waits for it to exit; the data stays (a shared
    /// server's lifeline removes it).
    pub fn stop(&mut self) {
        // Closing the lifeline makes the shell kill its server and exit.
        drop(self.lifeline.take());
        if let Some(mut child) = self.child.take() {
            if self.lifetime == Lifetime::Owner {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same data, on `port`.
    pub fn restart_on(&mut self, port: u16) {
        self.stop();
        self.port = port;
        self.spawn();
        assert!(
            self.wait_ready(),
            "server did not restart:\n{}",
            self.log_tail()
        );
    }

    fn spawn(&mut self) {
        let data_dir = self.dir.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let config_path = self.dir.path().join("zoo.cfg");
        let mut lines = vec![
            format!("tickTime={TICK_TIME_MS}"),
            format!("dataDir={}", data_dir.display()),
            format!("clientPort={}", self.port),
            "clientPortAddress=127.0.0.1".to_owned(),
            "4lw.commands.whitelist=*".to_owned(),
            "admin.enableServer=false".to_owned(),
            "maxClientCnxns=0".to_owned(),
        ];
        if self.kind == Kind::Ours {
            // The reference takes these as Java system properties (see reference_command).
            lines.push("znode.container.checkIntervalMs=1000".to_owned());
            lines.push("extendedTypesEnabled=true".to_owned());
        }
        std::fs::write(&config_path, lines.join("\n") + "\n").expect("write zoo.cfg");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let mut command = match self.kind {
            Kind::Ours => Command::new(server_binary()),
            Kind::Reference => reference_command(),
        };
        command.arg(&config_path);
        let (mut command, stdin) = match self.lifetime {
            Lifetime::Owner => (command, Stdio::null()),
            Lifetime::TestProcess => (under_lifeline(&command, self.dir.path()), Stdio::piped()),
        };
        command
            .stdin(stdin)
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .env("RUST_LOG", "warn");
        // Own process group, so that nothing we start shares signals with the test runner.
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?} server: {e}", self.kind));
        self.lifeline = child.stdin.take();
        self.child = Some(child);
    }

    /// Waits until a request succeeds; false if the process died or time ran out.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    return false;
                }
            }
            if probe(&self.address()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `server` (a command with its arguments) run by the lifeline shell, which removes `dir`
/// after the server.
fn under_lifeline(server: &Command, dir: &Path) -> Command {
    let mut shell = Command::new("/bin/sh");
    shell
        .args(["-c", LIFELINE_SCRIPT, "lifeline"])
        .arg(dir)
        .arg(server.get_program())
        .args(server.get_args());
    shell
}

/// One real request: a handshake, then `exists /` answered without error, on a blocking
/// socket with short timeouts.
fn probe(address: &str) -> bool {
    use std::io::{Read, Write};
    use zk_proto::{ConnectRequest, RequestBody, SessionId, Xid, Zxid};
    let Ok(mut stream) = std::net::TcpStream::connect(address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut out = Vec::new();
    zk_proto::write_frame(
        &mut out,
        &ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid(0),
            time_out: 4000,
            session_id: SessionId::NONE,
            passwd: vec![0; 16],
            read_only: Some(false),
        },
    );
    let request = zk_proto::Request::new(
        Xid(1),
        RequestBody::Exists(zk_proto::ExistsRequest {
            path: "/".into(),
            watch: false,
        }),
    );
    zk_proto::write_frame(&mut out, &request);
    zk_proto::write_frame(
        &mut out,
        &zk_proto::Request::new(Xid(2), RequestBody::CloseSession),
    );
    if stream.write_all(&out).is_err() {
        return false;
    }
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    // The handshake reply, then the exists reply with xid 1 and err 0.
    let mut frames = 0;
    while frames < 2 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
        loop {
            match zk_proto::split_frame(&received, 1 << 20) {
                Ok(Some(frame)) => {
                    let consumed = frame.consumed_len;
                    if frames == 1 {
                        let ok = frame.payload.len() >= 16
                            && frame.payload[..4] == 1i32.to_be_bytes()
                            && frame.payload[12..16] == 0i32.to_be_bytes();
                        return ok;
                    }
                    frames += 1;
                    received.drain(..consumed);
                }
                Ok(None) => break,
                Err(_) => return false,
            }
        }
    }
    false
}

/// Our server binary: `ZK_SERVER_BIN`, or `zk-server` beside the test executable's target
/// directory. Missing is a loud failure (build it with `cargo build -p zk-server`).
pub fn server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("ZK_SERVER_BIN") {
        return PathBuf::from(path);
    }
    // The test runs as <target>/debug/deps/<test>-<hash>.
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable is in <target>/<profile>/deps");
    let binary = profile_dir.join("zk-server");
    assert!(
        binary.exists(),
        "zk-server not found at {}: run `cargo build -p zk-server` with the same target dir, \
         or set ZK_SERVER_BIN",
        binary.display()
    );
    binary
}

/// Debian's zookeeper jars; missing Java or jars is a loud failure.
fn reference_command() -> Command {
    let java = "/usr/bin/java";
    for required in [
        java,
        "/usr/share/java/zookeeper.jar",
        "/usr/share/java/slf4j-log4j12.jar",
        "/usr/share/java/log4j-1.2.jar",
    ] {
        assert!(
            Path::new(required).exists(),
            "{required} is missing: install the Debian packages zookeeper and openjdk"
        );
    }
    let mut command = Command::new(java);
    command.args([
        "-Xms32m",
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar",
        "-Dzookeeper.root.logger=WARN,CONSOLE",
        "-Dzookeeper.extendedTypesEnabled=true",
        "-Dznode.container.checkIntervalMs=1000",
        "org.apache.zookeeper.server.quorum.QuorumPeerMain",
    ]);
    command
}
