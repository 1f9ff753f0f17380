//! (to be written)

/// A value usable only on the OS thread that created it.
#[derive(Debug)]
pub struct ThreadBound<T>(T);
