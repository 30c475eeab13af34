//! The cicada load engine.
