//! The server's properties file (`sluice server --config FILE`, a `ksql-server.properties`):
//! Java properties, each name checked as `SET` checks it, ksqlDB's own server settings
//! honoured, and those Sluice cannot honour refused with the line that asks for them, never
//! ignored.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::auth::{AuthSettings, DEFAULT_REALM};
use crate::topics::kafka::client_settings::{ClientSettings, client_setting_name};

/// ksqlDB's server settings that Sluice reads besides the properties of statements.
const MAX_CONNECTIONS: &str = "ksql.server.max.connections";
const MAX_CONCURRENT_REQUESTS: &str = "ksql.server.max.concurrent.requests";
/// The defaults of the two: far above what one client needs, well below what exhausts the
/// process's file descriptors or memory.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1_000;
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 256;

/// What a properties file sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `listeners`: where to listen.
    pub listen: Option<SocketAddr>,
    /// Whether `listeners` asks for `https://`.
    pub https: bool,
    /// `ssl.keystore.location` (of `ssl.keystore.type=PEM`): the certificate chain and key.
    pub keystore: Option<PathBuf>,
    /// `authentication.method=BASIC` and its settings.
    pub authentication: Option<AuthSettings>,
    pub max_connections: usize,
    pub max_concurrent_requests: usize,
    /// `ksql.streams.state.dir`: the data directory.
    pub data_dir: Option<PathBuf>,
    /// `bootstrap.servers`: the Kafka cluster that holds the topics, if any.
    pub bootstrap_servers: Option<String>,
    /// `delete.topic.enable`: whether dropping a topic deletes it on the Kafka cluster.
    pub delete_topics: Option<bool>,
    /// How Kafka clients reach a secured cluster (`security.protocol`, `sasl.*`, the trust
    /// store), in librdkafka's names.
    pub kafka_client: BTreeMap<String, String>,
    /// Every other property, applied to every statement.
    pub properties: BTreeMap<String, String>,
    /// Settings read but of no effect here, to say so at start-up.
    pub notes: Vec<String>,
}

#[derive(Debug, Error)]
pub enum SettingsError {
    #[error("Cannot read {path}: {message}")]
    Read { path: String, message: String },
    /// A line the server will not start with.
    #[error("{path}:{line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
}

/// The log's settings, Kafka's broker names, taken besides the ksqlDB ones.
pub const LOG_SETTINGS: [&str; 2] = ["log.flush.interval.messages", "log.segment.bytes"];

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: None,
            https: false,
            keystore: None,
            authentication: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            data_dir: None,
            bootstrap_servers: None,
            delete_topics: None,
            kafka_client: BTreeMap::new(),
            properties: BTreeMap::new(),
            notes: Vec::new(),
        }
    }
}

/// The `authentication.*` names, gathered before they are checked together.
#[derive(Default)]
struct AuthLines {
    method: Option<(usize, String)>,
    realm: Option<String>,
    roles: Option<Vec<String>>,
    read_only_roles: Vec<String>,
    skip_paths: Vec<String>,
    users_file: Option<PathBuf>,
}

/// Reads and checks a properties file.
pub fn read(path: &Path) -> Result<Settings, SettingsError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| SettingsError::Read {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let mut settings = Settings::default();
    let mut auth = AuthLines::default();
    let mut keystore_line = 0;
    let mut listeners_line = 0;
    let mut kafka_client = ClientSettings::default();
    let mut kafka_client_line = 0;
    for line in java_properties::PropertiesIter::new(std::io::BufReader::new(file)) {
        let line = line.map_err(|e| SettingsError::Line {
            path: shown.clone(),
            line: e.line_number().unwrap_or(0),
            message: e.to_string(),
        })?;
        let number = line.line_number();
        let java_properties::LineContent::KVPair(name, value) = line.consume_content() else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        match name {
            "listeners" => listeners_line = number,
            "ssl.keystore.location" => keystore_line = number,
            _ => {}
        }
        if let Some(bare) = client_setting_name(name) {
            if bare.starts_with("ssl.truststore.") {
                kafka_client_line = number;
            }
            kafka_client
                .set(bare, value)
                .map_err(|message| SettingsError::Line {
                    path: shown.clone(),
                    line: number,
                    message,
                })?;
            continue;
        }
        apply(&mut settings, &mut auth, number, name, value).map_err(|message| {
            SettingsError::Line {
                path: shown.clone(),
                line: number,
                message,
            }
        })?;
    }
    let at = |line: usize, message: String| SettingsError::Line {
        path: shown.clone(),
        line,
        message,
    };
    settings.kafka_client = kafka_client
        .finish()
        .map_err(|message| at(kafka_client_line, message))?;
    if !settings.kafka_client.is_empty() && settings.bootstrap_servers.is_none() {
        settings.notes.push(
            "the Kafka client settings (security.protocol, sasl.*, ssl.truststore.*) are not used: no bootstrap.servers names a Kafka cluster".to_string(),
        );
    }
    if settings.https && settings.keystore.is_none() {
        return Err(at(
            listeners_line,
            "listeners: an https:// listener needs ssl.keystore.location (a PEM file with the certificate chain and private key)".to_string(),
        ));
    }
    if settings.keystore.is_some() && !settings.https {
        return Err(at(
            keystore_line,
            "ssl.keystore.location is set but listeners names no https:// address: the server would serve plain HTTP".to_string(),
        ));
    }
    if let Some((line, method)) = auth.method
        && method == "BASIC"
    {
        {
            let Some(users_file) = auth.users_file else {
                return Err(at(
                    line,
                    "authentication.method=BASIC needs authentication.users.file, the file of users, their password hashes and roles (sluice users add)".to_string(),
                ));
            };
            settings.authentication = Some(AuthSettings {
                realm: auth.realm.unwrap_or_else(|| DEFAULT_REALM.to_string()),
                roles: auth.roles.unwrap_or_else(|| vec!["*".to_string()]),
                read_only_roles: auth.read_only_roles,
                skip_paths: auth.skip_paths,
                users_file,
            });
        }
    }
    Ok(settings)
}

