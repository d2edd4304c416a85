//! Who may use the server: ksqlDB's BASIC authentication (`authentication.method=BASIC`)
//! against a users file, its `authentication.roles`, and read-only roles.
//!
//! The users file is Jetty's password file, as ksqlDB's `PropertyFileLoginModule` reads it:
//! `name: credential[, role…]`, one user per line, `#` comments. A credential is an Argon2
//! hash (`$argon2id$…`, as `sluice users add` writes) or, as Jetty allows, the password in
//! plain text (the server says so at start-up). Jetty's `OBF:`, `MD5:` and `CRYPT:` forms
//! are refused with their line: they are obfuscation or broken hashes, not protection.
//!
//! A user holding none of `authentication.roles` (default `*`: any role) is refused with
//! 403. A user whose allowed roles are all in `authentication.read.only.roles` may only read:
//! queries, SHOW, LIST, DESCRIBE, EXPLAIN, PRINT and the schema registry's GETs.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use thiserror::Error;

use super::AppState;
use super::errors::{ApiError, ErrorCode};

/// ksqlDB's default realm, the JAAS section its documentation names.
pub const DEFAULT_REALM: &str = "KsqlServer-Props";
/// Paths ksqlDB never authenticates, whatever `authentication.skip.paths` says.
const ALWAYS_SKIPPED: [&str; 3] = ["/v1/metadata", "/v1/metadata/id", "/healthcheck"];
/// The most password checks that run at once: each costs an Argon2 hash, so a flood of
/// wrong passwords queues here rather than taking every core.
const CONCURRENT_VERIFICATIONS: usize = 2;

/// How a request may act, once it is let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Everything: what every request may do when authentication is off.
    Admin,
    /// Queries, listings and descriptions only.
    ReadOnly,
}

/// Who sent a request: put on every request by [`authenticate`], for handlers and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The authenticated user; `None` when authentication is off or the path is skipped.
    pub user: Option<String>,
    pub access: Access,
    pub address: Option<SocketAddr>,
}

impl Caller {
    /// The user as the audit log names them.
    pub fn name(&self) -> &str {
        self.user.as_deref().unwrap_or("anonymous")
    }

    /// Refuses a read-only caller what only an admin may do.
    pub fn require_admin(&self, what: &str) -> Result<(), ApiError> {
        match self.access {
            Access::Admin => Ok(()),
            Access::ReadOnly => Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "Forbidden: user '{}' has a read-only role and cannot {what}",
                    self.name()
                ),
            )),
        }
    }
}

/// A line of the users file the server will not start with.
#[derive(Debug, Error)]
pub enum UsersError {
    #[error("Cannot read the users file {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
}

/// How a user proves who they are.
#[derive(Clone)]
enum Credential {
    /// An Argon2 hash in PHC form.
    Argon2(String),
    /// The password itself (Jetty accepts it; the server warns).
    Plain(String),
}

#[derive(Clone)]
struct User {
    credential: Credential,
    roles: Vec<String>,
}

/// The users file, read.
#[derive(Clone, Default)]
pub struct Users {
    by_name: HashMap<String, User>,
}

