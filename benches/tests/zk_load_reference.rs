//! zk-load against the reference server: starts Apache ZooKeeper 3.8.0 (Debian) on a free
//! port, runs the zk-load binary for about two seconds with every operation of the mix, and
//! checks that it measured operations and saw no error.
//!
//! The reference must be installed (Debian packages zookeeper and libzookeeper-java, a JRE):
//! without it this test fails; it never skips.

mod common;

use common::{assert_reference_installed, free_ports, run_binary, ReferenceProcess};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use zk_benches::connection::SessionSettings;
use zk_benches::probe::{probe, ProbeOutcome};
use zk_benches::report::LoadReport;

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A standalone reference server on a free port, stopped and its data removed when dropped.
struct ReferenceServer {
    // Dropped (stopped) before the data directory is removed.
    process: ReferenceProcess,
    port: u16,
    _data: tempfile::TempDir,
}

impl ReferenceServer {
    fn start() -> ReferenceServer {
        assert_reference_installed();
        // Another process may take the port between free_ports() and the server's bind.
        for _ in 0..3 {
            let server = Self::spawn(free_ports(1)[0]);
            match server.wait_ready() {
                Ok(()) => return server,
                Err(reason) if server.process.log().contains("Address already in use") => {
                    eprintln!("port taken ({reason}); retrying");
                }
                Err(reason) => panic!(
                    "the reference server did not become ready: {reason}\n--- its log ---\n{}",
                    server.process.log()
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
        let process = ReferenceProcess::spawn(&config_path, &data.path().join("server.log"));
        ReferenceServer {
            process,
            port,
            _data: data,
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn pid(&self) -> u32 {
        self.process.pid()
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
    let (code, stdout) = run_binary(env!("CARGO_BIN_EXE_zk-load"), &args, LOAD_TIMEOUT);
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
