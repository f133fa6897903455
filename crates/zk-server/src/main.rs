//! `zk-server`: runs a ZooKeeper-compatible server.

use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;
use zk_server::config::ServerConfig;

/// jemalloc rather than the system allocator: see this crate's Cargo.toml. Only the binary
/// chooses; the library leaves the choice to whoever embeds it.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Makes every jemalloc arena return its freed pages to the kernel now (see
/// `zk_server::memory`).
#[cfg(not(target_env = "msvc"))]
fn purge_jemalloc_arenas() {
    // 4096 is jemalloc's MALLCTL_ARENAS_ALL: "every arena".
    const PURGE_ALL_ARENAS: &std::ffi::CStr = c"arena.4096.purge";
    // SAFETY: the name is a NUL-terminated static string; this control takes no old or new
    // value, so every pointer is null and the new length 0.
    let status = unsafe {
        tikv_jemalloc_sys::mallctl(
            PURGE_ALL_ARENAS.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if status != 0 {
        tracing::debug!(status, "jemalloc purge failed");
    }
}

const USAGE: &str = "\
zk-server: a ZooKeeper-compatible coordination server

USAGE:
    zk-server                 standalone on 127.0.0.1:2181, data in ./data
    zk-server <zoo.cfg>       configured by an Apache ZooKeeper zoo.cfg file
    zk-server snapshot-dump <FILE>   print a snapshot file (dataDir/version-2/snapshot.*)
    zk-server log-dump <FILE>        print a transaction log segment (dataLogDir/version-2/log.*)
    zk-server --help          this text
    zk-server --version       the version

zoo.cfg keys understood: tickTime, dataDir, dataLogDir, clientPort, clientPortAddress,
maxClientCnxns, minSessionTimeout, maxSessionTimeout, 4lw.commands.whitelist,
jute.maxbuffer, extendedTypesEnabled, znode.container.checkIntervalMs,
superDigest (user:base64(sha1(user:password))), snapCount, zookeeper.snapSizeLimitInKb,
preAllocSize, forceSync (yes/no; `no` acknowledges writes before they are on disk and is
unsafe), autopurge.snapRetainCount, autopurge.purgeInterval, initLimit, syncLimit, server.N.

Ensembles: two or more `server.N=host:quorumPort:electionPort[:participant|observer]` lines
make this server an ensemble member; its id is read from `dataDir/myid`, as Apache's is.
Unknown keys are logged and ignored; a bad value stops the server with an error naming
the key. Logging is controlled by RUST_LOG (default: info).
";

fn main() -> ExitCode {
    #[cfg(not(target_env = "msvc"))]
    zk_server::memory::set_release_freed_pages(purge_jemalloc_arenas);
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match args.as_slice() {
        [] => ServerConfig::default(),
        [flag] if flag == "--help" || flag == "-h" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [command, file] if command == "snapshot-dump" || command == "log-dump" => {
            return dump(command, &PathBuf::from(file));
        }
        [flag] if flag == "--version" || flag == "-V" => {
            println!("zk-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        [path] if !path.starts_with('-') => match ServerConfig::from_file(&PathBuf::from(path)) {
            Ok((config, warnings)) => {
                for warning in warnings {
                    tracing::warn!("{}", warning.0);
                }
                config
            }
            Err(error) => {
                eprintln!("zk-server: {error}");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprint!("zk-server: unexpected arguments {args:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let system = actix::System::new();
    match system.block_on(zk_server::server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            eprintln!("zk-server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a snapshot or log file as text, like Apache's zkSnapShotToolkit/zkTxnLogToolkit.
fn dump(command: &str, file: &std::path::Path) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = match command {
        "snapshot-dump" => zk_server::storage::dump_snapshot(file, &mut out),
        _ => zk_server::storage::dump_log(file, &mut out),
    };
    if let Err(error) = result {
        eprintln!("zk-server {command}: {error}");
        return ExitCode::FAILURE;
    }
    if let Err(error) = std::io::Write::flush(&mut out) {
        eprintln!("zk-server {command}: cannot write the output: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
