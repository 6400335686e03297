//! Holds the workspace end-to-end tests under tests/.
