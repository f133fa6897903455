//! zk-failover and zk-load against a 3-member reference ensemble (Apache ZooKeeper 3.8.0,
//! Debian) on 127.0.0.1: `status` names one leader and two followers, zk-load spreads its
//! sessions over the followers and sums the CPU of all three members, and `kill-leader`
//! kills the leader, measures a failover and names a new leader among the survivors.
//!
//! The reference must be installed: without it this test fails; it never skips.

mod common;

use common::{assert_reference_installed, free_ports, run_binary, ReferenceProcess};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;
use zk_benches::failover_report::FailoverReport;
use zk_benches::report::LoadReport;

const MEMBERS: usize = 3;
const READY_WAIT: &str = "60s";
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

/// Three reference members, stopped and their data removed when dropped.
struct ReferenceEnsemble {
    // Dropped (stopped) before the data directory is removed.
    members: Vec<ReferenceProcess>,
    client_ports: Vec<u16>,
    _data: tempfile::TempDir,
}

impl ReferenceEnsemble {
    /// Starts the members and waits until `zk-failover status` says the ensemble serves;
    /// returns it with that output.
    fn start() -> (ReferenceEnsemble, String) {
        assert_reference_installed();
        // Another process may take a port between free_ports() and the members' binds.
        for _ in 0..3 {
            let ensemble = Self::spawn();
            let (code, status) = run_binary(
                env!("CARGO_BIN_EXE_zk-failover"),
                &[
                    "status".into(),
                    "--member".into(),
                    ensemble.members_arg(false),
                    "--wait".into(),
                    READY_WAIT.into(),
                ],
                TOOL_TIMEOUT,
            );
            if code == 0 {
                return (ensemble, status);
            }
            let logs: Vec<String> = ensemble.members.iter().map(ReferenceProcess::log).collect();
            if logs
                .iter()
                .any(|log| log.contains("Address already in use"))
            {
                eprintln!("a port was taken; retrying");
                continue;
            }
            panic!(
                "the ensemble did not serve (zk-failover status exit {code})\n{}",
                logs.join("\n---- next member ----\n")
            );
        }
        panic!("no free ports for the ensemble after 3 attempts");
    }

    fn spawn() -> ReferenceEnsemble {
        let data = tempfile::tempdir().expect("a temp dir for the ensemble");
        let ports = free_ports(3 * MEMBERS);
        let (client_ports, quorum_ports) = ports.split_at(MEMBERS);
        let server_lines: String = (0..MEMBERS)
            .map(|index| {
                format!(
                    "server.{}=127.0.0.1:{}:{}\n",
                    index + 1,
                    quorum_ports[2 * index],
                    quorum_ports[2 * index + 1]
                )
            })
            .collect();
        let members = (0..MEMBERS)
            .map(|index| {
                let dir = data.path().join(format!("member-{}", index + 1));
                std::fs::create_dir_all(dir.join("data")).expect("creating a dataDir");
                std::fs::write(dir.join("data/myid"), format!("{}\n", index + 1))
                    .expect("writing myid");
                let config = format!(
                    "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
                     clientPortAddress=127.0.0.1\nadmin.enableServer=false\n\
                     4lw.commands.whitelist=*\n{server_lines}",
                    dir.join("data").display(),
                    client_ports[index]
                );
                std::fs::write(dir.join("zoo.cfg"), config).expect("writing zoo.cfg");
                ReferenceProcess::spawn(&dir.join("zoo.cfg"), &dir.join("server.log"))
            })
            .collect();
        ReferenceEnsemble {
            members,
            client_ports: client_ports.to_vec(),
            _data: data,
        }
    }

    /// `--member` for the tools: every client address, with `=PID` if `with_pids`.
    fn members_arg(&self, with_pids: bool) -> String {
        self.members
            .iter()
            .zip(&self.client_ports)
            .map(|(member, port)| {
                if with_pids {
                    format!("127.0.0.1:{port}={}", member.pid())
                } else {
                    format!("127.0.0.1:{port}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The addresses `zk-failover status` printed with `mode`.
fn with_mode(status: &str, mode: &str) -> Vec<String> {
    status
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, line_mode)| *line_mode == mode)
        .map(|(addr, _)| addr.to_owned())
        .collect()
}

#[test]
fn ensemble_load_and_leader_failover_against_the_reference() {
    let (mut ensemble, status) = ReferenceEnsemble::start();
    let leaders = with_mode(&status, "leader");
    let followers = with_mode(&status, "follower");
    assert_eq!(
        (leaders.len(), followers.len()),
        (1, MEMBERS - 1),
        "{status}"
    );

    // Writes spread over the followers, CPU of every member.
    let mut load_args: Vec<String> = vec!["--server".into(), followers.join(",")];
    for member in &ensemble.members {
        load_args.extend(["--server-pid".into(), member.pid().to_string()]);
    }
    load_args.extend(
        [
            "--sessions",
            "2",
            "--in-flight",
            "4",
            "--mix",
            "set=1,create=1",
            "--keys",
            "50",
            "--warmup",
            "0",
            "--requests",
            "400",
            "--json",
        ]
        .map(String::from),
    );
    let (code, stdout) = run_binary(env!("CARGO_BIN_EXE_zk-load"), &load_args, TOOL_TIMEOUT);
    let report: LoadReport = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("zk-load printed no report ({error}): {stdout}"));
    assert_eq!(code, 0, "zk-load exited with {code}: {stdout}");
    assert_eq!(report.errors, 0, "errors: {:?}", report.errors_by_kind);
    assert_eq!(report.ops, 400);
    assert_eq!(report.server, followers.join(","));
    assert_eq!(report.servers.len(), MEMBERS);
    assert!(report.server_cpu_us_per_op.is_some_and(|cpu| cpu > 0.0));

    let failover_args: Vec<String> = [
        "kill-leader",
        "--member",
        &ensemble.members_arg(true),
        "--steady",
        "500ms",
        "--limit",
        "60s",
        "--label",
        "reference:r1",
        "--json",
    ]
    .map(String::from)
    .to_vec();
    let (code, stdout) = run_binary(
        env!("CARGO_BIN_EXE_zk-failover"),
        &failover_args,
        TOOL_TIMEOUT,
    );
    assert_eq!(code, 0, "zk-failover exited with {code}: {stdout}");
    let failover: FailoverReport = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("zk-failover printed no report ({error}): {stdout}"));

    assert_eq!(failover.leader, leaders[0]);
    let killed = ensemble
        .members
        .iter_mut()
        .find(|member| member.pid() == failover.leader_pid)
        .expect("the killed pid is a member's");
    let ended = killed.exit_status().expect("the leader was killed");
    assert_eq!(ended.signal(), Some(libc::SIGKILL));
    assert!(followers.contains(&failover.writer_server), "{failover:?}");
    assert!(failover.writes_before_kill > 0, "{failover:?}");
    assert!(
        failover.failover_ms > 0.0 && failover.failover_ms < 60_000.0,
        "{failover:?}"
    );
    assert!(failover.first_write_latency_ms <= failover.failover_ms);
    assert!(followers.contains(&failover.recovered_via), "{failover:?}");
    let new_leader = failover.new_leader.clone().expect("a new leader");
    assert!(followers.contains(&new_leader), "{failover:?}");
    assert!(!failover.new_session, "the session survives a failover");
    assert_eq!(failover.label, "reference:r1");
}
