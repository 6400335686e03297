//! The scaler: turns alarm state into Kubernetes scaling changes by declared policy.
