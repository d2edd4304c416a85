//! The Kafka client settings of a `ksql-server.properties`, as ksqlDB's Java clients take them,
//! translated for librdkafka: how to reach a secured cluster (`security.protocol`, SASL and
//! TLS). Each is read as ksqlDB reads it, at the top level or under `ksql.streams.`; a setting
//! librdkafka cannot honour the same way is refused with what to write instead, never ignored.

use std::collections::BTreeMap;

/// The prefix under which ksqlDB also takes its Kafka clients' settings.
const STREAMS_PREFIX: &str = "ksql.streams.";

/// The Java name of a Kafka client setting this module takes, with any `ksql.streams.` prefix
/// removed; `None` for every other name.
pub fn client_setting_name(name: &str) -> Option<&str> {
    let bare = name.strip_prefix(STREAMS_PREFIX).unwrap_or(name);
    let taken = bare == "security.protocol"
        || bare.starts_with("sasl.")
        || bare.starts_with("ssl.truststore.")
        || bare == "ssl.endpoint.identification.algorithm"
        // Sluice's own listener takes the top-level keystore; a Kafka client one is asked for
        // under the prefix only.
        || (bare.starts_with("ssl.") && bare != name);
    taken.then_some(bare)
}

/// The client settings read so far, in librdkafka's names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    librdkafka: BTreeMap<String, String>,
    truststore_type: Option<String>,
}

impl ClientSettings {
    /// Takes one setting by its Java name (as [`client_setting_name`] gives it), or says why
    /// it cannot be honoured.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name {
            "security.protocol" => {
                let protocol = value.to_ascii_uppercase();
                if !["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].contains(&protocol.as_str())
                {
                    return Err(format!(
                        "Invalid value {value} for configuration security.protocol: String must be one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
                    ));
                }
                self.put("security.protocol", &protocol);
            }
            "sasl.mechanism" => match value.to_ascii_uppercase().as_str() {
                mechanism @ ("PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512") => {
                    self.put("sasl.mechanisms", mechanism);
                }
                "GSSAPI" | "OAUTHBEARER" => {
                    return Err(format!(
                        "sasl.mechanism={value}: Sluice authenticates to Kafka with PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; Kerberos and OAuth are not built yet"
                    ));
                }
                _ => return Err(format!("sasl.mechanism={value} is not a SASL mechanism")),
            },
            "sasl.jaas.config" => {
                let (username, password) = jaas_credentials(value)?;
                self.put("sasl.username", &username);
                self.put("sasl.password", &password);
            }
            "ssl.truststore.location" => self.put("ssl.ca.location", value),
            "ssl.truststore.type" => self.truststore_type = Some(value.to_ascii_uppercase()),
            // A PEM trust store has no password; Java ignores it there too.
            "ssl.truststore.password" => {}
            "ssl.endpoint.identification.algorithm" => {
                let check = match value.to_ascii_lowercase().as_str() {
                    "" => "none",
                    "https" => "https",
                    _ => {
                        return Err(format!(
                            "ssl.endpoint.identification.algorithm={value}: the algorithm is https, or empty to not check the broker's host name"
                        ));
                    }
                };
                self.put("ssl.endpoint.identification.algorithm", check);
            }
            _ if name.starts_with("ssl.") => {
                return Err(format!(
                    "{name}: a client certificate for Kafka (mutual TLS) is not built yet; Sluice's Kafka clients take ssl.truststore.location (PEM) and ssl.endpoint.identification.algorithm"
                ));
            }
            _ => {
                return Err(format!(
                    "{name}: Sluice's Kafka clients take sasl.mechanism and sasl.jaas.config; other SASL settings are not built yet"
                ));
            }
        }
        Ok(())
    }

    /// The settings for librdkafka, once every line is read: a trust store must be PEM, which
    /// is all librdkafka reads.
    pub fn finish(self) -> Result<BTreeMap<String, String>, String> {
        let truststore_type = self.truststore_type.as_deref().unwrap_or("JKS");
        if self.librdkafka.contains_key("ssl.ca.location") && truststore_type != "PEM" {
            return Err(format!(
                "ssl.truststore.location: the trust store is {truststore_type}, and Sluice's Kafka clients read PEM certificates only; export them (keytool -exportcert -rfc -keystore truststore.jks -alias ca -file ca.pem) and set ssl.truststore.location=ca.pem and ssl.truststore.type=PEM"
            ));
        }
        Ok(self.librdkafka)
    }

    fn put(&mut self, name: &str, value: &str) {
        self.librdkafka.insert(name.to_string(), value.to_string());
    }
}

