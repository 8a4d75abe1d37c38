//! The durable outbox between the pipeline and the destinations. See `store.rs`.

pub mod entry;
pub mod record;
pub mod store;

pub use entry::{Entry, NewEntry, Retention};
pub use store::{Appended, Damage, Done, OpenReport, Outbox, OutboxSettings};
