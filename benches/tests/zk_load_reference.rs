//! zk-load against the reference server: starts Apache ZooKeeper 3.8.0 (Debian) on a free
//! port, runs the zk-load binary for about two seconds with every operation of the mix, and
//! checks that it measured operations and saw no error.
//!
//! The reference must be installed (Debian packages zookeeper and libzookeeper-java, a JRE):
//! without it this test fails; it never skips.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zk_benches::connection::SessionSettings;
use zk_benches::probe::{probe, ProbeOutcome};
use zk_benches::report::LoadReport;

const JAVA: &str = "/usr/bin/java";
const REFERENCE_MAIN: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
const REFERENCE_CLASSPATH: [&str; 4] = [
    "/etc/zookeeper/conf",
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
];
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A reference server in its own process group, stopped (by PID) and its data removed when
/// dropped.
struct ReferenceServer {
    child: Child,
    port: u16,
    log_path: PathBuf,
    // Removed on drop, after the server is stopped.
    _data: tempfile::TempDir,
}

impl ReferenceServer {
    fn start() -> ReferenceServer {
        assert!(
            Path::new(JAVA).exists(),
            "{JAVA} is missing: this test needs a JRE (openjdk-17-jre-headless) to run the reference server"
        );
        for jar in &REFERENCE_CLASSPATH[1..] {
            assert!(
                Path::new(jar).exists(),
                "{jar} is missing: install the Debian packages zookeeper and libzookeeper-java"
            );
        }
        // Another process may take the port between free_port() and the server's bind.
        for _ in 0..3 {
            let server = Self::spawn(free_port());
            match server.wait_ready() {
                Ok(()) => return server,
                Err(reason) if server.log().contains("Address already in use") => {
                    eprintln!("port taken ({reason}); retrying");
                }
                Err(reason) => panic!(
                    "the reference server did not become ready: {reason}\n--- its log ---\n{}",
                    server.log()
                ),
            }
        }
        panic!("no free port for the reference server after 3 attempts");
    }

    fn spawn(port: u16) -> ReferenceServer {
        let data = tempfile::tempdir().expect("a temp dir for the reference server");
        let config_path = data.path().join("zoo.cfg");
        let config = format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             admin.enableServer=false\n4lw.commands.whitelist=*\n",
            data.path().join("data").display()
        );
        std::fs::write(&config_path, config).expect("writing zoo.cfg");
        let log_path = data.path().join("server.log");
        let log = std::fs::File::create(&log_path).expect("creating the server log");
        let child = Command::new(JAVA)
            // Small heap and C1 only: the server holds little and must start fast on 2 cores.
            .args([
                "-Xms32m",
                "-Xmx512m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
            ])
            .arg("-cp")
            .arg(REFERENCE_CLASSPATH.join(":"))
            .arg("-Dzookeeper.root.logger=INFO,CONSOLE")
            .arg(REFERENCE_MAIN)
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("starting java");
        ReferenceServer {
            child,
            port,
            log_path,
            _data: data,
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ready means a real request was answered (`ruok` answers before the database loads).
    fn wait_ready(&self) -> Result<(), String> {
        let settings = SessionSettings {
            addr: self.addr(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(5),
            session_timeout_ms: 10_000,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let result = runtime.block_on(probe(settings, "/", READY_TIMEOUT));
        match result.outcome {
            ProbeOutcome::Found => Ok(()),
            other => Err(format!("{other:?} after {:?}", result.elapsed)),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        let pid = self.pid() as libc::pid_t;
        // SAFETY: kill only sends a signal; the group is the one this test created for the
        // server (process_group(0) makes its id the server's PID).
        unsafe { libc::kill(-pid, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("binding an ephemeral port")
        .port()
}

/// Runs the zk-load binary with `args`, bounded by [`LOAD_TIMEOUT`]; returns its exit code
/// and standard output.
fn run_zk_load(args: &[String]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zk-load"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting zk-load");
    let deadline = Instant::now() + LOAD_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for zk-load") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("zk-load did not stop by itself within {LOAD_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut stdout)
        .expect("reading zk-load's output");
    (status.code().unwrap_or(-1), stdout)
}

#[test]
fn zk_load_measures_every_operation_against_the_reference_without_errors() {
    let server = ReferenceServer::start();
    let args: Vec<String> = [
        "--server",
        &server.addr().to_string(),
        "--server-pid",
        &server.pid().to_string(),
        "--sessions",
        "2",
        "--in-flight",
        "10",
        "--mix",
        "get=3,exists=1,set=2,create=2,delete=1",
        "--keys",
        "200",
        "--warmup",
        "500ms",
        "--duration",
        "2s",
        "--check-replies",
        "--json",
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    let (code, stdout) = run_zk_load(&args);
    let report: LoadReport = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("zk-load printed no report ({error}): {stdout}"));
    assert_eq!(code, 0, "zk-load exited with {code}: {stdout}");
    assert_eq!(report.errors, 0, "errors: {:?}", report.errors_by_kind);
    assert!(
        report.session_failures.is_empty(),
        "{:?}",
        report.session_failures
    );
    assert!(report.ops > 0, "{report:?}");
    assert!(report.ops_per_s > 0.0);
    for operation in ["get", "exists", "set", "create", "delete"] {
        let count = report
            .per_operation
            .get(operation)
            .map_or(0, |latency| latency.count);
        assert!(count > 0, "no {operation} measured: {report:?}");
    }
    assert!(report.latency.p50_us > 0 && report.latency.p50_us <= report.latency.max_us);
    assert_eq!(report.setup.map(|setup| setup.znodes), Some(202));
    let server_cpu = report
        .server_cpu_us_per_op
        .expect("the server pid was given");
    assert!(server_cpu > 0.0, "{report:?}");
    assert!(report.server_rss_kb.is_some_and(|kb| kb > 0));
    assert!(report.client_cpu_us_per_op.is_some_and(|cpu| cpu > 0.0));
}
