//! Dubbo-style service discovery: providers register under
//! `/dubbo/<service>/providers`, a consumer follows that list, picks providers at random
//! or round-robin, and sees providers come and go.
//!
//! Provider nodes are ephemeral and named by their URL-encoded URL, as Dubbo does, so a
//! provider that dies disappears from every consumer's list with its session.
//!
//! `cargo run -p zk-recipes --example dubbo_registry -- 127.0.0.1:2181`

mod common;

use common::{bounded, connect, server_address, AnyResult, STEP_LIMIT};
use zk_recipes::recipes::discovery::{Choice, Providers, Role, ServiceRegistry, DEFAULT_ROOT};

const SERVICE: &str = "org.example.DemoService";

fn provider_url(host: &str) -> String {
    format!("dubbo://{host}:20880/{SERVICE}?application=demo-provider&version=1.0.0")
}

/// Shows a few picks of each kind.
fn pick(providers: &Providers) {
    let random: Vec<String> = (0..3)
        .filter_map(|_| providers.choose(Choice::Random))
        .collect();
    let round_robin: Vec<String> = (0..4)
        .filter_map(|_| providers.choose(Choice::RoundRobin))
        .collect();
    println!("consumer: random picks      {random:?}");
    println!("consumer: round-robin picks {round_robin:?}");
}

#[tokio::main]
async fn main() -> AnyResult {
    let address = server_address();

    // Two providers, each its own process and session.
    let mut providers = Vec::new();
    for host in ["10.0.0.1", "10.0.0.2"] {
        let session = connect(&address).await?;
        let registry = ServiceRegistry::new(&session, DEFAULT_ROOT)?;
        let registration = registry
            .register(SERVICE, Role::Provider, &provider_url(host))
            .await?;
        bounded(
            "registration",
            STEP_LIMIT,
            registration.await_joined(STEP_LIMIT),
        )
        .await??;
        println!("provider {host}: registered");
        providers.push((host, session, registration));
    }

    // The consumer registers itself (for admin tools) and subscribes to the providers.
    let consumer = connect(&address).await?;
    let registry = ServiceRegistry::new(&consumer, DEFAULT_ROOT)?;
    let me = registry
        .register(
            SERVICE,
            Role::Consumer,
            &format!("consumer://10.0.0.9/{SERVICE}"),
        )
        .await?;
    let live = registry.subscribe(SERVICE).await?;
    let urls = bounded(
        "two providers",
        STEP_LIMIT,
        live.wait_for(|urls| urls.len() == 2),
    )
    .await??;
    println!("consumer: providers {urls:?}");
    pick(&live);

    // One provider stops: its session ends and its node goes with it.
    let (host, session, _registration) = providers.remove(0);
    session.close().await;
    println!("provider {host}: stopped");
    let urls = bounded(
        "one provider",
        STEP_LIMIT,
        live.wait_for(|urls| urls.len() == 1),
    )
    .await??;
    println!("consumer: providers {urls:?}");
    pick(&live);

    // A new provider comes up.
    let session = connect(&address).await?;
    let registration = ServiceRegistry::new(&session, DEFAULT_ROOT)?
        .register(SERVICE, Role::Provider, &provider_url("10.0.0.3"))
        .await?;
    println!("provider 10.0.0.3: registered");
    let urls = bounded(
        "two providers",
        STEP_LIMIT,
        live.wait_for(|urls| urls.len() == 2),
    )
    .await??;
    println!("consumer: providers {urls:?}");
    pick(&live);
    providers.push(("10.0.0.3", session, registration));

    for (_, session, registration) in providers {
        registration.leave().await;
        session.close().await;
    }
    me.leave().await;
    consumer
        .delete_all(&format!("{DEFAULT_ROOT}/{SERVICE}"))
        .await?;
    consumer.close().await;
    Ok(())
}
