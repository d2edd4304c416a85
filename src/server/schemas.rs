//! Confluent Schema Registry's REST API over the embedded registry, so that a Kafka client's
//! serializers (and anyone with curl) can read and register the schemas of the AVRO, JSON_SR
//! and PROTOBUF topics at the server's own address.
//!
//! Sluice's registry checks no compatibility between versions: its level is `NONE`, under
//! which every schema is compatible, and it says so rather than pretending to check another.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppState;
use crate::registry::{RegisteredSchema, SchemaRegistry, SchemaType};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Confluent's error codes: the HTTP status × 100 + a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegistryErrorCode {
    /// A body that is not the JSON asked for: Confluent answers the HTTP status alone.
    MalformedRequest = 400,
    SubjectNotFound = 40401,
    VersionNotFound = 40402,
    SchemaNotFound = 40403,
    InvalidSchema = 42201,
    InvalidVersion = 42202,
    InvalidCompatibilityLevel = 42203,
}

impl RegistryErrorCode {
    fn status(self) -> StatusCode {
        let code = self as u32;
        let status = if code < 1000 { code } else { code / 100 };
        u16::try_from(status)
            .ok()
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

struct RegistryError(RegistryErrorCode, String);

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.0 as u32, "message": self.1});
        answer(self.0.status(), &body)
    }
}

fn answer(status: StatusCode, body: &impl Serialize) -> Response {
    let body = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

fn ok(body: &impl Serialize) -> Response {
    answer(StatusCode::OK, body)
}

fn registry(state: &AppState) -> SchemaRegistry {
    state.registry.clone()
}

/// A schema as the API shows it: `schemaType` is left out for AVRO, as Confluent does.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SchemaBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_type: Option<&'static str>,
    schema: String,
}

fn schema_type_field(schema_type: SchemaType) -> Option<&'static str> {
    (schema_type != SchemaType::Avro).then(|| schema_type.name())
}

fn subject_not_found(subject: &str) -> RegistryError {
    RegistryError(
        RegistryErrorCode::SubjectNotFound,
        format!("Subject '{subject}' not found."),
    )
}

