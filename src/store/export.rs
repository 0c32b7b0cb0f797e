//! Exports (see issue)
