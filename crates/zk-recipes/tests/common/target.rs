//! Running one test body against both servers: [`root`] gives a test its own root path on
//! the shared server of a kind, and [`on_both_servers!`](crate::on_both_servers) turns a
//! body `async fn name(root: TestRoot)` into two tests, `name::ours` and `name::reference`.

use super::proxy::FaultProxy;
use super::server::{shared, Kind, Server};
use zk_recipes::{Client, ClientConfig};

/// A test's own part of a shared server: every path the test uses is under `/<name>`, which
/// its connect strings carry as a chroot, so tests sharing the server never see each other.
pub struct TestRoot {
    server: &'static Server,
    chroot: String,
}

impl TestRoot {
    /// The implementation under test.
    pub fn kind(&self) -> Kind {
        self.server.kind()
    }

    /// The server's client port (for a fault proxy in front of it).
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `127.0.0.1:port/<root>`: a connect string for the test's root.
    pub fn address(&self) -> String {
        format!("{}{}", self.server.address(), self.chroot)
    }

    /// The test's root through `proxy`.
    pub fn through(&self, proxy: &FaultProxy) -> String {
        format!("{}{}", proxy.address(), self.chroot)
    }

    /// `127.0.0.1:port`, without the root (for tools that cannot take a chroot).
    pub fn server_address(&self) -> String {
        self.server.address()
    }

    /// The root path on the server (`/<name>`).
    pub fn chroot(&self) -> &str {
        &self.chroot
    }
}

/// The root `/<name>` on the shared server of `kind` (started on first use), created empty.
pub async fn root(kind: Kind, name: &str) -> TestRoot {
    // Starting a JVM blocks for a second or two; other tests may run meanwhile.
    let server = tokio::task::spawn_blocking(move || shared(kind))
        .await
        .expect("start the shared server");
    let chroot = format!("/{name}");
    let mut config = ClientConfig::new(server.address());
    config.seed = Some(7);
    let client = Client::connect(config)
        .await
        .unwrap_or_else(|error| panic!("connecting to the {kind:?} server: {error}"));
    client
        .ensure_path(&chroot)
        .await
        .unwrap_or_else(|error| panic!("creating {chroot}: {error}"));
    client.close().await;
    TestRoot { server, chroot }
}

/// `on_both_servers!(body)` or `on_both_servers!(body, flavor = "multi_thread", ...)`: two
/// tests, `body::ours` and `body::reference`, each calling `body(root)` with the test's
/// root on that server; the arguments after the name go to `#[tokio::test(...)]`.
#[macro_export]
macro_rules! on_both_servers {
    ($body:ident) => {
        $crate::on_both_servers!($body, flavor = "current_thread");
    };
    ($body:ident, $($runtime:tt)+) => {
        mod $body {
            #[tokio::test($($runtime)+)]
            async fn ours() {
                let kind = $crate::common::server::Kind::Ours;
                super::$body($crate::common::target::root(kind, stringify!($body)).await).await;
            }

            #[tokio::test($($runtime)+)]
            async fn reference() {
                let kind = $crate::common::server::Kind::Reference;
                super::$body($crate::common::target::root(kind, stringify!($body)).await).await;
            }
        }
    };
}
