//! What stands between `/login` and the machine. Anyone who can reach the console can
//! post to `/login` before logging in, and each attempt costs an argon2id hash (19 MiB,
//! tens of milliseconds of CPU). So, in this order, before any hash:
//! - **lengths**: a user name of at most 64 characters and a password of at most
//!   1,024 bytes (the form itself is capped at 8 KiB by the route);
//! - **per address**: 30 attempts a minute from one IP address (governor's keyed
//!   GCRA limiter), then 429 with `Retry-After`;
//! - **everyone**: 20 attempts a second in all (a crowd of addresses), then 429;
//! - **per account and address**: five failures for one account from one address
//!   within 5 minutes refuse that address for that account until the window has
//!   passed. The lockout is keyed by the address too, so an attacker cannot lock a
//!   known operator out of the console from somewhere else;
//! - **hashes at once**: verifications run on `HASHES_AT_ONCE` threads of their own;
//!   a request that cannot get a turn within 5 s gets 503. Memory is bounded by that
//!   (4 × 19 MiB), not by the number of requests. Their own threads, not the async
//!   runtime's blocking pool: the allocator keeps a freed 19 MiB block in the arena
//!   of the thread that used it, so hashes spread over a growing pool of blocking
//!   threads kept ≈ 19 MiB each (666 MiB after one burst of bad logins, measured).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// The login form's body limit.
pub const MAX_FORM_BYTES: usize = 8 * 1024;
// A control room behind one address logs in at shift change: room for that.
const PER_ADDRESS_PER_MINUTE: u32 = 30;
const GLOBAL_PER_SECOND: u32 = 20;
const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(300);
const HASHES_AT_ONCE: usize = 4;
const HASH_WAIT: Duration = Duration::from_secs(5);

/// Why an attempt is refused before its password is looked at.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    TooLong,
    /// Too many attempts (from this address, or in all): wait this long.
    RateLimited(Duration),
    /// Too many failures for this account from this address.
    LockedOut(Duration),
    /// Every hashing slot stayed busy.
    Busy,
}

type Job = Box<dyn FnOnce() + Send>;

pub struct LoginGuard {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
    failures: Mutex<HashMap<(String, IpAddr), (u32, Instant)>>,
    /// Turns to hash (one per hashing thread).
    hashing: Semaphore,
    hashers: Mutex<Option<std::sync::mpsc::Sender<Job>>>,
}

/// `HASHES_AT_ONCE` threads taking jobs from one queue.
fn start_hashers() -> Option<std::sync::mpsc::Sender<Job>> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let rx = std::sync::Arc::new(Mutex::new(rx));
    for i in 0..HASHES_AT_ONCE {
        let rx = std::sync::Arc::clone(&rx);
        let spawned = std::thread::Builder::new().name(format!("login-hash-{i}")).spawn(move || loop {
            let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
            match job {
                Ok(job) => job(),
                Err(_) => return, // the guard is gone
            }
        });
        if let Err(e) = spawned {
            tracing::error!("console: cannot start a login hashing thread: {e}");
            return None;
        }
    }
    Some(tx)
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self::with_limits(PER_ADDRESS_PER_MINUTE, GLOBAL_PER_SECOND)
    }
}

impl LoginGuard {
    fn with_limits(per_address_per_minute: u32, global_per_second: u32) -> Self {
        Self {
            per_address: RateLimiter::keyed(Quota::per_minute(nonzero(per_address_per_minute))),
            global: RateLimiter::direct(Quota::per_second(nonzero(global_per_second))),
            failures: Mutex::default(),
            hashing: Semaphore::new(HASHES_AT_ONCE),
            hashers: Mutex::new(start_hashers()),
        }
    }

    /// The checks before a hash, in order (see the module's note).
    pub fn admit(&self, name: &str, password: &str, from: IpAddr) -> Result<(), Refusal> {
        if name.chars().count() > MAX_NAME_CHARS || password.len() > MAX_PASSWORD_BYTES {
            return Err(Refusal::TooLong);
        }
        let now = DefaultClock::default().now();
        if self.per_address.len() > 10_000 {
            self.per_address.retain_recent();
        }
        if let Err(not_until) = self.per_address.check_key(&from) {
            return Err(Refusal::RateLimited(not_until.wait_time_from(now)));
        }
        if let Err(not_until) = self.global.check() {
            return Err(Refusal::RateLimited(not_until.wait_time_from(now)));
        }
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let key = (name.to_string(), from);
        match failures.get(&key).copied() {
            Some((_, first)) if first.elapsed() >= FAILURE_WINDOW => {
                failures.remove(&key);
            }
            Some((count, first)) if count >= MAX_FAILURES => {
                return Err(Refusal::LockedOut(FAILURE_WINDOW - first.elapsed()));
            }
            _ => {}
        }
        Ok(())
    }

    /// Runs `verify` (a password hash) on a hashing thread once one is free, waiting
    /// for a turn at most `HASH_WAIT`.
    pub async fn hash<R: Send + 'static>(&self, verify: impl FnOnce() -> R + Send + 'static) -> Result<R, Refusal> {
        let Ok(Ok(_turn)) = tokio::time::timeout(HASH_WAIT, self.hashing.acquire()).await else {
            return Err(Refusal::Busy);
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(verify());
        });
        let sent = self.hashers.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|h| h.send(job));
        match sent {
            Some(Ok(())) => rx.await.map_err(|_| Refusal::Busy),
            _ => Err(Refusal::Busy),
        }
    }

    pub fn failed(&self, name: &str, from: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() > 10_000 {
            failures.retain(|_, (_, first)| first.elapsed() < FAILURE_WINDOW);
        }
        failures.entry((name.to_string(), from)).or_insert((0, Instant::now())).0 += 1;
    }

    pub fn succeeded(&self, name: &str, from: IpAddr) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&(name.to_string(), from));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lockout_holds_only_for_the_address_that_earned_it() {
        let g = LoginGuard::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            assert_eq!(g.admit("ops", "x", a), Ok(()));
            g.failed("ops", a);
        }
        assert!(matches!(g.admit("ops", "x", a), Err(Refusal::LockedOut(_))));
        assert_eq!(g.admit("ops", "x", b), Ok(()), "another address can still log in as ops");
        assert_eq!(g.admit("other", "x", a), Ok(()));
    }

    #[test]
    fn long_input_and_many_attempts_from_one_address_are_refused_before_hashing() {
        let g = LoginGuard::with_limits(10, 1000);
        let a: IpAddr = "10.0.0.3".parse().unwrap();
        assert_eq!(g.admit(&"x".repeat(65), "p", a), Err(Refusal::TooLong));
        assert_eq!(g.admit("ops", &"p".repeat(1025), a), Err(Refusal::TooLong));
        let admitted = (0..50).filter(|i| g.admit(&format!("user{i}"), "p", a).is_ok()).count();
        assert_eq!(admitted, 10, "guessing across names is limited too");
        assert!(matches!(g.admit("ops", "p", a), Err(Refusal::RateLimited(_))));
        // And everyone together.
        let g = LoginGuard::with_limits(1000, 20);
        let admitted = (0..50u8).filter(|i| g.admit("ops", "p", IpAddr::from([10, 1, 0, *i])).is_ok()).count();
        assert_eq!(admitted, 20);
    }
}
