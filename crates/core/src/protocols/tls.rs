//! TLS for `https://` hosts and `mqtts://` brokers: rustls with the
//! Mozilla root store, or a CA file; client certificates; and the
//! `insecure` mode for self-signed test servers.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;

/// How to verify the server, and how to prove who we are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// CA certificates (PEM) to trust instead of the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM), with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// Client private key (PEM).
    pub key_file: Option<PathBuf>,
    /// Accept any server certificate (self-signed test servers).
    pub insecure: bool,
}

fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// A client configuration for `options`; files are read now, so a missing
/// or malformed one is an error before any load.
pub fn client_config(options: &TlsOptions) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // ring implements every default protocol version; this cannot fail.
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3");
    let verified = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &options.ca_file {
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(path) => {
                let pem = read(path, "CA file")?;
                for cert in CertificateDer::pem_slice_iter(&pem) {
                    let cert = cert.map_err(|e| format!("CA file {}: {e}", path.display()))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("CA file {}: {e}", path.display()))?;
                }
                if roots.is_empty() {
                    return Err(format!("CA file {}: no certificate in it", path.display()));
                }
            }
        }
        builder.with_root_certificates(roots)
    };
    let config = match (&options.cert_file, &options.key_file) {
        (None, None) => verified.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let pem = read(cert, "client certificate")?;
            let chain = CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("client certificate {}: {e}", cert.display()))?;
            if chain.is_empty() {
                return Err(format!(
                    "client certificate {}: no certificate in it",
                    cert.display()
                ));
            }
            let key_pem = read(key, "client key")?;
            let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| format!("client key {}: {e}", key.display()))?;
            verified
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| format!("client certificate and key: {e}"))?
        }
        _ => return Err("a client certificate needs both `cert` and `key`".into()),
    };
    Ok(Arc::new(config))
}

/// Performs the TLS handshake over `tcp`.
pub async fn connect(
    config: Arc<rustls::ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("invalid server name '{host}': {e}"))?;
    TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())
}

/// Accepts every certificate; signatures are still checked so the
/// handshake stays well-formed.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
