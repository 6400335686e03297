//! The root certificates a client trusts when its config names no CA: Mozilla's,
//! compiled into the binary (`webpki-roots`, the version pinned in `Cargo.lock`).
//!
//! Why not the system's: reqwest's default verifier loads the system roots each time a
//! client is built, reading the bundle and scanning `/etc/ssl/certs` (hundreds of
//! files). The scraper builds a client per job and per endpoint, so a run paid that
//! scan several times over, even when every URL was plain http; traced, it was most
//! of a small run's time. The compiled-in roots are already parsed trust anchors:
//! building the rustls config from them costs no file access and no certificate
//! parsing, and it happens once per process ([`OnceLock`]), whatever the number of
//! clients and invocations. A private CA is trusted by naming it in the config
//! (`tls_config.ca` / `ca_file`); such clients trust only the CAs named, and are built
//! by reqwest from those certificates alone (no system roots either).

use std::sync::{Arc, OnceLock};

use rustls::client::WantsClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, ConfigBuilder, RootCertStore, SupportedProtocolVersion};

/// The lowest TLS version a client accepts (`tls_config.min_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinVersion {
    /// TLS 1.2 and 1.3 (the default).
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// The rustls config could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    /// The crypto provider refuses the protocol versions (not expected with
    /// aws-lc-rs; kept so it fails the client, not the run).
    #[error("the TLS library refuses the default settings")]
    Settings(#[source] rustls::Error),
    /// The client certificate is not PEM, or holds no certificate.
    #[error("the client certificate is not a PEM certificate")]
    ClientCert(#[source] Option<rustls::pki_types::pem::Error>),
    /// The client key is not a PEM private key.
    #[error("the client key is not a PEM private key")]
    ClientKey(#[source] rustls::pki_types::pem::Error),
    /// The TLS library refuses the certificate and key together (a key that does
    /// not match the certificate, an unsupported key type).
    #[error("the client certificate and key cannot be used together")]
    ClientAuth(#[source] rustls::Error),
}

type Built = Result<ClientConfig, rustls::Error>;

static TLS12_AND_UP: OnceLock<Built> = OnceLock::new();
static TLS13_ONLY: OnceLock<Built> = OnceLock::new();

/// A rustls config trusting the compiled-in roots, for reqwest's
/// `tls_backend_preconfigured`: built on the first call, cloned after (a clone shares
/// the roots, verifier and provider; it copies only a few small fields).
pub fn compiled_in(min: MinVersion) -> Result<ClientConfig, RootsError> {
    let cell = match min {
        MinVersion::Tls12 => &TLS12_AND_UP,
        MinVersion::Tls13 => &TLS13_ONLY,
    };
    cell.get_or_init(|| build(min))
        .clone()
        .map_err(RootsError::Settings)
}

/// [`compiled_in`] presenting a client certificate (`tls_config.cert` and `key`, PEM).
/// Built for each client that has one (a warm container keeps the client).
pub fn compiled_in_with_client_cert(
    min: MinVersion,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<ClientConfig, RootsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RootsError::ClientCert(Some(e)))?;
    if chain.is_empty() {
        return Err(RootsError::ClientCert(None));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(RootsError::ClientKey)?;
    let mut config = verifying_compiled_in(min)
        .map_err(RootsError::Settings)?
        .with_client_auth_cert(chain, key)
        .map_err(RootsError::ClientAuth)?;
    config.alpn_protocols = alpn();
    Ok(config)
}

fn build(min: MinVersion) -> Built {
    let mut config = verifying_compiled_in(min)?.with_no_client_auth();
    config.alpn_protocols = alpn();
    Ok(config)
}

/// reqwest sets ALPN itself only on configs it builds; a preconfigured one is used
/// as given, so offer what it would offer with the `http2` feature.
fn alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

fn verifying_compiled_in(
    min: MinVersion,
) -> Result<ConfigBuilder<ClientConfig, WantsClientCert>, rustls::Error> {
    // The provider reqwest itself would use: a process default if one is installed,
    // else aws-lc-rs (reqwest's `rustls` feature), so both paths negotiate alike.
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let versions: &[&SupportedProtocolVersion] = match min {
        MinVersion::Tls12 => rustls::ALL_VERSIONS,
        MinVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_root_certificates(roots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_h2_and_http1_whatever_the_lowest_version() {
        for min in [MinVersion::Tls12, MinVersion::Tls13] {
            let config = compiled_in(min).expect("config");
            assert_eq!(
                config.alpn_protocols,
                vec![b"h2".to_vec(), b"http/1.1".to_vec()]
            );
        }
    }

    #[test]
    fn is_built_once_per_process() {
        let first = compiled_in(MinVersion::Tls12).expect("config");
        let second = compiled_in(MinVersion::Tls12).expect("config");
        // Clones of one built config share its crypto provider.
        assert!(Arc::ptr_eq(
            first.crypto_provider(),
            second.crypto_provider()
        ));
        assert!(!webpki_roots::TLS_SERVER_ROOTS.is_empty());
    }

    #[test]
    fn a_client_certificate_that_is_not_pem_is_refused_by_name() {
        let err = compiled_in_with_client_cert(MinVersion::Tls12, b"not pem", b"")
            .expect_err("no certificate");
        assert_eq!(
            err.to_string(),
            "the client certificate is not a PEM certificate"
        );
        let cert = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err =
            compiled_in_with_client_cert(MinVersion::Tls12, cert, b"no key").expect_err("no key");
        assert_eq!(err.to_string(), "the client key is not a PEM private key");
    }
}
