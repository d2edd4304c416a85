//! The server locked down as ksqlDB is: TLS on the listener (a PEM keystore), BASIC
//! authentication against a users file with Argon2 hashes, `authentication.roles` and
//! read-only roles, ksqlDB's 401/403 bodies, and the audit log. Driven through Sluice's own
//! client, the shell, curl (when installed; CI requires it) and ksqlDB's Python client (when
//! `SLUICE_PYTHON` has it).

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use sluice::api::{ErrorBody, KsqlRequest};
use sluice::client::{ClientError, Connection, KsqlClient};
use support::Server;

const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A certificate authority and a server certificate it signed for 127.0.0.1 and localhost,
/// written as the CA's PEM and the server's PEM keystore (chain and key in one file).
fn certificates(dir: &Path) -> (PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Sluice test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let keystore = dir.join("server.pem");
    std::fs::write(
        &keystore,
        format!("{}{}{}", server.pem(), ca.pem(), server_key.serialize_pem()),
    )
    .unwrap();
    (ca_file, keystore)
}

/// `sluice users add`, the password on standard input.
fn add_user(users: &Path, name: &str, password: &str, roles: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "users",
            "add",
            name,
            "--password-stdin",
            "--roles",
            roles,
            "--file",
        ])
        .arg(users)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Secured {
    server: Server,
    dir: tempfile::TempDir,
    ca: PathBuf,
}

