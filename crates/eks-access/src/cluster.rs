//! How a config names an EKS cluster: `eks: {name: NAME, region: REGION}`. The same
//! block in the scaler's `clusters:` and in the scraper's `kubernetes_sd_configs`.

use config_error::FieldError;
use serde::Deserialize;

/// An EKS cluster by name and region; both required.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EksCluster {
    /// The EKS cluster name (also the `x-k8s-aws-id` of its tokens).
    pub name: String,
    /// Its region: DescribeCluster and the STS host of the token are regional.
    pub region: String,
}

impl EksCluster {
    /// Checks the block written at `at` (e.g. `clusters.prod.eks`): a name, and a
    /// region that is an AWS region name (lowercase letters, digits, dashes).
    pub fn validate(&self, at: &str) -> Result<(), FieldError> {
        if self.name.is_empty() {
            return Err(FieldError::new(format!("{at}.name"), "empty"));
        }
        let region_ok = !self.region.is_empty()
            && self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(FieldError::new(
                format!("{at}.region"),
                format!("{:?} is not an AWS region name", self.region),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> EksCluster {
        yaml_serde::from_str(text).expect("valid block")
    }

    #[test]
    fn a_region_must_look_like_one() {
        assert!(parse("{name: prod, region: eu-west-1}")
            .validate("eks")
            .is_ok());
        let e = parse("{name: prod, region: EU West}")
            .validate("clusters.prod.eks")
            .expect_err("not a region");
        assert_eq!(e.at, "clusters.prod.eks.region");
        let e = parse("{name: '', region: us-east-1}")
            .validate("eks")
            .expect_err("no name");
        assert_eq!(e.at, "eks.name");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let refused: Result<EksCluster, _> =
            yaml_serde::from_str("{name: prod, region: us-east-1, cluster: x}");
        assert!(refused.is_err());
    }
}
