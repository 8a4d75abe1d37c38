//! Model description (manifest) and the checks that a model file matches it.

pub mod manifest;
pub mod verify;
