//! Graceful shutdown: the first SIGINT/SIGTERM cancels the token and components get
//! `service.shutdown_deadline_secs` to finish; a second signal exits at once.

use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use crate::exit_code;

/// What a signal should do, given how many came before it.
#[derive(Debug, PartialEq, Eq)]
pub enum SignalAction {
    BeginGracefulShutdown,
    ExitNow,
}

pub fn action_for(signals_seen_before: usize) -> SignalAction {
    if signals_seen_before == 0 {
        SignalAction::BeginGracefulShutdown
    } else {
        SignalAction::ExitNow
    }
}

/// Spawns the signal watcher. Fails only if the signal handlers cannot be installed.
pub fn watch_signals(token: CancellationToken, deadline: Duration) -> std::io::Result<()> {
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigterm = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            let name = tokio::select! {
                _ = sigint.recv() => "SIGINT",
                _ = sigterm.recv() => "SIGTERM",
            };
            match action_for(seen) {
                SignalAction::BeginGracefulShutdown => {
                    tracing::info!(
                        signal = name,
                        deadline_secs = deadline.as_secs(),
                        "shutting down gracefully; send the signal again to exit at once"
                    );
                    token.cancel();
                }
                SignalAction::ExitNow => {
                    tracing::warn!(signal = name, "second signal: exiting now");
                    std::process::exit(exit_code::INTERRUPTED);
                }
            }
            seen += 1;
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_signal_is_graceful_second_is_immediate() {
        assert_eq!(action_for(0), SignalAction::BeginGracefulShutdown);
        assert_eq!(action_for(1), SignalAction::ExitNow);
        assert_eq!(action_for(5), SignalAction::ExitNow);
    }
}
