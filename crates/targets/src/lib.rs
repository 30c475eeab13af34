//! Bundled targets.
