//! Sluice's client of a running server's REST API, which is ksqlDB's: the shell, `sluice
//! topics` and the tests speak to a server through it. Requests and answers are the types of
//! [`crate::api`], the ones the server writes, so the two cannot drift apart.

mod produce;

use std::io::{BufRead, BufReader, Read};

use thiserror::Error;

pub use self::produce::{ProduceOptions, for_each_chunk};
use crate::api::{
    CloseQueryRequest, ErrorBody, KsqlEntity, KsqlRequest, ServerInfo, ServerInfoResponse,
    StreamedRow,
};

/// The HTTP agent of every request: an error status is an answer to read, not a failure;
/// TLS trusts `roots` when given, else the public web's certificate authorities.
fn agent(roots: Option<Vec<ureq::tls::Certificate<'static>>>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder().http_status_as_error(false);
    if let Some(roots) = roots {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(roots)))
                .build(),
        );
    }
    config.build().into()
}

/// Failures of a client command.
#[derive(Debug, Error)]
pub enum ClientError {
    #[error("Cannot read the input: {0}")]
    Read(#[from] std::io::Error),
    #[error("Cannot reach the server at {server}: {message}")]
    Unreachable { server: String, message: String },
    /// The server refused a request, with ksqlDB's error body.
    #[error("{}", error_message(.0))]
    Server(ErrorBody),
    /// The server refused a chunk; its message says which line and why.
    #[error("{0}")]
    Refused(String),
    /// An answer the API does not allow: a bug of one side or the other.
    #[error("The server at {server} answered what the API does not allow: {message}")]
    Unexpected { server: String, message: String },
}

fn error_message(body: &ErrorBody) -> &str {
    match body {
        ErrorBody::Generic { message, .. } | ErrorBody::Statement { message, .. } => message,
    }
}

/// How to reach a server: its address, who to be there, and which certificate authority to
/// trust for its TLS certificate (else the public web's).
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// `http://host:port` or `https://host:port`.
    pub server: String,
    /// User and password for the server's BASIC authentication.
    pub credentials: Option<(String, String)>,
    /// A PEM file of the certificates that sign the server's.
    pub ca_certificate: Option<std::path::PathBuf>,
}

/// A server's REST API.
#[derive(Debug, Clone)]
pub struct KsqlClient {
    server: String,
    agent: ureq::Agent,
    /// The `Authorization` header of every request.
    authorization: Option<String>,
    connection: Connection,
}

impl KsqlClient {
    /// A client of the server at `server` (`http://host:port`), without credentials.
    pub fn new(server: &str) -> KsqlClient {
        let connection = Connection {
            server: server.to_string(),
            ..Connection::default()
        };
        KsqlClient::connect(&connection).unwrap_or_else(|_| KsqlClient {
            server: server.trim_end_matches('/').to_string(),
            agent: agent(None),
            authorization: None,
            connection,
        })
    }

