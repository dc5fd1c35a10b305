//! The OTLP exporter's TLS material, read from the PEM files that
//! `OTEL_EXPORTER_OTLP_CERTIFICATE`, `..._CLIENT_KEY` and
//! `..._CLIENT_CERTIFICATE` (or their `_TRACES_` and `_LOGS_` forms) name, and checked
//! at `init`, so a bad path or a file that is not PEM fails start-up with
//! an error naming the variable instead of failing every export later.

use crate::config::{TlsFile, TlsFiles};
use crate::error::InitError;

/// PEM bytes, checked. (Empty, and unread, without the `tls` feature.)
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) struct TlsMaterial {
    /// Extra roots for the collector's certificate.
    pub(crate) roots_pem: Option<Vec<u8>>,
    /// The client's certificate chain and key, for mTLS.
    pub(crate) identity: Option<Identity>,
}

#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) struct Identity {
    pub(crate) certificate_pem: Vec<u8>,
    pub(crate) key_pem: Vec<u8>,
}

fn error(file: &TlsFile, reason: impl Into<String>) -> InitError {
    InitError::Tls {
        variable: file.setting,
        path: file.path.display().to_string(),
        reason: reason.into(),
    }
}

/// Reads and checks the configured files.
#[cfg(feature = "tls")]
pub(crate) fn load(files: &TlsFiles) -> Result<TlsMaterial, InitError> {
    let roots_pem = files.certificate.as_ref().map(certificates).transpose()?;
    let identity = match (&files.client_certificate, &files.client_key) {
        (None, None) => None,
        (Some(cert), None) => {
            return Err(error(
                cert,
                "a client certificate needs its private key too; set OTEL_EXPORTER_OTLP_CLIENT_KEY (or its _TRACES_ or _LOGS_ form)",
            ));
        }
        (None, Some(key)) => {
            return Err(error(
                key,
                "a client key needs its certificate too; set OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE (or its _TRACES_ or _LOGS_ form)",
            ));
        }
        (Some(cert), Some(key)) => Some(Identity {
            certificate_pem: certificates(cert)?,
            key_pem: private_key(key)?,
        }),
    };
    Ok(TlsMaterial {
        roots_pem,
        identity,
    })
}

/// Without the `tls` feature there is no TLS to configure.
#[cfg(not(feature = "tls"))]
pub(crate) fn load(files: &TlsFiles) -> Result<TlsMaterial, InitError> {
    let set = [
        &files.certificate,
        &files.client_key,
        &files.client_certificate,
    ];
    match set.into_iter().flatten().next() {
        None => Ok(TlsMaterial::default()),
        Some(file) => Err(error(
            file,
            "obskit was built without its `tls` feature; enable it to use TLS files",
        )),
    }
}

#[cfg(feature = "tls")]
fn read(file: &TlsFile) -> Result<Vec<u8>, InitError> {
    std::fs::read(&file.path).map_err(|e| {
        error(
            file,
            format!("cannot read the file ({e}); give the path of a PEM file"),
        )
    })
}

/// A file of one or more PEM certificates.
#[cfg(feature = "tls")]
fn certificates(file: &TlsFile) -> Result<Vec<u8>, InitError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let pem = read(file)?;
    let mut count = 0usize;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        cert.map_err(|e| error(file, format!("the file is not valid PEM ({e})")))?;
        count += 1;
    }
    if count == 0 {
        return Err(error(
            file,
            "the file holds no certificate; expected PEM blocks starting with -----BEGIN CERTIFICATE-----",
        ));
    }
    Ok(pem)
}

/// A file with a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
#[cfg(feature = "tls")]
fn private_key(file: &TlsFile) -> Result<Vec<u8>, InitError> {
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject;
    let pem = read(file)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        error(
            file,
            format!(
                "the file holds no usable private key ({e}); expected a -----BEGIN PRIVATE KEY----- (or RSA / EC PRIVATE KEY) block"
            ),
        )
    })?;
    Ok(pem)
}

