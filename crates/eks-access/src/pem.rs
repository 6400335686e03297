//! The CA bundle of a cluster, from PEM (a file, or DescribeCluster's base64 of it)
//! to the DER certificates TLS clients take.

use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// Why a CA bundle is unusable.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// The base64 text (kubeconfig's `certificate-authority-data`, DescribeCluster's
    /// `certificateAuthority.data`) does not decode.
    #[error("certificateAuthority data is not base64")]
    Base64(#[source] base64::DecodeError),
    /// A PEM section is broken.
    #[error("not a PEM certificate bundle")]
    Pem(#[source] rustls_pki_types::pem::Error),
    /// The text holds no certificate at all.
    #[error("no PEM certificate in the data")]
    Empty,
}

/// The DER certificates of a PEM bundle; an error if there are none.
pub fn pem_to_der(pem: &[u8]) -> Result<Vec<Vec<u8>>, PemError> {
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(PemError::Pem)?;
    if certs.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(certs)
}

/// Base64 of a PEM bundle (whitespace allowed, as in kubeconfig files) to its bytes.
pub fn decode_base64(data: &str) -> Result<Vec<u8>, PemError> {
    let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(PemError::Base64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_certificate_is_refused_with_the_reason() {
        assert!(matches!(pem_to_der(b"hello"), Err(PemError::Empty)));
        assert!(matches!(decode_base64("!!"), Err(PemError::Base64(_))));
        let broken = b"-----BEGIN CERTIFICATE-----\nAAAA";
        assert!(pem_to_der(broken).is_err());
    }
}