/// A comma-separated list, as ksqlDB's list settings are written.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// A whole number of at least one.
fn count(name: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "{name} must be a whole number of at least 1, not '{value}'"
        )),
    }
}

/// Takes one setting, or says why the server cannot start with it.
fn apply(
    settings: &mut Settings,
    auth: &mut AuthLines,
    line: usize,
    name: &str,
    value: &str,
) -> Result<(), String> {
    let unsupported = |what: &str| {
        Err(format!(
            "{name}: {what}; remove it to start the server without it"
        ))
    };
    match name {
        "listeners" => {
            let (address, https) = listener(value)?;
            settings.listen = Some(address);
            settings.https = https;
        }
        "ksql.streams.state.dir" => settings.data_dir = Some(PathBuf::from(value)),
        "bootstrap.servers" | "ksql.streams.bootstrap.servers" => {
            settings.bootstrap_servers = Some(value.to_string());
        }
        "delete.topic.enable" => {
            settings.delete_topics = Some(match value.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(format!("{name} must be true or false, not '{value}'")),
            });
        }
        MAX_CONNECTIONS => settings.max_connections = count(name, value)?,
        MAX_CONCURRENT_REQUESTS => settings.max_concurrent_requests = count(name, value)?,
        "ssl.keystore.location" => settings.keystore = Some(PathBuf::from(value)),
        "ssl.keystore.type" if value.eq_ignore_ascii_case("PEM") => {}
        "ssl.keystore.type" => {
            return Err(format!(
                "ssl.keystore.type={value}: Sluice reads PEM keystores only; convert it (openssl pkcs12 -in keystore.p12 -nodes -out keystore.pem, after keytool -importkeystore for JKS) and set ssl.keystore.type=PEM"
            ));
        }
        "ssl.client.authentication" | "ssl.client.auth" if value.eq_ignore_ascii_case("NONE") => {}
        "ssl.key.password" | "ssl.keystore.password" => {
            return unsupported(
                "encrypted private keys are not read; store the key unencrypted in the PEM keystore and protect the file",
            );
        }
        _ if name.starts_with("ssl.") => {
            return unsupported(
                "Sluice's TLS takes ssl.keystore.location and ssl.keystore.type=PEM only; client certificates, trust stores and protocol choices are not built yet",
            );
        }
        "authentication.method" => match value.to_uppercase().as_str() {
            method @ ("BASIC" | "NONE") => auth.method = Some((line, method.to_string())),
            _ => {
                return Err(format!(
                    "Invalid value {value} for configuration authentication.method: String must be one of: NONE, BASIC"
                ));
            }
        },
        "authentication.realm" => auth.realm = Some(value.to_string()),
        "authentication.roles" => auth.roles = Some(list(value)),
        "authentication.read.only.roles" => auth.read_only_roles = list(value),
        "authentication.skip.paths" => auth.skip_paths = list(value),
        "authentication.users.file" => auth.users_file = Some(PathBuf::from(value)),
        _ if name.starts_with("authentication.")
            || name.starts_with("ksql.authentication.")
            || name == "ksql.security.extension.class"
            || name == "access.control.allow.origin" =>
        {
            return unsupported(
                "Sluice's access control is BASIC authentication with roles (authentication.method, .realm, .roles, .read.only.roles, .skip.paths, .users.file); plugins, security extensions and CORS are not built yet, and it will not serve without what it was told to enforce",
            );
        }
        "ksql.schema.registry.url" => settings.notes.push(format!(
            "{name}={value} is not used: formats with schemas use the registry built into this server, at its own address"
        )),
        _ if LOG_SETTINGS.contains(&name) => {
            settings.properties.insert(name.to_string(), value.to_string());
        }
        _ => {
            crate::engine::config::check_property_name(name)?;
            settings.properties.insert(name.to_string(), value.to_string());
        }
    }
    Ok(())
}

