//! A zkCli-compatible shell: the commands, options and output formats of Apache
//! ZooKeeper 3.8's `zkCli.sh`, on this crate's client. The `zkcli` binary is its front end.
//!
//! - [`parse`]: splitting and option parsing of command lines (pure).
//! - [`mod@format`]: stats, dates, ACLs, lists and error messages as zkCli prints them (pure).
//! - [`exec`]: running one command against a client.

pub mod exec;
pub mod format;
pub mod parse;

pub use exec::{execute, usage, Next, Output};
