//! Kafka client settings shared by producers and consumers.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

/// Topic names follow the OpenTelemetry Collector's Kafka exporter and
/// receiver defaults, so a Collector can produce to or read from them.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Topics {
    pub traces: String,
    pub logs: String,
    pub metrics: String,
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            traces: "otlp_spans".to_owned(),
            logs: "otlp_logs".to_owned(),
            metrics: "otlp_metrics".to_owned(),
        }
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated bootstrap servers.
    pub brokers: String,
    pub topics: Topics,
    /// Partitions and replication used when `airis migrate` creates topics.
    pub partitions: i32,
    pub replication: i32,
    /// Extra librdkafka properties for every client (security settings,
    /// for example), applied after ours so they can override them.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".to_owned(),
            topics: Topics::default(),
            partitions: 3,
            replication: 1,
            properties: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    /// Base client config; callers add role-specific properties and then
    /// [`KafkaConfig::finish`] applies the user's overrides.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        config
    }

    /// Applies the configured property overrides last.
    pub fn finish(&self, mut config: ClientConfig) -> ClientConfig {
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// Name of the Kafka record header that carries the tenant of a message
/// (not an HTTP header: those are the mesh's claim headers).
pub const TENANT_RECORD_HEADER: &str = "airis.tenant";

/// Creates the configured topics that do not exist yet; existing topics are
/// left as they are. Returns the names of the topics created.
pub async fn ensure_topics(
    config: &KafkaConfig,
) -> Result<Vec<String>, rdkafka::error::KafkaError> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::types::RDKafkaErrorCode;

    let admin: AdminClient<DefaultClientContext> =
        config.finish(config.client_config()).create()?;
    let names = [
        &config.topics.traces,
        &config.topics.logs,
        &config.topics.metrics,
    ];
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                config.partitions,
                TopicReplication::Fixed(config.replication),
            )
            // OTLP requests can be large; match the receiver's limit.
            .set("max.message.bytes", "16777216")
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(std::time::Duration::from_secs(30)));
    let results = admin.create_topics(&topics, &options).await?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(name) => created.push(name),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(rdkafka::error::KafkaError::AdminOp(code)).inspect_err(|_| {
                    tracing::error!(topic = %name, ?code, "cannot create topic");
                });
            }
        }
    }
    Ok(created)
}
