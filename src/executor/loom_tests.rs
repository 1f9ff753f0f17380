//! loom models (to be written).