/// The username and password of a `sasl.jaas.config` of Kafka's PLAIN or SCRAM login module:
/// `org.apache.kafka.common.security.plain.PlainLoginModule required username="…" password="…";`
fn jaas_credentials(config: &str) -> Result<(String, String), String> {
    let refused = |why: &str| {
        Err(format!(
            "sasl.jaas.config: {why}; write it as org.apache.kafka.common.security.plain.PlainLoginModule (or …scram.ScramLoginModule) required username=\"…\" password=\"…\";"
        ))
    };
    let text = config.trim();
    let (module, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    if !matches!(
        module,
        "org.apache.kafka.common.security.plain.PlainLoginModule"
            | "org.apache.kafka.common.security.scram.ScramLoginModule"
    ) {
        return refused(&format!("the login module {module} is not supported"));
    }
    let rest = rest.trim_start();
    let Some(rest) = rest
        .strip_prefix("required")
        .or_else(|| rest.strip_prefix("optional"))
        .or_else(|| rest.strip_prefix("requisite"))
        .or_else(|| rest.strip_prefix("sufficient"))
    else {
        return refused("the login module's flag (required) is missing");
    };
    let Some(options) = rest.trim().strip_suffix(';') else {
        return refused("the configuration does not end with ';'");
    };
    let options = match jaas_options(options) {
        Ok(options) => options,
        Err(why) => return refused(&why),
    };
    let username = options.get("username");
    let password = options.get("password");
    match (username, password) {
        (Some(username), Some(password)) => Ok((username.clone(), password.clone())),
        _ => refused("both username and password are needed"),
    }
}

/// `name="value"` pairs, separated by white space; values may be quoted (with `\"` inside).
fn jaas_options(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut options = BTreeMap::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(options);
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            name.push(c);
        }
        if chars.next() != Some('=') {
            return Err(format!("the option {name} has no value"));
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of {name} has no closing quote")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
        }
        options.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn translated(lines: &[(&str, &str)]) -> Result<BTreeMap<String, String>, String> {
        let mut settings = ClientSettings::default();
        for (name, value) in lines {
            let bare = client_setting_name(name).expect("a client setting");
            settings.set(bare, value)?;
        }
        settings.finish()
    }

    #[test]
    fn confluent_clouds_settings_become_librdkafkas() {
        let settings = translated(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "PLAIN"),
            (
                "sasl.jaas.config",
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="KEY" password="se\"cret";"#,
            ),
            ("ksql.streams.ssl.endpoint.identification.algorithm", "https"),
        ])
        .unwrap();
        let expected: BTreeMap<String, String> = [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "KEY"),
            ("sasl.password", "se\"cret"),
            ("ssl.endpoint.identification.algorithm", "https"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(settings, expected);
    }

    #[test]
    fn scram_and_a_pem_trust_store() {
        let settings = translated(&[
            ("ksql.streams.security.protocol", "sasl_ssl"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required\n username=alice password=\"a b\";",
            ),
            ("ssl.truststore.location", "/etc/kafka/ca.pem"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.password", "unused"),
        ])
        .unwrap();
        assert_eq!(settings["security.protocol"], "SASL_SSL");
        assert_eq!(settings["sasl.username"], "alice");
        assert_eq!(settings["sasl.password"], "a b");
        assert_eq!(settings["ssl.ca.location"], "/etc/kafka/ca.pem");
    }

    #[test]
    fn what_librdkafka_cannot_honour_is_refused_with_what_to_write() {
        let refused = |lines: &[(&str, &str)]| translated(lines).unwrap_err();
        assert!(refused(&[("security.protocol", "TLS")]).contains("must be one of"));
        assert!(refused(&[("sasl.mechanism", "GSSAPI")]).contains("Kerberos"));
        assert!(refused(&[("ssl.truststore.location", "/x.jks")]).contains("keytool"));
        assert!(refused(&[("ksql.streams.ssl.keystore.location", "/k")]).contains("mutual TLS"));
        assert!(refused(&[("sasl.login.callback.handler.class", "X")]).contains("SASL"));
        for jaas in [
            "com.sun.security.auth.module.Krb5LoginModule required;",
            "org.apache.kafka.common.security.plain.PlainLoginModule username=\"a\" password=\"b\";",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\" password=\"b\"",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a\";",
            "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"a;",
        ] {
            assert!(
                refused(&[("sasl.jaas.config", jaas)]).starts_with("sasl.jaas.config:"),
                "{jaas}"
            );
        }
    }

    #[test]
    fn the_listeners_own_tls_settings_are_not_the_clients() {
        assert_eq!(client_setting_name("ssl.keystore.location"), None);
        assert_eq!(
            client_setting_name("ksql.streams.ssl.keystore.location"),
            Some("ssl.keystore.location")
        );
        assert_eq!(client_setting_name("ksql.streams.num.stream.threads"), None);
    }
}
