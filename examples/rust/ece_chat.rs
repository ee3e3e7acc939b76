//! A chat handed to an ECE agent, end to end against the embedded ECE simulator:
//! the application runs a webhook server, starts a conversation, sends the customer's
//! messages and prints what the agent does until the conversation completes.
//!
//! Against a real ECE, replace the simulator's URL and credentials with yours and
//! register the webhook URL (behind your TLS proxy) in the ECE admin console.

use std::time::Duration;

use cce::ece::messaging::{Customer, MessageType, StartConversation};
use cce::ece::webhook::{EventKind, WebhookAuth};
use cce::ece::{ClientConfig, EceClient, Secret, WebhookConfig, WebhookServer};
use cce::sim::ece::{EceSimConfig, EceSimulator, SimBasic, SimWebhook};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The webhook server ECE posts agent events to.
    let auth = WebhookAuth::Basic {
        username: "ece".into(),
        password: Secret::new("webhook-password"),
    };
    let (hook, mut events) = WebhookServer::start(WebhookConfig::new(auth)).await?;

    // 2. An ECE to talk to (the simulator), calling our webhook.
    let sim = EceSimulator::start(EceSimConfig::default()).await?;
    sim.set_webhook(Some(SimWebhook {
        url: hook.url(),
        basic: Some(SimBasic {
            username: "ece".into(),
            password: "webhook-password".into(),
        }),
        bearer: None,
        ca_pem: None,
    }));

    // 3. The Messaging API client.
    let client = EceClient::new(ClientConfig::new(
        sim.server_url(),
        "sim-key",
        "sim-secret",
        1001,
    ))?;
    let conv = client
        .start_conversation(&StartConversation::new(Customer {
            first_name: Some("Ada".into()),
            email: Some("ada@example.com".into()),
            ..Customer::default()
        }))
        .await?;
    println!("conversation {}", conv.id);

    let mut to_say = vec!["bye", "Hello, I need help with my order"];
    loop {
        let Some(ev) = tokio::time::timeout(Duration::from_secs(10), events.recv()).await? else {
            break;
        };
        match &ev.data.kind {
            EventKind::Assigned => {
                println!("agent assigned: {}", ev.data.content.unwrap_or_default())
            }
            EventKind::StartTyping => println!("agent is typing..."),
            EventKind::EndTyping => {}
            EventKind::Message(_) => println!("agent: {}", ev.data.content.unwrap_or_default()),
            EventKind::Complete => {
                println!("conversation complete");
                break;
            }
            EventKind::Other(t) => println!("event {t}: {}", ev.data.raw),
        }
        // Answer after the assignment and after each agent message.
        if matches!(ev.data.kind, EventKind::Assigned | EventKind::Message(_)) {
            if let Some(text) = to_say.pop() {
                println!("customer: {text}");
                client
                    .send_message(&conv.id, MessageType::Html, text)
                    .await?;
            }
        }
    }
    sim.stop().await;
    hook.stop().await;
    Ok(())
}
