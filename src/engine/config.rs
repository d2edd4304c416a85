//! The configuration names a session may set (`SET`, a request's `streamsProperties`), checked
//! as ksqlDB checks them: any `ksql.` property, and the Kafka Streams, consumer and producer
//! configs (Kafka 3.x), also behind the prefixes Kafka Streams forwards to its clients.

/// Kafka Streams config names that are not also client configs.
const STREAMS_CONFIGS: &[&str] = &[
    "acceptable.recovery.lag",
    "application.id",
    "application.server",
    "buffered.records.per.partition",
    "built.in.metrics.version",
    "cache.max.bytes.buffering",
    "commit.interval.ms",
    "default.client.supplier",
    "default.deserialization.exception.handler",
    "default.dsl.store",
    "default.key.serde",
    "default.list.key.serde.inner",
    "default.list.key.serde.type",
    "default.list.value.serde.inner",
    "default.list.value.serde.type",
    "default.production.exception.handler",
    "default.timestamp.extractor",
    "default.value.serde",
    "dsl.store.suppliers.class",
    "log.summary.interval.ms",
    "max.task.idle.ms",
    "max.warmup.replicas",
    "num.standby.replicas",
    "num.stream.threads",
    "poll.ms",
    "probing.rebalance.interval.ms",
    "processing.exception.handler",
    "processing.guarantee",
    "rack.aware.assignment.non_overlap_cost",
    "rack.aware.assignment.strategy",
    "rack.aware.assignment.tags",
    "rack.aware.assignment.traffic_cost",
    "repartition.purge.interval.ms",
    "replication.factor",
    "rocksdb.config.setter",
    "state.cleanup.delay.ms",
    "state.dir",
    "statestore.cache.max.bytes",
    "task.assignor.class",
    "task.timeout.ms",
    "topology.optimization",
    "upgrade.from",
    "window.size.ms",
    "windowed.inner.class.serde",
    "windowstore.changelog.additional.retention.ms",
];

/// Consumer, producer and client security config names: what may follow a client prefix.
const CLIENT_CONFIGS: &[&str] = &[
    "acks",
    "allow.auto.create.topics",
    "auto.commit.interval.ms",
    "auto.include.jmx.reporter",
    "auto.offset.reset",
    "batch.size",
    "bootstrap.servers",
    "buffer.memory",
    "check.crcs",
    "client.dns.lookup",
    "client.id",
    "client.rack",
    "compression.gzip.level",
    "compression.lz4.level",
    "compression.type",
    "compression.zstd.level",
    "connections.max.idle.ms",
    "default.api.timeout.ms",
    "delivery.timeout.ms",
    "enable.auto.commit",
    "enable.idempotence",
    "enable.metrics.push",
    "exclude.internal.topics",
    "fetch.max.bytes",
    "fetch.max.wait.ms",
    "fetch.min.bytes",
    "group.id",
    "group.instance.id",
    "group.protocol",
    "group.remote.assignor",
    "heartbeat.interval.ms",
    "interceptor.classes",
    "isolation.level",
    "key.deserializer",
    "key.serializer",
    "linger.ms",
    "max.block.ms",
    "max.in.flight.requests.per.connection",
    "max.partition.fetch.bytes",
    "max.poll.interval.ms",
    "max.poll.records",
    "max.request.size",
    "metadata.max.age.ms",
    "metadata.max.idle.ms",
    "metadata.recovery.strategy",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.recording.level",
    "metrics.sample.window.ms",
    "partition.assignment.strategy",
    "partitioner.adaptive.partitioning.enable",
    "partitioner.availability.timeout.ms",
    "partitioner.class",
    "partitioner.ignore.keys",
    "receive.buffer.bytes",
    "reconnect.backoff.max.ms",
    "reconnect.backoff.ms",
    "request.timeout.ms",
    "retries",
    "retry.backoff.max.ms",
    "retry.backoff.ms",
    "sasl.client.callback.handler.class",
    "sasl.jaas.config",
    "sasl.kerberos.kinit.cmd",
    "sasl.kerberos.min.time.before.relogin",
    "sasl.kerberos.service.name",
    "sasl.kerberos.ticket.renew.jitter",
    "sasl.kerberos.ticket.renew.window.factor",
    "sasl.login.callback.handler.class",
    "sasl.login.class",
    "sasl.login.connect.timeout.ms",
    "sasl.login.read.timeout.ms",
    "sasl.login.refresh.buffer.seconds",
    "sasl.login.refresh.min.period.seconds",
    "sasl.login.refresh.window.factor",
    "sasl.login.refresh.window.jitter",
    "sasl.login.retry.backoff.max.ms",
    "sasl.login.retry.backoff.ms",
    "sasl.mechanism",
    "sasl.oauthbearer.clock.skew.seconds",
    "sasl.oauthbearer.expected.audience",
    "sasl.oauthbearer.expected.issuer",
    "sasl.oauthbearer.header.urlencode",
    "sasl.oauthbearer.jwks.endpoint.refresh.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms",
    "sasl.oauthbearer.jwks.endpoint.retry.backoff.ms",
    "sasl.oauthbearer.jwks.endpoint.url",
    "sasl.oauthbearer.scope.claim.name",
    "sasl.oauthbearer.sub.claim.name",
    "sasl.oauthbearer.token.endpoint.url",
    "security.protocol",
    "security.providers",
    "send.buffer.bytes",
    "session.timeout.ms",
    "socket.connection.setup.timeout.max.ms",
    "socket.connection.setup.timeout.ms",
    "ssl.cipher.suites",
    "ssl.enabled.protocols",
    "ssl.endpoint.identification.algorithm",
    "ssl.engine.factory.class",
    "ssl.key.password",
    "ssl.keymanager.algorithm",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.type",
    "ssl.protocol",
    "ssl.provider",
    "ssl.secure.random.implementation",
    "ssl.trustmanager.algorithm",
    "ssl.truststore.certificates",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.type",
    "transaction.timeout.ms",
    "transactional.id",
    "value.deserializer",
    "value.serializer",
];

