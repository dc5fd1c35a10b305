//! TLS for the receiver: a throwaway certificate authority that issues
//! server and client certificates ([`TestCa`]), and the server settings
//! ([`TlsSettings`]) for [`Receiver::start_tls`](crate::Receiver::start_tls),
//! with or without requiring client certificates (mTLS).

use std::io;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The certificate, PEM.
    pub certificate_pem: String,
    /// The private key, PEM (PKCS#8).
    pub private_key_pem: String,
}

/// A certificate authority made for one test, in memory.
///
/// ```
/// let ca = obskit_test_receiver::TestCa::new();
/// let server = ca.issue(&["127.0.0.1", "localhost"]);
/// assert!(ca.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// assert!(server.private_key_pem.contains("PRIVATE KEY"));
/// ```
#[derive(Debug)]
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    certificate_pem: String,
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

impl TestCa {
    /// A new self-signed CA.
    ///
    /// # Panics
    /// When key generation fails (it does not with the bundled crypto).
    pub fn new() -> Self {
        let key = rcgen::KeyPair::generate().expect("generate a CA key");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "obskit test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let certificate = params.self_signed(&key).expect("self-sign the CA");
        Self {
            certificate_pem: certificate.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// The CA's certificate, PEM: what a client trusts
    /// (`OTEL_EXPORTER_OTLP_CERTIFICATE`) or a server requires of clients.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// A certificate for `names` (DNS names or IP addresses), signed by
    /// this CA, usable by servers and clients alike.
    ///
    /// # Panics
    /// When a name is not a valid DNS name or IP address.
    pub fn issue(&self, names: &[&str]) -> Identity {
        let key = rcgen::KeyPair::generate().expect("generate a key");
        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .expect("valid names");
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().copied().unwrap_or("client"),
        );
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let certificate = params.signed_by(&key, &self.issuer).expect("sign");
        Identity {
            certificate_pem: certificate.pem(),
            private_key_pem: key.serialize_pem(),
        }
    }
}

/// How the receiver serves TLS.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The server's certificate and key.
    pub server: Identity,
    /// When set, clients must present a certificate signed by this CA (PEM).
    pub client_ca_pem: Option<String>,
}

impl TlsSettings {
    /// The rustls server configuration, offering HTTP/2 (gRPC) and HTTP/1.1.
    pub(crate) fn server_config(&self) -> io::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?;
        let builder = match &self.client_ca_pem {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca)? {
                    roots.add(cert).map_err(io::Error::other)?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(io::Error::other)?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let key = PrivateKeyDer::from_pem_slice(self.server.private_key_pem.as_bytes())
            .map_err(io::Error::other)?;
        let mut config = builder
            .with_single_cert(certificates(&self.server.certificate_pem)?, key)
            .map_err(io::Error::other)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn certificates(pem: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_build_with_and_without_client_auth() {
        let ca = TestCa::new();
        let server = ca.issue(&["127.0.0.1"]);
        let plain = TlsSettings {
            server: server.clone(),
            client_ca_pem: None,
        };
        assert!(plain.server_config().is_ok());
        let mutual = TlsSettings {
            server,
            client_ca_pem: Some(ca.certificate_pem().to_owned()),
        };
        let config = mutual.server_config().unwrap();
        assert_eq!(config.alpn_protocols[0], b"h2");
    }

    #[test]
    fn a_bad_key_is_an_error() {
        let ca = TestCa::new();
        let mut server = ca.issue(&["localhost"]);
        server.private_key_pem = "nope".into();
        let settings = TlsSettings {
            server,
            client_ca_pem: None,
        };
        assert!(settings.server_config().is_err());
    }
}