impl Users {
    pub fn read(path: &Path) -> Result<Users, UsersError> {
        let text = std::fs::read_to_string(path).map_err(|e| UsersError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Users::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<Users, UsersError> {
        let mut users = Users::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let refuse = |message: String| UsersError::Line {
                path: path.to_string(),
                line: index + 1,
                message,
            };
            let Some((name, rest)) = line.split_once([':', '=']) else {
                return Err(refuse("expected 'name: password[, role…]'".to_string()));
            };
            let name = name.trim();
            let rest = rest.trim();
            // An Argon2 hash has commas of its own (`m=…,t=…,p=…`): it ends at the first
            // comma after its last `$`.
            let end = if rest.starts_with("$argon2") {
                let last_field = rest.rfind('$').unwrap_or(0);
                rest[last_field..]
                    .find(',')
                    .map_or(rest.len(), |i| last_field + i)
            } else {
                rest.find(',').unwrap_or(rest.len())
            };
            let secret = rest[..end].trim();
            let fields = rest[end..].split(',').map(str::trim);
            if name.is_empty() || secret.is_empty() {
                return Err(refuse("a user needs a name and a password".to_string()));
            }
            let credential = if secret.starts_with("$argon2") {
                let parsed = PasswordHash::new(secret).map_err(|e| {
                    refuse(format!("the Argon2 hash of '{name}' is malformed: {e}"))
                })?;
                if parsed.salt.is_none() || parsed.hash.is_none() {
                    return Err(refuse(format!(
                        "the Argon2 hash of '{name}' is malformed: it has no salt or no hash"
                    )));
                }
                Credential::Argon2(secret.to_string())
            } else if let Some(kind) = ["OBF:", "MD5:", "CRYPT:"]
                .iter()
                .find(|prefix| secret.starts_with(**prefix))
            {
                return Err(refuse(format!(
                    "the {} credential of '{name}' is not accepted; store an Argon2 hash (sluice users add)",
                    kind.trim_end_matches(':')
                )));
            } else {
                Credential::Plain(secret.to_string())
            };
            let roles = fields
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect();
            if users
                .by_name
                .insert(name.to_string(), User { credential, roles })
                .is_some()
            {
                return Err(refuse(format!("user '{name}' appears twice")));
            }
        }
        Ok(users)
    }

    /// The users whose password is stored in plain text, to warn about.
    pub fn plain_text(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .by_name
            .iter()
            .filter(|(_, u)| matches!(u.credential, Credential::Plain(_)))
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort_unstable();
        names
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Hashes a password for the users file (Argon2id, a random salt, the crate's default cost).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("Cannot hash the password: {e}"))
}

/// The line `sluice users add` writes.
pub fn users_line(name: &str, hash: &str, roles: &[String]) -> String {
    let mut line = format!("{name}: {hash}");
    for role in roles {
        line.push_str(", ");
        line.push_str(role);
    }
    line
}

/// `authentication.*` as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    pub realm: String,
    /// Roles that may use the server at all; `*` or `**` for any.
    pub roles: Vec<String>,
    /// Roles that may only read.
    pub read_only_roles: Vec<String>,
    /// Paths served without authentication, besides ksqlDB's own (`*` is a wildcard).
    pub skip_paths: Vec<String>,
    pub users_file: std::path::PathBuf,
}

/// The server's authentication, built from its settings at start-up.
pub struct Authenticator {
    realm: String,
    users: Users,
    any_role: bool,
    roles: HashSet<String>,
    read_only_roles: HashSet<String>,
    skip_paths: regex::Regex,
    /// Each user's last password that verified, as a keyed hash: Argon2 runs once per
    /// password, not once per request.
    verified: Mutex<HashMap<String, u64>>,
    hasher: RandomState,
    verifications: tokio::sync::Semaphore,
}

impl Authenticator {
    pub fn new(settings: &AuthSettings) -> Result<Authenticator, String> {
        let users = Users::read(&settings.users_file).map_err(|e| e.to_string())?;
        Authenticator::with_users(settings, users)
    }

    pub fn with_users(settings: &AuthSettings, users: Users) -> Result<Authenticator, String> {
        let patterns: Vec<String> = ALWAYS_SKIPPED
            .iter()
            .map(|p| p.to_string())
            .chain(settings.skip_paths.iter().cloned())
            .filter(|p| !p.trim().is_empty())
            .map(|p| regex::escape(p.trim()).replace(r"\*", ".*"))
            .collect();
        let skip_paths = regex::Regex::new(&format!("^(?:{})$", patterns.join("|")))
            .map_err(|e| format!("authentication.skip.paths: {e}"))?;
        Ok(Authenticator {
            realm: settings.realm.clone(),
            users,
            any_role: settings.roles.iter().any(|r| r == "*" || r == "**"),
            roles: settings.roles.iter().cloned().collect(),
            read_only_roles: settings.read_only_roles.iter().cloned().collect(),
            skip_paths,
            verified: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
            verifications: tokio::sync::Semaphore::new(CONCURRENT_VERIFICATIONS),
        })
    }

    pub fn users(&self) -> &Users {
        &self.users
    }

    /// Whether a path is served to anyone.
    fn skips(&self, path: &str) -> bool {
        self.skip_paths.is_match(path)
    }

    /// The user named by an `Authorization: Basic` header and what they may do.
    async fn check(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<(String, Access), Refused> {
        let (name, password) = authorization
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials)
            .ok_or(Refused::Unauthorized)?;
        let user = self.users.by_name.get(&name).ok_or(Refused::Unauthorized)?;
        if !self.verify(&name, user, &password).await {
            return Err(Refused::Unauthorized);
        }
        let allowed: Vec<&String> = user
            .roles
            .iter()
            .filter(|r| self.any_role || self.roles.contains(*r))
            .collect();
        if allowed.is_empty() && !self.any_role {
            return Err(Refused::Forbidden(name));
        }
        let reads_only =
            !allowed.is_empty() && allowed.iter().all(|r| self.read_only_roles.contains(*r));
        let access = if reads_only {
            Access::ReadOnly
        } else {
            Access::Admin
        };
        Ok((name, access))
    }

    async fn verify(&self, name: &str, user: &User, password: &str) -> bool {
        let key = self.hasher.hash_one(password);
        let cached = self.lock_verified().get(name) == Some(&key);
        if cached {
            return true;
        }
        let ok = match &user.credential {
            Credential::Plain(expected) => {
                constant_time_eq(expected.as_bytes(), password.as_bytes())
            }
            Credential::Argon2(hash) => {
                let Ok(_permit) = self.verifications.acquire().await else {
                    return false;
                };
                let (hash, password) = (hash.clone(), password.to_string());
                tokio::task::spawn_blocking(move || {
                    PasswordHash::new(&hash).is_ok_and(|parsed| {
                        argon2::Argon2::default()
                            .verify_password(password.as_bytes(), &parsed)
                            .is_ok()
                    })
                })
                .await
                .unwrap_or(false)
            }
        };
        if ok {
            self.lock_verified().insert(name.to_string(), key);
        }
        ok
    }

    fn lock_verified(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why a request was not let in.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// No credentials, or wrong ones: ksqlDB's 401 "Unauthorized".
    Unauthorized,
    /// A user without an allowed role: ksqlDB's 403 "Forbidden".
    Forbidden(String),
}

/// `user:password` from `Basic <base64>`.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_string(), password.to_string()))
}

/// Compares without stopping at the first difference, so timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        difference |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    difference == 0
}

/// Whether a read-only caller may make a request: every GET, the query endpoints (which run
/// only SELECT and PRINT), `/ksql` (checked statement by statement) and the registry's
/// lookups. Writing records or schemas needs an admin.
fn readable(method: &Method, path: &str) -> bool {
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        return true;
    }
    if method != Method::POST {
        return false;
    }
    matches!(path, "/ksql" | "/query" | "/query-stream" | "/close-query")
        || path.starts_with("/compatibility/")
        || (path.starts_with("/subjects/") && path.matches('/').count() == 2)
}