/// The prefixes Kafka Streams forwards to one of its clients.
const CLIENT_PREFIXES: &[&str] = &[
    "consumer.",
    "main.consumer.",
    "restore.consumer.",
    "global.consumer.",
    "producer.",
    "admin.",
];

/// Whether ksqlDB recognizes a property a session sets; the error names it when not.
pub fn check_property_name(name: &str) -> Result<(), String> {
    if recognized(name) {
        Ok(())
    } else {
        Err(format!(
            "Not recognizable as ksql, streams, consumer, or producer property: '{name}'"
        ))
    }
}

fn recognized(name: &str) -> bool {
    if name.starts_with("ksql.") && !name.starts_with("ksql.streams.") {
        return true;
    }
    let name = name.strip_prefix("ksql.streams.").unwrap_or(name);
    if name.starts_with("topic.") || name.starts_with("client.tag.") {
        return true;
    }
    if let Some(rest) = CLIENT_PREFIXES.iter().find_map(|p| name.strip_prefix(p)) {
        return CLIENT_CONFIGS.binary_search(&rest).is_ok();
    }
    STREAMS_CONFIGS.binary_search(&name).is_ok() || CLIENT_CONFIGS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_for_binary_search() {
        assert!(STREAMS_CONFIGS.windows(2).all(|w| w[0] < w[1]));
        assert!(CLIENT_CONFIGS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn recognizes_what_ksqldb_recognizes() {
        for name in [
            "auto.offset.reset",
            "ksql.streams.auto.offset.reset",
            "ksql.anything.at.all",
            "cache.max.bytes.buffering",
            "ksql.streams.num.stream.threads",
            "commit.interval.ms",
            "consumer.max.poll.records",
            "ksql.streams.producer.linger.ms",
            "topic.retention.ms",
        ] {
            assert!(check_property_name(name).is_ok(), "{name}");
        }
        for name in [
            "foo",
            "auto.offset.rest",
            "consumer.nope",
            "ksql.streams.nope",
        ] {
            assert_eq!(
                check_property_name(name),
                Err(format!(
                    "Not recognizable as ksql, streams, consumer, or producer property: '{name}'"
                ))
            );
        }
    }
}
