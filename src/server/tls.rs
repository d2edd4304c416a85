//! TLS on the REST listener: rustls, with the certificate chain and private key read from a
//! PEM keystore (Kafka's `ssl.keystore.type=PEM`: one file holding both). HTTP/2 and
//! HTTP/1.1 are offered by ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Reads a PEM keystore into the acceptor of every TLS connection.
pub fn acceptor(keystore: &Path) -> Result<TlsAcceptor, String> {
    let shown = keystore.display();
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(keystore)
        .map_err(|e| format!("Cannot read the keystore {shown}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("Cannot read a certificate in {shown}: {e}"))?;
    if certificates.is_empty() {
        return Err(format!(
            "The keystore {shown} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)"
        ));
    }
    let key = PrivateKeyDer::from_pem_file(keystore).map_err(|e| {
        format!(
            "The keystore {shown} holds no usable private key (expected an unencrypted PEM key: -----BEGIN PRIVATE KEY-----): {e}"
        )
    })?;
    // ring rather than aws-lc-rs: it builds with the C compiler alone (aws-lc needs cmake),
    // at the cost of the post-quantum key exchange rustls now deprecates ring for lacking.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .map_err(|e| format!("The keystore {shown} cannot serve TLS: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
