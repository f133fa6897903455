//! A zkCli session: the commands that belong to the shell rather than to the server
//! (`history`, `redo`, `printwatches`), the numbered history, and every other command
//! handed to [`execute`]. The `zkcli` binary reads lines and prints what comes back.

use super::exec::{execute, Next, Output};
use super::history::History;
use super::parse::split_words;
use crate::client::Client;
use crate::state::ConnectionState;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One shell session's state.
#[derive(Debug)]
pub struct Shell {
    history: History,
    print_watches: Arc<AtomicBool>,
}

impl Default for Shell {
    fn default() -> Self {
        Shell::new()
    }
}

impl Shell {
    /// A session with an empty history that prints watch events.
    pub fn new() -> Shell {
        Shell {
            history: History::new(),
            print_watches: Arc::new(AtomicBool::new(true)),
        }
    }

    /// The number the prompt shows: the next line's place in the history.
    pub fn command_number(&self) -> usize {
        self.history.current()
    }

    /// The `printwatches` switch, shared with whoever prints watch events: zkCli looks at
    /// it when an event fires, not when the watch was set.
    pub fn print_watches(&self) -> Arc<AtomicBool> {
        self.print_watches.clone()
    }

    /// Runs a line typed at the prompt: blank lines are skipped; any other line is
    /// recorded in the history under the prompt's number, then run.
    pub async fn run_line(&mut self, client: &Client, line: &str) -> (Output, Next) {
        let Some(words) = split_words(line) else {
            let output = Output {
                err: format!("unbalanced quotes: {line}\n"),
                failed: true,
                ..Output::default()
            };
            return (output, Next::Continue);
        };
        if words.is_empty() {
            return (Output::default(), Next::Continue);
        }
        self.history.record(line);
        let result = self.run_words(client, &words).await;
        self.history.advance();
        result
    }

    /// Runs one command given as words, without recording it (zkCli's one-command mode,
    /// where `history` lists nothing and `redo` has nothing to redo).
    pub async fn run_words(&mut self, client: &Client, words: &[String]) -> (Output, Next) {
        let Some(command) = words.first() else {
            return (Output::default(), Next::Continue);
        };
        if command == "redo" {
            if let Some(number) = words.get(1) {
                let redone = match self.history.redo(number) {
                    Ok(line) => split_words(&line).unwrap_or_default(),
                    Err(message) => {
                        let output = Output {
                            err: format!("{message}\n"),
                            failed: true,
                            ..Output::default()
                        };
                        return (output, Next::Continue);
                    }
                };
                return self.run_resolved(client, &redone).await;
            }
        }
        self.run_resolved(client, words).await
    }

    /// Runs a command that is not a `redo` with a number.
    async fn run_resolved(&mut self, client: &Client, words: &[String]) -> (Output, Next) {
        let mut output = Output::default();
        let Some(command) = words.first() else {
            return (output, Next::Continue);
        };
        let shell_command = match command.as_str() {
            "history" => {
                output.out.push_str(&self.history.listing());
                true
            }
            "printwatches" => {
                match words.get(1) {
                    Some(switch) => self.print_watches.store(switch == "on", Ordering::SeqCst),
                    None => {
                        let on = self.print_watches.load(Ordering::SeqCst);
                        output.out.push_str(&format!(
                            "printwatches is {}\n",
                            if on { "on" } else { "off" }
                        ));
                    }
                }
                true
            }
            // `redo` without a number does nothing.
            "redo" => true,
            _ => false,
        };
        let needs_session = !matches!(command.as_str(), "quit" | "connect" | "close");
        if needs_session && client.state() == ConnectionState::Closed {
            // zkCli says so after its shell commands too.
            output.out.push_str("Not connected\n");
            return (output, Next::Continue);
        }
        if shell_command {
            return (output, Next::Continue);
        }
        execute(client, words).await
    }
}
