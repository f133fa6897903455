//! Behaviour of the tree through its public API: prepare + apply as the server drives them,
//! and the reads. One file per area; `support` holds the harness.

mod acl;
mod create;
mod delete_set;
mod multi;
mod pipeline;
mod quota;
mod reap;
mod reserved;
mod session;
mod snapshot;
mod support;