    /// A client as `connection` says; fails only when its CA certificate cannot be read.
    pub fn connect(connection: &Connection) -> Result<KsqlClient, ClientError> {
        let roots = match &connection.ca_certificate {
            None => None,
            Some(path) => {
                let pem = std::fs::read(path)?;
                let certificates = ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        ClientError::Read(std::io::Error::other(format!("{}: {e}", path.display())))
                    })?;
                if certificates.is_empty() {
                    return Err(ClientError::Read(std::io::Error::other(format!(
                        "{} holds no PEM certificate",
                        path.display()
                    ))));
                }
                Some(certificates)
            }
        };
        let authorization = connection.credentials.as_ref().map(|(user, password)| {
            use base64::Engine as _;
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {encoded}")
        });
        Ok(KsqlClient {
            server: connection.server.trim_end_matches('/').to_string(),
            agent: agent(roots),
            authorization,
            connection: connection.clone(),
        })
    }

    /// The same credentials and trust, at another server.
    pub fn with_server(&self, server: &str) -> Result<KsqlClient, ClientError> {
        KsqlClient::connect(&Connection {
            server: server.to_string(),
            ..self.connection.clone()
        })
    }

    /// A request's builder with the credentials set.
    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        }
    }

    /// The server's address, as given.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// `GET /info`.
    pub fn info(&self) -> Result<ServerInfo, ClientError> {
        let response = self
            .authorized(self.agent.get(format!("{}/info", self.server)))
            .call()
            .map_err(|e| self.unreachable(e))?;
        let info: ServerInfoResponse = self.answer(response)?;
        Ok(info.server_info)
    }

    /// `POST /ksql`: runs statements, one entity each.
    pub fn ksql(&self, request: &KsqlRequest) -> Result<Vec<KsqlEntity>, ClientError> {
        let response = self.post("/ksql", "application/vnd.ksql.v1+json", request)?;
        self.answer(response)
    }

    /// `POST /query`: a pull or push query (or PRINT), whose answer streams.
    pub fn query(&self, request: &KsqlRequest) -> Result<QueryStream, ClientError> {
        let response = self.post("/query", "application/vnd.ksql.v1+json", request)?;
        if !response.status().is_success() {
            return Err(self.refusal(response));
        }
        Ok(QueryStream {
            server: self.server.clone(),
            reader: BufReader::new(Box::new(response.into_body().into_reader())),
            line: String::new(),
        })
    }

    /// `POST /close-query`: ends a push query.
    pub fn close_query(&self, query_id: &str) -> Result<(), ClientError> {
        let request = CloseQueryRequest {
            query_id: Some(query_id.to_string()),
        };
        let response = self.post("/close-query", "application/json", &request)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.refusal(response))
        }
    }

    fn post(
        &self,
        path: &str,
        content_type: &str,
        body: &impl serde::Serialize,
    ) -> Result<ureq::http::Response<ureq::Body>, ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Unexpected {
            server: self.server.clone(),
            message: e.to_string(),
        })?;
        self.authorized(self.agent.post(format!("{}{path}", self.server)))
            .header("Accept", "application/vnd.ksql.v1+json")
            .content_type(content_type)
            .send(&body[..])
            .map_err(|e| self.unreachable(e))
    }

    /// A successful answer's body as `T`, or the server's refusal.
    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        response: ureq::http::Response<ureq::Body>,
    ) -> Result<T, ClientError> {
        if !response.status().is_success() {
            return Err(self.refusal(response));
        }
        let mut body = response.into_body();
        let text = body.read_to_string().map_err(|e| self.unreachable(e))?;
        serde_json::from_str(&text).map_err(|e| ClientError::Unexpected {
            server: self.server.clone(),
            message: format!("{e}: {}", preview(&text)),
        })
    }

    /// An error status's body: ksqlDB's error, or what came instead.
    fn refusal(&self, response: ureq::http::Response<ureq::Body>) -> ClientError {
        let status = response.status();
        let text = response.into_body().read_to_string().unwrap_or_default();
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => ClientError::Server(body),
            Err(_) => ClientError::Server(ErrorBody::Generic {
                error_code: u32::from(status.as_u16()) * 100,
                message: format!("HTTP {status}: {}", preview(&text)),
            }),
        }
    }

    fn unreachable(&self, e: ureq::Error) -> ClientError {
        ClientError::Unreachable {
            server: self.server.clone(),
            message: e.to_string(),
        }
    }
}

/// The first 200 characters of a body, for a message.
fn preview(text: &str) -> String {
    text.chars().take(200).collect()
}

/// A streamed answer of `/query`, read as it arrives.
pub struct QueryStream {
    server: String,
    reader: BufReader<Box<dyn Read + Send>>,
    line: String,
}

impl QueryStream {
    /// The next line of the answer (PRINT's records are lines of text), without its end;
    /// `None` at the end.
    pub fn next_line(&mut self) -> Option<Result<String, ClientError>> {
        self.line.clear();
        match self.reader.read_line(&mut self.line) {
            Ok(0) => None,
            Ok(_) => Some(Ok(self.line.trim_end_matches(['\n', '\r']).to_string())),
            Err(e) => Some(Err(self.broken(e))),
        }
    }

    /// The next element of a query's answer: its header, a row, the final message or an
    /// error; `None` at the end. Each is read as soon as its last byte arrives (the array's
    /// `,` comes only with the next element).
    pub fn next_row(&mut self) -> Option<Result<StreamedRow, ClientError>> {
        loop {
            let next = match self.reader.fill_buf() {
                Ok([]) => return None,
                Ok(buffer) => buffer[0],
                Err(e) => return Some(Err(self.broken(e))),
            };
            if next.is_ascii_whitespace() || matches!(next, b'[' | b',' | b']') {
                self.reader.consume(1);
                continue;
            }
            break;
        }
        let mut element = serde_json::Deserializer::from_reader(&mut self.reader);
        Some(serde::Deserialize::deserialize(&mut element).map_err(|e| {
            if e.is_io() || e.is_eof() {
                ClientError::Unreachable {
                    server: self.server.clone(),
                    message: e.to_string(),
                }
            } else {
                ClientError::Unexpected {
                    server: self.server.clone(),
                    message: e.to_string(),
                }
            }
        }))
    }

    fn broken(&self, e: std::io::Error) -> ClientError {
        ClientError::Unreachable {
            server: self.server.clone(),
            message: e.to_string(),
        }
    }
}
