//! Shared by the tests that run the reference server (Apache ZooKeeper 3.8.0 from Debian):
//! starting it in its own process group, stopping it by PID, free ports, and running the
//! tools' binaries with a time limit.
//!
//! The reference must be installed (Debian packages zookeeper and libzookeeper-java, a JRE):
//! without it these tests fail; they never skip.

#![allow(dead_code)] // each test file uses a part

use std::io::Read;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const JAVA: &str = "/usr/bin/java";
pub const REFERENCE_MAIN: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
pub const REFERENCE_CLASSPATH: [&str; 4] = [
    "/etc/zookeeper/conf",
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
];
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Fails the test, naming what to install, when java or the reference's jars are missing.
pub fn assert_reference_installed() {
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
}

/// One reference server process, in its own process group; stopped (SIGTERM to the group,
/// then SIGKILL) when dropped unless it has ended already.
pub struct ReferenceProcess {
    child: Child,
    log_path: PathBuf,
}

impl ReferenceProcess {
    /// Starts the reference on `config_path`, its output in `log_path`.
    pub fn spawn(config_path: &Path, log_path: &Path) -> ReferenceProcess {
        let log = std::fs::File::create(log_path).expect("creating the server log");
        let child = Command::new(JAVA)
            // Small heap and C1 only: the servers hold little and must start fast on 2 cores.
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
            .arg(config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("starting java");
        ReferenceProcess {
            child,
            log_path: log_path.to_owned(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the process ended, if it has.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("waiting for the server")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for ReferenceProcess {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pid = self.pid() as libc::pid_t;
        // SAFETY: kill only sends a signal; the group is the one this test created for the
        // server (process_group(0) makes its id the server's PID), and the server has not
        // been reaped, so the id is still its.
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

/// `count` distinct free ports on 127.0.0.1 (all held open while they are picked).
pub fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|listener| listener.local_addr().expect("a bound address").port())
        .collect()
}

/// Runs `program` with `args`, bounded by `limit`; returns its exit code and standard output.
pub fn run_binary(program: &str, args: &[String], limit: Duration) -> (i32, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|error| panic!("starting {program}: {error}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the tool") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} did not stop by itself within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut stdout)
        .expect("reading the tool's output");
    (status.code().unwrap_or(-1), stdout)
}
