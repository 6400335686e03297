//! The pure core of Kubernetes service discovery: Kubernetes objects in, the targets
//! Prometheus' `kubernetes_sd_configs` would discover from them out.
//!
//! The scraper discovers from outside the cluster, with one paginated LIST per role and
//! namespace per run instead of Prometheus' watches. Users paste the `scrape_configs`
//! they run in Prometheus, Alloy or ADOT, so their relabeling rules must see the same
//! `__address__` and the same `__meta_kubernetes_*` labels. This crate is where that
//! sameness lives, kept free of I/O so it can be tested object by object: the LIST calls,
//! the config schema and the relabeling belong to the scraper.
//!
//! Each role in [`roles`] turns one object into its [`Target`]s (group labels already
//! merged in); the endpoints, endpointslice and pod roles join other objects of the run
//! through a [`Lookup`]. The reference is Prometheus v3.14.0's
//! `discovery/kubernetes/*.go`; where its docs say otherwise, the code wins and the role's
//! docs say where.

pub mod labels;
pub mod roles;
pub mod target;

pub use roles::{AttachMetadata, Lookup};
pub use target::{ObjectError, Problem, Target};