impl Secured {
    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.server.addr.port())
    }

    fn client(&self, credentials: Option<(&str, &str)>) -> KsqlClient {
        KsqlClient::connect(&Connection {
            server: self.url(),
            credentials: credentials.map(|(u, p)| (u.to_string(), p.to_string())),
            ca_certificate: Some(self.ca.clone()),
        })
        .unwrap()
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("data/audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A server on TLS with BASIC authentication: `admin` (role admin, hashed), `analyst`
/// (role viewer, read-only; its password in plain text, as Jetty allows) and `guest` (a role
/// the server does not allow).
fn start() -> Secured {
    let dir = tempfile::tempdir().unwrap();
    let (ca, keystore) = certificates(dir.path());
    let users = dir.path().join("users.properties");
    add_user(&users, "admin", ADMIN_PASSWORD, "admin");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&users)
        .unwrap();
    writeln!(file, "analyst: look-only, viewer\nguest: pw, guest").unwrap();
    let config = dir.path().join("ksql-server.properties");
    std::fs::write(
        &config,
        format!(
            "listeners=https://127.0.0.1:8443\nssl.keystore.type=PEM\nssl.keystore.location={}\n\
             authentication.method=BASIC\nauthentication.realm=KsqlServer-Props\n\
             authentication.roles=admin,viewer\nauthentication.read.only.roles=viewer\n\
             authentication.users.file={}\n",
            keystore.display(),
            users.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let probe_ca = ca.clone();
    let ready = move |addr: std::net::SocketAddr| {
        let client = KsqlClient::connect(&Connection {
            server: format!("https://127.0.0.1:{}", addr.port()),
            credentials: Some(("admin".to_string(), ADMIN_PASSWORD.to_string())),
            ca_certificate: Some(probe_ca.clone()),
        })
        .unwrap();
        client.info().is_ok()
    };
    let server = Server::start_checked(
        Path::new(env!("CARGO_BIN_EXE_sluice")),
        &data,
        &["--config", config.to_str().unwrap()],
        &ready,
    );
    Secured { server, dir, ca }
}

fn ksql(client: &KsqlClient, sql: &str) -> Result<Vec<sluice::api::KsqlEntity>, ClientError> {
    client.ksql(&KsqlRequest {
        ksql: Some(sql.to_string()),
        ..KsqlRequest::default()
    })
}

/// The error code and message of a refusal.
fn refusal(result: Result<impl std::fmt::Debug, ClientError>) -> (u32, String) {
    match result {
        Err(ClientError::Server(
            ErrorBody::Generic {
                error_code,
                message,
            }
            | ErrorBody::Statement {
                error_code,
                message,
                ..
            },
        )) => (error_code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn tls_basic_authentication_roles_and_the_audit_log() {
    let secured = start();
    let admin = secured.client(Some(("admin", ADMIN_PASSWORD)));
    ksql(
        &admin,
        "CREATE STREAM orders (id INT KEY, item STRING) WITH (kafka_topic='orders', partitions=1, value_format='JSON');\
         CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM orders GROUP BY id;",
    )
    .unwrap();
    ksql(&admin, "INSERT INTO orders (id, item) VALUES (1, 'tea');").unwrap();

    // No credentials, a wrong password, an unknown user: 401 with ksqlDB's body.
    for client in [
        secured.client(None),
        secured.client(Some(("admin", "wrong"))),
        secured.client(Some(("mallory", ADMIN_PASSWORD))),
    ] {
        assert_eq!(
            refusal(ksql(&client, "SHOW STREAMS;")),
            (40100, "Unauthorized".to_string())
        );
    }
    // A user without an allowed role: 403.
    let guest = secured.client(Some(("guest", "pw")));
    assert_eq!(
        refusal(ksql(&guest, "SHOW STREAMS;")),
        (40300, "Forbidden".to_string())
    );

    // A read-only user lists, describes and queries, and changes nothing.
    let analyst = secured.client(Some(("analyst", "look-only")));
    assert_eq!(
        ksql(&analyst, "SHOW STREAMS; DESCRIBE orders;")
            .unwrap()
            .len(),
        2
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let count = loop {
        let mut rows = analyst
            .query(&KsqlRequest {
                ksql: Some("SELECT * FROM counts WHERE id = 1;".to_string()),
                ..KsqlRequest::default()
            })
            .unwrap();
        let mut found = None;
        while let Some(row) = rows.next_row() {
            if let sluice::api::StreamedRow::Row(row) = row.unwrap() {
                found = row.columns;
            }
        }
        if let Some(found) = found {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the table never counted"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(count, vec![serde_json::json!(1), serde_json::json!(1)]);
    let (code, message) = refusal(ksql(&analyst, "SHOW STREAMS; DROP STREAM orders;"));
    assert_eq!(code, 40300);
    assert!(
        message.starts_with("Forbidden: user 'analyst' has a read-only role")
            && message.ends_with("Statement: DROP STREAM orders;"),
        "{message}"
    );
    let (code, _) = refusal(ksql(&analyst, "DEFINE x = '1';"));
    assert_eq!(code, 40300);
    let (code, message) = refusal(
        analyst
            .produce(
                "orders",
                &sluice::client::ProduceOptions::default(),
                &b"{\"ID\":2}\n"[..],
                |_| {},
            )
            .map_err(|e| match e {
                ClientError::Refused(m) => ClientError::Server(ErrorBody::Generic {
                    error_code: 40300,
                    message: m,
                }),
                other => other,
            }),
    );
    assert_eq!(code, 40300);
    assert!(
        message.contains("cannot POST /topics/orders/records"),
        "{message}"
    );
    assert_eq!(ksql(&admin, "SHOW STREAMS;").unwrap().len(), 1);
    assert!(
        ksql(&admin, "DESCRIBE orders;").is_ok(),
        "the read-only user's DROP ran"
    );

    // ksqlDB's unauthenticated paths.
    let open = secured.client(None);
    assert!(open.info().is_err());
    // Plain HTTP to the TLS port is no way in.
    assert!(
        KsqlClient::new(&format!("http://127.0.0.1:{}", secured.server.addr.port()))
            .info()
            .is_err()
    );

    // The audit log: who did what, from where, and how it ended.
    let audit = secured.audit();
    let find = |user: &str, statement_start: &str| {
        audit
            .iter()
            .find(|l| {
                l["user"] == user
                    && l["statement"]
                        .as_str()
                        .is_some_and(|s| s.starts_with(statement_start))
            })
            .unwrap_or_else(|| panic!("no audit line of {user} for {statement_start}: {audit:#?}"))
    };
    let created = find("admin", "CREATE STREAM orders");
    assert_eq!(created["outcome"], "ok");
    assert_eq!(created["endpoint"], "/ksql");
    assert!(
        created["address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert!(created["time"].as_str().unwrap().ends_with('Z'));
    let dropped = find("analyst", "DROP STREAM orders");
    assert_eq!(dropped["outcome"], "refused");
    assert_eq!(dropped["error_code"], 40300);
    assert_eq!(
        find("analyst", "SELECT * FROM counts")["endpoint"],
        "/query"
    );
    assert!(
        audit
            .iter()
            .any(|l| l["user"] == "anonymous" && l["error_code"] == 40100),
        "{audit:#?}"
    );
    assert!(
        audit
            .iter()
            .any(|l| l["user"] == "guest" && l["error_code"] == 40300),
        "{audit:#?}"
    );
}

#[test]
fn the_shell_logs_in_over_tls() {
    let secured = start();
    let shell = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("shell")
            .arg(secured.url())
            .args(["--ca-cert", secured.ca.to_str().unwrap()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = shell(&[
        "-u",
        "admin",
        "-p",
        ADMIN_PASSWORD,
        "-e",
        "CREATE STREAM s (v INT) WITH (kafka_topic='s', partitions=1, value_format='JSON'); SHOW STREAMS;",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("Stream created") && out.contains(" S  "),
        "{out}"
    );
    let (ok, out) = shell(&["-e", "SHOW STREAMS;"]);
    assert!(!ok && out.contains("Unauthorized"), "{out}");
}

/// Whether curl is here; CI installs it and sets SLUICE_REQUIRE_CURL, so there it must be.
fn curl_installed() -> bool {
    if Command::new("curl").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("SLUICE_REQUIRE_CURL").is_none(),
        "curl must be installed here"
    );
    println!("SKIPPED: curl is not installed");
    false
}

#[test]
fn curl_speaks_tls_http2_and_basic_authentication() {
    if !curl_installed() {
        return;
    }
    let secured = start();
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "--cacert", secured.ca.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        // 28: the time given ran out, as it does for a push query.
        if !out.status.success() && out.status.code() != Some(28) {
            panic!("curl {args:?}: {out:?}");
        }
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let url = |path: &str| format!("{}{path}", secured.url());
    // HTTP/2 by ALPN, authenticated.
    let answered = curl(&[
        "--http2",
        "-u",
        &format!("admin:{ADMIN_PASSWORD}"),
        "-w",
        "\n%{http_version} %{http_code}",
        &url("/info"),
    ]);
    assert!(answered.ends_with("\n2 200"), "{answered}");
    assert!(answered.contains("\"KsqlServerInfo\""), "{answered}");
    // Refused, with the challenge that makes browsers ask.
    let refused = curl(&["-i", &url("/ksql"), "-d", r#"{"ksql":"SHOW STREAMS;"}"#]);
    assert!(refused.starts_with("HTTP/2 401"), "{refused}");
    assert!(
        refused.contains("www-authenticate: Basic realm=\"KsqlServer-Props\""),
        "{refused}"
    );
    assert!(
        refused
            .ends_with(r#"{"@type":"generic_error","error_code":40100,"message":"Unauthorized"}"#),
        "{refused}"
    );
    // ksqlDB's health check is open to all.
    assert!(curl(&[&url("/healthcheck")]).contains("\"isHealthy\":true"));
    let created = curl(&[
        "-u",
        &format!("admin:{ADMIN_PASSWORD}"),
        &url("/ksql"),
        "-d",
        r#"{"ksql":"CREATE STREAM clicks (v INT) WITH (kafka_topic='clicks', partitions=1, value_format='JSON');"}"#,
    ]);
    assert!(created.contains("Stream created"), "{created}");
    // A read-only user's push query streams.
    let pushed = curl(&[
        "--http1.1",
        "-u",
        "analyst:look-only",
        "--max-time",
        "2",
        &url("/query-stream"),
        "-d",
        r#"{"sql":"SELECT * FROM clicks EMIT CHANGES;"}"#,
    ]);
    assert!(pushed.contains("\"queryId\""), "{pushed}");
}

#[test]
fn ksqldb_python_client_over_tls_with_basic_authentication() {
    let Ok(python) = std::env::var("SLUICE_PYTHON") else {
        println!("SKIPPED: SLUICE_PYTHON names no interpreter with the ksql package");
        return;
    };
    let secured = start();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/test_tls_auth.py");
    let out = Command::new(&python)
        .args([script, &secured.url(), "admin", ADMIN_PASSWORD])
        .env("SSL_CERT_FILE", &secured.ca)
        .env("REQUESTS_CA_BUNDLE", &secured.ca)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("OK"), "{text}");
}

#[test]
fn a_request_over_an_h2c_upgrade_is_audited_with_its_peer() {
    if !curl_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("data"), &[]);
    // curl upgrades a plain http:// request with `Upgrade: h2c`; the server answers it on
    // stream 1 of the HTTP/2 connection that follows.
    let out = Command::new("curl")
        .args(["-s", "--http2", "-w", "\n%{http_version}"])
        .arg(format!("{}/ksql", server.url()))
        .args(["-d", r#"{"ksql":"SHOW STREAMS;"}"#])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.ends_with("\n2"), "{text}");
    let audit = std::fs::read_to_string(dir.path().join("data/audit.log")).unwrap();
    let line: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(line["statement"], "SHOW STREAMS;");
    assert!(
        line["address"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{line}"
    );
}
