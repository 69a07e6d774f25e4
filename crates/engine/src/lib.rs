//! The engine: the store operations every front door uses.
