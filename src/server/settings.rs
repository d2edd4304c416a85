//! The server's properties file (`sluice server --config FILE`, a `ksql-server.properties`):
//! Java properties, each name checked as `SET` checks it, ksqlDB's own server settings
//! honoured, and those Sluice cannot honour refused with the line that asks for them, never
//! ignored.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// What a properties file sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `listeners`: where to listen.
    pub listen: Option<SocketAddr>,
    /// `ksql.streams.state.dir`: the data directory.
    pub data_dir: Option<PathBuf>,
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

/// Reads and checks a properties file.
pub fn read(path: &Path) -> Result<Settings, SettingsError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| SettingsError::Read {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let mut settings = Settings::default();
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
        apply(&mut settings, name.trim(), value.trim()).map_err(|message| SettingsError::Line {
            path: shown.clone(),
            line: number,
            message,
        })?;
    }
    Ok(settings)
}

/// Takes one setting, or says why the server cannot start with it.
fn apply(settings: &mut Settings, name: &str, value: &str) -> Result<(), String> {
    let unsupported = |what: &str| {
        Err(format!(
            "{name}: {what}; remove it to start the server without it"
        ))
    };
    match name {
        "listeners" => settings.listen = Some(listener(value)?),
        "ksql.streams.state.dir" => settings.data_dir = Some(PathBuf::from(value)),
        "bootstrap.servers" | "ksql.streams.bootstrap.servers" => {
            return unsupported("Sluice keeps its topics in its own log and cannot use Kafka yet");
        }
        _ if name.starts_with("authentication.")
            || name.starts_with("ssl.")
            || name.starts_with("ksql.authentication.")
            || name == "ksql.security.extension.class"
            || name == "access.control.allow.origin" =>
        {
            return unsupported(
                "Sluice has no authentication, TLS or access control yet, and will not serve without what it was told to enforce",
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

/// The first `http://host:port` of a `listeners` list.
fn listener(value: &str) -> Result<SocketAddr, String> {
    let first = value.split(',').map(str::trim).find(|l| !l.is_empty());
    let Some(first) = first else {
        return Err("listeners: no address given".to_string());
    };
    let Some(address) = first.strip_prefix("http://") else {
        return Err(format!(
            "listeners: {first} is not an http:// address (Sluice serves plain HTTP; TLS is not built yet)"
        ));
    };
    let address = address.trim_end_matches('/');
    address
        .to_socket_addrs()
        .ok()
        .and_then(|mut all| all.next())
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
        assert!(refused("bootstrap.servers=localhost:9092").contains(":1: bootstrap.servers:"));
        assert!(refused("authentication.method=BASIC").contains("no authentication"));
        assert!(refused("listeners=https://0.0.0.0:8088").contains("not an http://"));
    }
}
