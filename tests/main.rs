//! Tests across the functions and of `infra/`, one test binary: the alarm-handler ->
//! SNS -> scaler path on the local stack, and the SAM template's wiring and IAM
//! least privilege (with a small CloudFormation intrinsic resolver, `cfn`, and an IAM
//! policy checker, `iam_check`), the pipeline's own figures from the functions
//! to the deployed collection job (`pipeline_figures`), and the config reference in `docs/reference/`,
//! generated from the config types' doc comments (`config_reference`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod alarm_to_scale;
mod cfn;
mod config_reference;
mod iam_check;
mod pipeline_figures;
mod template_iam;
mod template_shape;

/// The repository root: this package lives in `tests/`.
fn repository_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