/// The HTTP client for OTLP/HTTP: the transport timeout per request and
/// the TLS material.
pub(crate) fn http_client(
    timeout: std::time::Duration,
    tls: &TlsMaterial,
) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder().timeout(timeout);
    #[cfg(feature = "tls")]
    let builder = {
        let mut builder = builder;
        if let Some(pem) = &tls.roots_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(id) = &tls.identity {
            let mut both = id.certificate_pem.clone();
            both.push(b'\n');
            both.extend_from_slice(&id.key_pem);
            builder = builder.identity(reqwest::Identity::from_pem(&both)?);
        }
        builder
    };
    #[cfg(not(feature = "tls"))]
    let _ = tls;
    builder.build()
}

/// tonic's TLS settings: the platform's roots, the extra roots, the identity.
#[cfg(feature = "tls")]
pub(crate) fn grpc_tls(tls: &TlsMaterial) -> tonic::transport::ClientTlsConfig {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let mut config = ClientTlsConfig::new().with_native_roots();
    if let Some(pem) = &tls.roots_pem {
        config = config.ca_certificate(Certificate::from_pem(pem));
    }
    if let Some(id) = &tls.identity {
        config = config.identity(Identity::from_pem(&id.certificate_pem, &id.key_pem));
    }
    config
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use std::path::Path;

    use super::*;

    fn file(setting: &'static str, path: &Path) -> TlsFile {
        TlsFile {
            setting,
            path: path.to_owned(),
        }
    }

    fn message(files: &TlsFiles) -> String {
        load(files).unwrap_err().to_string()
    }

    #[test]
    fn bad_files_name_their_variable() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();

        let m = message(&TlsFiles {
            certificate: Some(file("OTEL_EXPORTER_OTLP_CERTIFICATE", &missing)),
            ..TlsFiles::default()
        });
        assert!(m.starts_with("OTEL_EXPORTER_OTLP_CERTIFICATE="), "{m}");
        assert!(m.contains("cannot read the file"), "{m}");
        for bad in [&garbage, &broken] {
            let m = message(&TlsFiles {
                certificate: Some(file("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", bad)),
                ..TlsFiles::default()
            });
            assert!(
                m.starts_with("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE="),
                "{m}"
            );
        }
        let m = message(&TlsFiles {
            client_key: Some(file("OTEL_EXPORTER_OTLP_CLIENT_KEY", &garbage)),
            client_certificate: Some(file("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &garbage)),
            ..TlsFiles::default()
        });
        assert!(
            m.starts_with("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE="),
            "{m}"
        );
    }

    #[test]
    fn a_client_identity_needs_both_halves() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let m = message(&TlsFiles {
            client_key: Some(file("OTEL_EXPORTER_OTLP_CLIENT_KEY", &key)),
            ..TlsFiles::default()
        });
        assert!(m.starts_with("OTEL_EXPORTER_OTLP_CLIENT_KEY="), "{m}");
        assert!(m.contains("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"), "{m}");
    }

    #[test]
    fn good_files_load() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let m = load(&TlsFiles {
            certificate: Some(file("A", &cert_path)),
            client_key: Some(file("B", &key_path)),
            client_certificate: Some(file("C", &cert_path)),
        })
        .unwrap();
        assert!(m.roots_pem.is_some() && m.identity.is_some());
        http_client(std::time::Duration::from_secs(1), &m).unwrap();
        let _ = grpc_tls(&m);
        // A key file is not a certificate file.
        let m = message(&TlsFiles {
            certificate: Some(file("OTEL_EXPORTER_OTLP_CERTIFICATE", &key_path)),
            ..TlsFiles::default()
        });
        assert!(m.contains("no certificate"), "{m}");
        let m = message(&TlsFiles {
            client_key: Some(file("OTEL_EXPORTER_OTLP_CLIENT_KEY", &cert_path)),
            client_certificate: Some(file("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &cert_path)),
            ..TlsFiles::default()
        });
        assert!(m.starts_with("OTEL_EXPORTER_OTLP_CLIENT_KEY="), "{m}");
    }
}
