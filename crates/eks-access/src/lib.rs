//! Reaching an EKS cluster's Kubernetes API from outside the cluster, the way
//! `aws eks update-kubeconfig` + `aws eks get-token` do, with no kubeconfig: the
//! endpoint and CA come from EKS DescribeCluster and the bearer token is a presigned
//! STS `GetCallerIdentity` URL (`k8s-aws-v1.`) signed with the function's own
//! credentials. The scaler (which writes HPAs and Deployments) and the scraper (which
//! lists pods and nodes for discovery, and scrapes through the API server's proxy)
//! share this one implementation, so both reach a cluster the same way and need the
//! same IAM grant (`eks:DescribeCluster`) and EKS access entry.

pub mod access;
pub mod cluster;
pub mod pem;

pub use access::{EksAccess, EksError, Endpoint, TOKEN_REUSE};
pub use cluster::EksCluster;
pub use pem::{pem_to_der, PemError};