/// The one `http://host:port` or `https://host:port` of a `listeners` list, and whether it
/// is https.
fn listener(value: &str) -> Result<(SocketAddr, bool), String> {
    let all = list(value);
    let [first] = all.as_slice() else {
        return Err(if all.is_empty() {
            "listeners: no address given".to_string()
        } else {
            format!("listeners: Sluice serves one listener; choose one of {value}")
        });
    };
    let (address, https) = if let Some(address) = first.strip_prefix("https://") {
        (address, true)
    } else if let Some(address) = first.strip_prefix("http://") {
        (address, false)
    } else {
        return Err(format!(
            "listeners: {first} is not an http:// or https:// address"
        ));
    };
    let address = address.trim_end_matches('/');
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut all| all.next())
        .map(|a| (a, https))
        .ok_or_else(|| format!("listeners: {first} is not a host and port to listen on"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ksql-server.properties");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    #[test]
    fn a_ksql_server_properties_file_is_read_as_ksqldb_reads_it() {
        let read = settings(
            "# A ksqlDB server\nlisteners=http://127.0.0.1:18188\nksql.service.id = pageviews_\n\
             ksql.streams.state.dir: /var/lib/sluice\nksql.streams.num.stream.threads 4\n\
             ksql.schema.registry.url=http://localhost:8081\nlog.segment.bytes=1048576\n",
        )
        .unwrap();
        assert_eq!(read.listen, Some("127.0.0.1:18188".parse().unwrap()));
        assert_eq!(read.data_dir, Some(PathBuf::from("/var/lib/sluice")));
        assert_eq!(read.properties["ksql.service.id"], "pageviews_");
        assert_eq!(read.properties["ksql.streams.num.stream.threads"], "4");
        assert_eq!(read.properties["log.segment.bytes"], "1048576");
        assert_eq!(read.notes.len(), 1);
    }

    #[test]
    fn a_setting_the_server_cannot_honour_is_refused_with_its_line() {
        let refused = |text: &str| settings(text).unwrap_err().to_string();
        let message = refused("ksql.service.id=a\n\nnot.a.property=1\n");
        assert!(
            message.ends_with(
                ":3: Not recognizable as ksql, streams, consumer, or producer property: 'not.a.property'"
            ),
            "{message}"
        );
        assert!(refused("ssl.cipher.suites=X").contains("not built yet"));
        let jks = refused("bootstrap.servers=k:9092\nssl.truststore.location=/x.jks\n");
        assert!(
            jks.contains(":2: ssl.truststore.location: the trust store is JKS"),
            "{jks}"
        );
        assert!(refused("sasl.mechanism=GSSAPI").contains(":1: sasl.mechanism=GSSAPI"));
        assert!(refused("listeners=ftp://0.0.0.0:8088").contains("not an http:// or https://"));
        assert!(refused("listeners=https://127.0.0.1:8443").contains(":1: listeners: an https"));
        assert!(
            refused("ssl.keystore.type=JKS").contains("PEM keystores only"),
            "{}",
            refused("ssl.keystore.type=JKS")
        );
        assert!(
            refused("authentication.method=BASIC\n")
                .contains(":1: authentication.method=BASIC needs")
        );
        assert!(refused("authentication.method=KERBEROS").contains("one of: NONE, BASIC"));
        assert!(refused("ksql.server.max.connections=0").contains("at least 1"));
    }

    #[test]
    fn a_secured_kafka_clusters_settings_are_read_for_its_clients() {
        let read = settings(
            "bootstrap.servers=broker:9093\nsecurity.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n\
             sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"k\" password=\"s\";\n",
        )
        .unwrap();
        assert_eq!(read.kafka_client["security.protocol"], "SASL_SSL");
        assert_eq!(read.kafka_client["sasl.username"], "k");
        assert!(read.properties.is_empty(), "{:?}", read.properties);
        assert!(read.notes.is_empty(), "{:?}", read.notes);
        let unused = settings("security.protocol=SSL\n").unwrap();
        assert!(
            unused.notes[0].contains("no bootstrap.servers"),
            "{:?}",
            unused.notes
        );
    }

    #[test]
    fn tls_and_basic_authentication_are_read_as_ksqldb_names_them() {
        let read = settings(
            "listeners=https://127.0.0.1:8443\nssl.keystore.type=PEM\nssl.keystore.location=/etc/sluice/server.pem\n\
             authentication.method=BASIC\nauthentication.roles=admin, analyst\nauthentication.read.only.roles=analyst\n\
             authentication.users.file=/etc/sluice/users\nksql.server.max.concurrent.requests=64\n",
        )
        .unwrap();
        assert!(read.https);
        assert_eq!(read.keystore, Some(PathBuf::from("/etc/sluice/server.pem")));
        assert_eq!(read.max_concurrent_requests, 64);
        let auth = read.authentication.unwrap();
        assert_eq!(auth.realm, DEFAULT_REALM);
        assert_eq!(auth.roles, vec!["admin", "analyst"]);
        assert_eq!(auth.read_only_roles, vec!["analyst"]);
        assert_eq!(auth.users_file, PathBuf::from("/etc/sluice/users"));
        assert!(read.properties.is_empty(), "{:?}", read.properties);
    }
}