/// Middleware: lets a request in as its [`Caller`], or answers 401/403 with ksqlDB's bodies
/// (and `WWW-Authenticate`, so browsers ask for a password). Every refusal is audited.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let caller = match &state.security.authenticator {
        None => Caller {
            user: None,
            access: Access::Admin,
            address,
        },
        // As in ksqlDB, a skipped path is neither authenticated nor authorized.
        Some(auth) if auth.skips(request.uri().path()) => Caller {
            user: None,
            access: Access::Admin,
            address,
        },
        Some(auth) => match auth
            .check(request.headers().get(header::AUTHORIZATION))
            .await
        {
            Ok((user, access)) => Caller {
                user: Some(user),
                access,
                address,
            },
            Err(refused) => {
                let (user, error) = match refused {
                    Refused::Unauthorized => {
                        (None, ApiError::new(ErrorCode::Unauthorized, "Unauthorized"))
                    }
                    Refused::Forbidden(user) => {
                        (Some(user), ApiError::new(ErrorCode::Forbidden, "Forbidden"))
                    }
                };
                let caller = Caller {
                    user,
                    access: Access::ReadOnly,
                    address,
                };
                state.security.audit.request(&caller, &request, &error);
                drain(request).await;
                let mut response = error.into_response();
                if let Ok(challenge) =
                    HeaderValue::from_str(&format!("Basic realm=\"{}\"", auth.realm))
                {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, challenge);
                }
                return response;
            }
        },
    };
    if caller.access == Access::ReadOnly && !readable(request.method(), request.uri().path()) {
        let error = ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "Forbidden: user '{}' has a read-only role and cannot {} {}",
                caller.name(),
                request.method(),
                request.uri().path()
            ),
        );
        state.security.audit.request(&caller, &request, &error);
        drain(request).await;
        return error.into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The most of a refused request's body read before the refusal is sent.
