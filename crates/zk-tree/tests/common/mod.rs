//! Helpers shared by the snapshot tests, which build trees through prepare + apply.

use zk_proto::{Id, SessionId};
use zk_tree::AuthContext;

/// The identities of session `session` connected from loopback (its `ip` id).
pub fn loopback_auth(session: i64) -> AuthContext {
    AuthContext::new(
        SessionId(session),
        vec![Id {
            scheme: "ip".into(),
            id: "127.0.0.1".into(),
        }],
    )
}
