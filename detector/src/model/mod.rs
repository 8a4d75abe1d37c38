//! Model description (manifest), the checks that a model file matches it, and the
//! verified model every inference worker opens a session on.

pub mod loaded;
pub mod manifest;
pub mod verify;