/// The version a path names: a number from 1, or `latest` (also -1).
fn version_index(versions: &[u32], version: &str) -> Result<usize, RegistryError> {
    let invalid = || {
        RegistryError(
            RegistryErrorCode::InvalidVersion,
            format!(
                "The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
        )
    };
    let number = match version {
        "latest" | "-1" => return Ok(versions.len().saturating_sub(1)),
        other => other.parse::<i64>().map_err(|_| invalid())?,
    };
    if !(1..=i64::from(i32::MAX)).contains(&number) {
        return Err(invalid());
    }
    let index = usize::try_from(number - 1).map_err(|_| invalid())?;
    if index >= versions.len() {
        return Err(RegistryError(
            RegistryErrorCode::VersionNotFound,
            format!("Version {number} not found."),
        ));
    }
    Ok(index)
}

/// A subject's version: its number and schema.
fn subject_version(
    registry: &SchemaRegistry,
    subject: &str,
    version: &str,
) -> Result<(u32, Arc<RegisteredSchema>), RegistryError> {
    let versions = registry
        .versions(subject)
        .ok_or_else(|| subject_not_found(subject))?;
    let index = version_index(&versions, version)?;
    let schema = versions
        .get(index)
        .and_then(|id| registry.by_id(*id))
        .ok_or_else(|| subject_not_found(subject))?;
    let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
    Ok((number, schema))
}

/// `GET /subjects`
pub async fn subjects(State(state): State<Arc<AppState>>) -> Response {
    ok(&registry(&state).subjects())
}

/// `GET /subjects/{subject}/versions`
pub async fn versions(State(state): State<Arc<AppState>>, Path(subject): Path<String>) -> Response {
    match registry(&state).versions(&subject) {
        Some(ids) => ok(&(1..=ids.len()).collect::<Vec<_>>()),
        None => subject_not_found(&subject).into_response(),
    }
}

/// `GET /subjects/{subject}/versions/{version}`
pub async fn version(
    State(state): State<Arc<AppState>>,
    Path((subject, version)): Path<(String, String)>,
) -> Response {
    match subject_version(&registry(&state), &subject, &version) {
        Ok((number, schema)) => ok(&SchemaBody {
            subject: Some(subject),
            version: Some(number),
            id: Some(schema.id),
            schema_type: schema_type_field(schema.schema_type),
            schema: schema.text.clone(),
        }),
        Err(e) => e.into_response(),
    }
}

/// `GET /subjects/{subject}/versions/{version}/schema`: the schema's text alone.
pub async fn version_schema(
    State(state): State<Arc<AppState>>,
    Path((subject, version)): Path<(String, String)>,
) -> Response {
    match subject_version(&registry(&state), &subject, &version) {
        Ok((_, schema)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            schema.text.clone(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

fn schema_by_id(
    registry: &SchemaRegistry,
    id: &str,
) -> Result<Arc<RegisteredSchema>, RegistryError> {
    id.parse::<u32>()
        .ok()
        .and_then(|id| registry.by_id(id))
        .ok_or_else(|| {
            RegistryError(
                RegistryErrorCode::SchemaNotFound,
                format!("Schema {id} not found"),
            )
        })
}

/// `GET /schemas/ids/{id}`
pub async fn by_id(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match schema_by_id(&registry(&state), &id) {
        Ok(schema) => ok(&SchemaBody {
            subject: None,
            version: None,
            id: None,
            schema_type: schema_type_field(schema.schema_type),
            schema: schema.text.clone(),
        }),
        Err(e) => e.into_response(),
    }
}

/// `GET /schemas/ids/{id}/versions`: the subjects and versions that use a schema.
pub async fn id_versions(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let registry = registry(&state);
    match schema_by_id(&registry, &id) {
        Ok(schema) => {
            let uses: Vec<_> = registry
                .uses_of(schema.id)
                .into_iter()
                .map(|(subject, version)| json!({"subject": subject, "version": version}))
                .collect();
            ok(&uses)
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /schemas/types`
pub async fn types() -> Response {
    ok(&["JSON", "PROTOBUF", "AVRO"])
}

/// `GET /config`: the compatibility level, `NONE`.
pub async fn config() -> Response {
    ok(&json!({"compatibilityLevel": "NONE"}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigBody {
    compatibility: String,
}

/// `PUT /config`: only `NONE` is accepted; Sluice checks no other level.
pub async fn set_config(Request(body): Request<ConfigBody>) -> Response {
    if body.compatibility.eq_ignore_ascii_case("NONE") {
        return ok(&json!({"compatibility": "NONE"}));
    }
    RegistryError(
        RegistryErrorCode::InvalidCompatibilityLevel,
        format!(
            "Invalid compatibility level. Sluice's schema registry checks no compatibility between versions: only NONE is supported, not {}",
            body.compatibility
        ),
    )
    .into_response()
}

/// A schema sent to be registered, looked up or checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRequest {
    schema: String,
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
}

#[derive(Deserialize)]
pub struct Reference {
    name: String,
    subject: String,
    version: i64,
}

impl SchemaRequest {
    fn schema_type(&self) -> Result<SchemaType, RegistryError> {
        match self
            .schema_type
            .as_deref()
            .unwrap_or("AVRO")
            .to_ascii_uppercase()
            .as_str()
        {
            "AVRO" => Ok(SchemaType::Avro),
            "JSON" => Ok(SchemaType::Json),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            other => Err(invalid_schema(format!("Unknown schema type {other}"))),
        }
    }

    /// The schema's type, checked text and imported files (name and text).
    fn resolve(
        &self,
        registry: &SchemaRegistry,
    ) -> Result<(SchemaType, Vec<(String, String)>), RegistryError> {
        let schema_type = self.schema_type()?;
        match schema_type {
            SchemaType::Avro => {
                crate::format::avro::parse_schema(&self.schema)
                    .map_err(|e| invalid_schema(format!("Invalid schema {}: {e}", self.schema)))?;
            }
            SchemaType::Json => {
                serde_json::from_str::<serde_json::Value>(&self.schema)
                    .map_err(|e| invalid_schema(format!("Invalid schema {}: {e}", self.schema)))?;
            }
            SchemaType::Protobuf => {}
        }
        let references = self
            .references
            .iter()
            .map(|r| {
                let (_, schema) = subject_version(registry, &r.subject, &r.version.to_string())?;
                Ok((r.name.clone(), schema.text.clone()))
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        Ok((schema_type, references))
    }
}

/// A JSON request body, whatever content type it was sent with (Confluent's clients send
/// `application/vnd.schemaregistry.v1+json`, curl often none); a malformed one is answered
/// with Confluent's error.
pub struct Request<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Request<T> {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&body).map(Request).map_err(|e| {
            RegistryError(RegistryErrorCode::MalformedRequest, e.to_string()).into_response()
        })
    }
}

fn invalid_schema(message: String) -> RegistryError {
    RegistryError(RegistryErrorCode::InvalidSchema, message)
}

/// `POST /subjects/{subject}/versions`: registers a schema; answers its id.
pub async fn register(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Request(request): Request<SchemaRequest>,
) -> Response {
    let registry = registry(&state);
    let registered = request
        .resolve(&registry)
        .and_then(|(schema_type, references)| {
            registry
                .register_with_references(&subject, schema_type, &request.schema, None, references)
                .map_err(|e| invalid_schema(e.to_string()))
        });
    match registered {
        Ok(id) => ok(&json!({"id": id})),
        Err(e) => e.into_response(),
    }
}

/// `POST /subjects/{subject}`: whether a schema is registered under a subject, and as what.
pub async fn lookup(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Request(request): Request<SchemaRequest>,
) -> Response {
    let registry = registry(&state);
    let Some(ids) = registry.versions(&subject) else {
        return subject_not_found(&subject).into_response();
    };
    let schema_type = match request.schema_type() {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let found = (1..).zip(&ids).find_map(|(version, id)| {
        registry
            .by_id(*id)
            .filter(|s| s.schema_type == schema_type && s.text == request.schema)
            .map(|s| (version, s))
    });
    match found {
        Some((version, schema)) => ok(&SchemaBody {
            subject: Some(subject),
            version: Some(version),
            id: Some(schema.id),
            schema_type: schema_type_field(schema.schema_type),
            schema: schema.text.clone(),
        }),
        None => RegistryError(
            RegistryErrorCode::SchemaNotFound,
            "Schema not found".to_string(),
        )
        .into_response(),
    }
}

/// `POST /compatibility/subjects/{subject}/versions/{version}`: under `NONE` every schema is
/// compatible; the subject and version must still exist, and the schema must be valid.
pub async fn compatibility(
    State(state): State<Arc<AppState>>,
    Path((subject, version)): Path<(String, String)>,
    Request(request): Request<SchemaRequest>,
) -> Response {
    let registry = registry(&state);
    let checked =
        subject_version(&registry, &subject, &version).and_then(|_| request.resolve(&registry));
    match checked {
        Ok(_) => ok(&json!({"is_compatible": true})),
        Err(e) => e.into_response(),
    }
}
