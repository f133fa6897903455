//! A zkCli-compatible shell: the commands, options and output formats of Apache
//! ZooKeeper 3.8's `zkCli.sh`, on this crate's client. The `zkcli` binary is its front end.
//!
//! - [`parse`]: splitting and option parsing of command lines (pure).
//! - [`mod@format`]: stats, dates, ACLs, lists, configurations and error messages as zkCli
//!   prints them (pure).
//! - [`exec`]: running one command against a client.
//! - [`quota`]: the quota nodes under `/zookeeper/quota` (`setquota`, `listquota`,
//!   `delquota`).
//! - [`history`]: the numbered history behind `history` and `redo` (pure).
//! - [`shell`]: a session: the shell's own commands, the history, everything else passed
//!   to [`exec`].

pub mod exec;
pub mod format;
pub mod history;
pub mod parse;
pub mod quota;
pub mod shell;

pub use exec::{execute, usage, Next, Output};
pub use shell::Shell;