const DRAINED_BYTES: usize = 64 * 1024;

/// Reads a refused request's (small) body first: an HTTP/2 client whose stream is reset
/// before it finished sending may drop the answer with it.
async fn drain(request: Request) {
    let body = request.into_body();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        axum::body::to_bytes(body, DRAINED_BYTES),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(roles: &[&str], read_only: &[&str]) -> AuthSettings {
        AuthSettings {
            realm: DEFAULT_REALM.to_string(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            read_only_roles: read_only.iter().map(|r| r.to_string()).collect(),
            skip_paths: vec!["/chc/*".to_string()],
            users_file: "unused".into(),
        }
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    #[test]
    fn a_jetty_password_file_is_read_and_weak_credentials_are_refused_with_their_line() {
        let hash = hash_password("s3cret").unwrap();
        let users = Users::parse(
            &format!(
                "# users\nfred: {hash}, admin\nharry = changeme,user, developer\n\nnoroles: pw\n"
            ),
            "users",
        )
        .unwrap();
        assert_eq!(users.len(), 3);
        assert_eq!(users.by_name["fred"].roles, vec!["admin"]);
        assert!(matches!(&users.by_name["fred"].credential, Credential::Argon2(h) if *h == hash));
        assert_eq!(users.plain_text(), vec!["harry", "noroles"]);
        assert_eq!(users.by_name["harry"].roles, vec!["user", "developer"]);
        let refused = |text: &str| Users::parse(text, "users").err().unwrap().to_string();
        assert_eq!(
            refused("a: x\nb: OBF:1v2j1uum1xtv1zej1zer1xtn1uvk1v1v, admin"),
            "users:2: the OBF credential of 'b' is not accepted; store an Argon2 hash (sluice users add)"
        );
        assert!(refused("nobody").contains("users:1: expected"));
        assert!(refused("a: x\na: y").contains("appears twice"));
        assert!(refused("a: $argon2id$nonsense").contains("malformed"));
    }

    #[tokio::test]
    async fn roles_decide_who_gets_in_and_who_only_reads() {
        let hash = hash_password("s3cret").unwrap();
        let users = Users::parse(
            &format!(
                "admin: {hash}, admin\nanalyst: pw, viewer\nboth: pw, viewer, admin\nother: pw, guest\n"
            ),
            "users",
        )
        .unwrap();
        let auth =
            Authenticator::with_users(&settings(&["admin", "viewer"], &["viewer"]), users).unwrap();
        let check = |user: &str, password: &str| {
            let header = basic(user, password);
            let auth = &auth;
            async move { auth.check(Some(&header)).await }
        };
        assert_eq!(
            check("admin", "s3cret").await,
            Ok(("admin".to_string(), Access::Admin))
        );
        // Verified once, then from the cache; a wrong password still fails.
        assert!(check("admin", "s3cret").await.is_ok());
        assert_eq!(check("admin", "S3cret").await, Err(Refused::Unauthorized));
        assert_eq!(
            check("analyst", "pw").await,
            Ok(("analyst".to_string(), Access::ReadOnly))
        );
        assert_eq!(check("both", "pw").await.unwrap().1, Access::Admin);
        assert_eq!(
            check("other", "pw").await,
            Err(Refused::Forbidden("other".to_string()))
        );
        assert_eq!(check("nobody", "pw").await, Err(Refused::Unauthorized));
        assert_eq!(auth.check(None).await, Err(Refused::Unauthorized));
        let bearer = HeaderValue::from_static("Bearer abc");
        assert_eq!(auth.check(Some(&bearer)).await, Err(Refused::Unauthorized));
        assert!(auth.skips("/healthcheck") && auth.skips("/chc/live"));
        assert!(!auth.skips("/ksql") && !auth.skips("/healthcheck/x"));
    }

    #[test]
    fn read_only_callers_may_query_and_look_but_not_write() {
        assert!(readable(&Method::GET, "/info"));
        assert!(readable(&Method::POST, "/query-stream"));
        assert!(readable(&Method::POST, "/subjects/orders-value"));
        assert!(!readable(&Method::POST, "/subjects/orders-value/versions"));
        assert!(!readable(&Method::POST, "/inserts-stream"));
        assert!(!readable(&Method::POST, "/topics/orders/records"));
        assert!(!readable(&Method::PUT, "/config"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
