//! The tenants' vocabularies, read from ClickHouse: the service,
//! operation, metric and attribute names of the last
//! `search.vocabulary.window_secs` with their frequent values, and the
//! tenant's synonyms from the configuration.
//!
//! A tenant's first question waits for its vocabulary, read once by a task
//! of its own that outlives a question given up on; a read that failed is
//! not tried again for a few seconds, however many questions wait. After
//! that a background task reads it again every
//! `search.vocabulary.refresh_secs` and swaps the new one in, so a question
//! never waits for a refresh: it takes the vocabulary current when it
//! starts (an `Arc` clone under a lock held for no more than that). A
//! refresh that fails keeps the last vocabulary. A tenant not asked for
//! `search.vocabulary.idle_secs` is forgotten. Every read is bounded: the
//! attributes come from the newest spans only, each query has
//! `query_timeout_secs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use airis_runtime::Shutdown;
use airis_runtime::tenant::Tenant;
use airis_store::sql::Sql;
use airis_store::tables::{
    LOGS, METRICS_EXP_HISTOGRAM, METRICS_GAUGE, METRICS_HISTOGRAM, METRICS_SUM, METRICS_SUMMARY,
    TRACES,
};

use crate::Error;
use crate::suggest::Completions;
use crate::vocabulary::{Names, Vocabulary};

/// What the catalog reads, and how often.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VocabularyConfig {
    /// How far back names are read from.
    pub window_secs: u64,
    /// How often a tenant's vocabulary is read again.
    pub refresh_secs: u64,
    /// A tenant not asked for this long is forgotten (read again when
    /// asked).
    pub idle_secs: u64,
    /// Most (service, operation) names and most metric names read.
    pub max_names: u64,
    /// Most operations read per service, the most used first (a service
    /// with ids in its span names leaves room for the others).
    pub max_operations_per_service: u64,
    /// Most attribute keys read, the most used first.
    pub max_attribute_keys: u64,
    /// Most frequent values kept per attribute key; a key with more
    /// distinct values than `max_value_cardinality` keeps none (ids, not
    /// categories).
    pub max_values_per_key: u64,
    pub max_value_cardinality: u64,
    /// The newest spans whose attributes are read for keys and values, of
    /// the last `attribute_window_secs` only: bounds the work of a refresh
    /// on a busy tenant.
    pub attribute_sample_spans: u64,
    pub attribute_window_secs: u64,
    /// Longest a query of a read may run (ClickHouse's
    /// max_execution_time, and the read as a whole).
    pub query_timeout_secs: u64,
    /// Per tenant, a word of its own (lowercase) for one of its names:
    /// `[search.vocabulary.synonyms.acme] "정산" = "billing-api"`.
    pub synonyms: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for VocabularyConfig {
    fn default() -> Self {
        Self {
            window_secs: 24 * 3600,
            refresh_secs: 60,
            idle_secs: 3600,
            max_names: 10_000,
            max_operations_per_service: 500,
            max_attribute_keys: 300,
            max_values_per_key: 20,
            max_value_cardinality: 200,
            attribute_sample_spans: 200_000,
            attribute_window_secs: 900,
            query_timeout_secs: 20,
            synonyms: BTreeMap::new(),
        }
    }
}

/// A tenant's vocabulary ready for questions and completions.
#[derive(Debug, Default)]
pub struct Indexed {
    pub names: Names,
    pub completions: Completions,
    /// When it was read (for logs and the refresh).
    pub read_unix_nano: u64,
}

impl Indexed {
    pub fn new(vocabulary: Vocabulary, read_unix_nano: u64) -> Self {
        let completions = Completions::new(&vocabulary);
        Self {
            names: vocabulary.index(),
            completions,
            read_unix_nano,
        }
    }
}

/// How long a failed first read is answered from memory.
const FAILURE_MEMORY: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Slot {
    current: RwLock<Option<Arc<Indexed>>>,
    /// Held while the vocabulary is read, so that a tenant's first
    /// questions read it once.
    loading: tokio::sync::Mutex<()>,
    asked: Mutex<Option<Instant>>,
    /// The last first read that failed: when, and why.
    failed: Mutex<Option<(Instant, String)>>,
}

/// Every tenant's vocabulary.
#[derive(Clone)]
pub struct Catalog {
    client: clickhouse::Client,
    config: Arc<VocabularyConfig>,
    tenants: Arc<Mutex<HashMap<Tenant, Arc<Slot>>>>,
}

impl Catalog {
    pub fn new(client: clickhouse::Client, config: VocabularyConfig) -> Self {
        Self {
            client,
            config: Arc::new(config),
            tenants: Arc::default(),
        }
    }

    /// The tenant's slot, marked as asked now (under the map's lock, so
    /// that the refresh cannot forget it in between).
    fn slot(&self, tenant: &Tenant) -> Arc<Slot> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let slot = tenants.entry(tenant.clone()).or_default().clone();
        *slot.asked.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        slot
    }

    /// `tenant`'s vocabulary: the current one, or read now for a tenant's
    /// first question.
    pub async fn get(&self, tenant: &Tenant) -> Result<Arc<Indexed>, Error> {
        let slot = self.slot(tenant);
        if let Some(current) = read(&slot) {
            return Ok(current);
        }
        // In a task: a question given up on (a client's cancel, the mesh's
        // timeout) does not throw the read away.
        let (catalog, tenant) = (self.clone(), tenant.clone());
        tokio::spawn(async move {
            let _loading = slot.loading.lock().await;
            if let Some(current) = read(&slot) {
                return Ok(current);
            }
            let failed = slot
                .failed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some((at, why)) = failed
                && at.elapsed() < FAILURE_MEMORY
            {
                return Err(Error::Unavailable(why));
            }
            match catalog.load(&tenant).await {
                Ok(indexed) => {
                    let indexed = Arc::new(indexed);
                    *slot.current.write().unwrap_or_else(|e| e.into_inner()) =
                        Some(indexed.clone());
                    Ok(indexed)
                }
                Err(error) => {
                    *slot.failed.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((Instant::now(), error.to_string()));
                    Err(error)
                }
            }
        })
        .await
        .map_err(|e| Error::Internal(format!("reading the vocabulary: {e}")))?
    }

    /// Reads every asked tenant's vocabulary again every
    /// `refresh_secs`, until `shutdown`.
    pub async fn refresh(self, shutdown: Shutdown) {
        let every = Duration::from_secs(self.config.refresh_secs.max(1));
        let idle = Duration::from_secs(self.config.idle_secs.max(1));
        loop {
            tokio::select! {
                () = shutdown.signalled() => return,
                () = tokio::time::sleep(every) => {}
            }
            let slots: Vec<(Tenant, Arc<Slot>)> = {
                let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
                tenants.retain(|_, slot| {
                    let asked = *slot.asked.lock().unwrap_or_else(|e| e.into_inner());
                    asked.is_some_and(|at| at.elapsed() < idle)
                });
                tenants
                    .iter()
                    .map(|(t, s)| (t.clone(), s.clone()))
                    .collect()
            };
            for (tenant, slot) in slots {
                // A tenant whose first read is still running is read by it.
                let Ok(_loading) = slot.loading.try_lock() else {
                    continue;
                };
                match self.load(&tenant).await {
                    Ok(indexed) => {
                        *slot.current.write().unwrap_or_else(|e| e.into_inner()) =
                            Some(Arc::new(indexed));
                    }
                    Err(error) => tracing::warn!(
                        tenant = tenant.as_str(),
                        %error,
                        "vocabulary refresh failed, the last one stays"
                    ),
                }
            }
        }
    }

    /// Reads `tenant`'s names and indexes them (on a blocking thread: a
    /// large vocabulary takes milliseconds).
    async fn load(&self, tenant: &Tenant) -> Result<Indexed, Error> {
        let started = Instant::now();
        let limit = Duration::from_secs(self.config.query_timeout_secs.max(1));
        let mut vocabulary = match tokio::time::timeout(limit, self.read(tenant)).await {
            Ok(Ok(vocabulary)) => vocabulary,
            Ok(Err(e)) => {
                return Err(Error::Unavailable(format!(
                    "the tenant's vocabulary could not be read: {e}"
                )));
            }
            Err(_) => {
                return Err(Error::Unavailable(format!(
                    "the tenant's vocabulary could not be read within {} s \
                     (search.vocabulary.query_timeout_secs)",
                    limit.as_secs()
                )));
            }
        };
        vocabulary.synonyms = self
            .config
            .synonyms
            .get(tenant.as_str())
            .cloned()
            .unwrap_or_default();
        let now = airis_runtime::clock::now_unix_nano();
        let names = vocabulary.services.len()
            + vocabulary.operations.values().map(Vec::len).sum::<usize>()
            + vocabulary.metrics.len()
            + vocabulary.attributes.len();
        let indexed = tokio::task::spawn_blocking(move || Indexed::new(vocabulary, now))
            .await
            .map_err(|e| Error::Internal(format!("indexing the vocabulary: {e}")))?;
        tracing::debug!(
            tenant = tenant.as_str(),
            names,
            ms = started.elapsed().as_millis() as u64,
            "vocabulary read"
        );
        Ok(indexed)
    }

    async fn read(&self, tenant: &Tenant) -> Result<Vocabulary, clickhouse::error::Error> {
        let c = &self.config;
        let query = |sql: Sql| {
            sql.query(&self.client)
                .with_setting("max_execution_time", c.query_timeout_secs.to_string())
        };
        let (operations, log_services, metrics, attributes) = tokio::try_join!(
            query(operations_sql(tenant, c)).fetch_all::<OperationRow>(),
            query(log_services_sql(tenant, c)).fetch_all::<NameRow>(),
            query(metrics_sql(tenant, c)).fetch_all::<NameRow>(),
            query(attributes_sql(tenant, c)).fetch_all::<AttributeRow>(),
        )?;
        Ok(vocabulary_of(
            operations,
            log_services,
            metrics,
            attributes,
            c,
        ))
    }
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct OperationRow {
    service: String,
    operation: String,
    #[allow(dead_code)]
    spans: u64,
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct NameRow {
    name: String,
}

#[derive(Debug, clickhouse::Row, serde::Deserialize)]
struct AttributeRow {
    key: String,
    #[allow(dead_code)]
    spans: u64,
    values: Vec<String>,
}

fn read(slot: &Slot) -> Option<Arc<Indexed>> {
    slot.current
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// `TenantId = ? AND <column> >= now - window_secs`.
fn recent(sql: &mut Sql, tenant: &Tenant, column: &str, window_secs: u64) {
    sql.tenant(tenant).push_bind(
        &format!(" AND {column} >= now64(9) - toIntervalSecond(?)"),
        window_secs,
    );
}

/// (service, operation, spans), the most used first, at most
/// `max_operations_per_service` of each service.
fn operations_sql(tenant: &Tenant, config: &VocabularyConfig) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT toString(ServiceName) AS service, toString(SpanName) AS operation, \
         count() AS spans FROM {TRACES} WHERE "
    ));
    recent(&mut sql, tenant, "Timestamp", config.window_secs);
    sql.push_bind(
        " GROUP BY service, operation ORDER BY spans DESC, service, operation LIMIT ? BY service",
        config.max_operations_per_service,
    );
    sql.push_bind(" LIMIT ?", config.max_names);
    sql
}

/// Services that send logs only.
fn log_services_sql(tenant: &Tenant, config: &VocabularyConfig) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT DISTINCT toString(ServiceName) AS name FROM {LOGS} WHERE "
    ));
    recent(&mut sql, tenant, "Timestamp", config.window_secs);
    sql.push_bind(" ORDER BY name LIMIT ?", config.max_names);
    sql
}

fn metrics_sql(tenant: &Tenant, config: &VocabularyConfig) -> Sql {
    let mut sql = Sql::new("SELECT DISTINCT name FROM (");
    for (i, table) in [
        METRICS_GAUGE,
        METRICS_SUM,
        METRICS_HISTOGRAM,
        METRICS_EXP_HISTOGRAM,
        METRICS_SUMMARY,
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            sql.push(" UNION ALL ");
        }
        sql.push(&format!(
            "(SELECT DISTINCT toString(MetricName) AS name FROM {table} WHERE "
        ));
        recent(&mut sql, tenant, "TimeUnix", config.window_secs);
        sql.push_bind(" ORDER BY name LIMIT ?)", config.max_names);
    }
    sql.push_bind(") ORDER BY name LIMIT ?", config.max_names);
    sql
}

/// (key, spans holding it, its values if at most max_value_cardinality
/// distinct, the most frequent first) over the span and resource
/// attributes of the newest spans of the last attribute_window_secs (the
/// short window keeps ClickHouse from reading a day of attribute maps).
fn attributes_sql(tenant: &Tenant, config: &VocabularyConfig) -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT k AS key, count() AS spans, \
         if(uniq(v) <= ?, topK(?)(v), []) AS values \
         FROM (SELECT mapUpdate(ResourceAttributes, SpanAttributes) AS a FROM {TRACES} WHERE "
    ));
    sql.binds.push(config.max_value_cardinality.into());
    sql.binds.push(config.max_values_per_key.into());
    recent(&mut sql, tenant, "Timestamp", config.attribute_window_secs);
    sql.push_bind(
        " ORDER BY Timestamp DESC LIMIT ?)",
        config.attribute_sample_spans,
    );
    sql.push_bind(
        " ARRAY JOIN mapKeys(a) AS k, mapValues(a) AS v GROUP BY k ORDER BY spans DESC, key LIMIT ?",
        config.max_attribute_keys,
    );
    sql
}

/// The rows read, as a vocabulary: services the most used first,
/// values no longer than a name is.
fn vocabulary_of(
    operations: Vec<OperationRow>,
    log_services: Vec<NameRow>,
    metrics: Vec<NameRow>,
    attributes: Vec<AttributeRow>,
    config: &VocabularyConfig,
) -> Vocabulary {
    const LONGEST_VALUE: usize = 64;
    let mut vocabulary = Vocabulary::default();
    for OperationRow {
        service, operation, ..
    } in operations
    {
        if service.is_empty() {
            continue;
        }
        if !vocabulary.services.contains(&service) {
            vocabulary.services.push(service.clone());
        }
        if !operation.is_empty() {
            vocabulary
                .operations
                .entry(service)
                .or_default()
                .push(operation);
        }
    }
    for NameRow { name: service } in log_services {
        if !service.is_empty() && !vocabulary.services.contains(&service) {
            vocabulary.services.push(service);
        }
    }
    vocabulary.metrics = metrics.into_iter().map(|m| m.name).collect();
    for AttributeRow { key, values, .. } in attributes {
        // The service is a question's own part, not an attribute filter.
        if key == "service.name" {
            continue;
        }
        let values: Vec<String> = values
            .into_iter()
            .filter(|v| !v.is_empty() && v.len() <= LONGEST_VALUE)
            .take(config.max_values_per_key as usize)
            .collect();
        vocabulary.attributes.insert(key, values);
    }
    vocabulary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_is_the_tenants_and_bounded() {
        let tenant = Tenant::parse("acme").unwrap();
        let config = VocabularyConfig::default();
        for sql in [
            operations_sql(&tenant, &config),
            log_services_sql(&tenant, &config),
            metrics_sql(&tenant, &config),
            attributes_sql(&tenant, &config),
        ] {
            // Every branch of the metrics' union is the tenant's.
            assert_eq!(
                sql.text.matches("TenantId = ?").count(),
                sql.text.matches("FROM ").count() - usize::from(sql.text.contains("FROM (")),
                "{}",
                sql.text
            );
            assert!(sql.text.contains("LIMIT ?"), "{}", sql.text);
            assert_eq!(
                sql.text.matches('?').count(),
                sql.binds.len(),
                "{}",
                sql.text
            );
        }
    }

    #[test]
    fn rows_become_a_vocabulary_with_services_in_order_of_use() {
        let config = VocabularyConfig::default();
        let long = "x".repeat(65);
        let op = |service: &str, operation: &str, spans| OperationRow {
            service: service.into(),
            operation: operation.into(),
            spans,
        };
        let name = |name: &str| NameRow { name: name.into() };
        let v = vocabulary_of(
            vec![
                op("payment", "POST /pay", 9),
                op("cart", "GET /cart", 5),
                op("payment", "GET /status", 2),
                op("", "orphan", 1),
            ],
            vec![name("mailer"), name("cart")],
            vec![name("http.server.duration")],
            vec![
                AttributeRow {
                    key: "http.route".into(),
                    spans: 10,
                    values: vec!["/pay".into(), long, String::new()],
                },
                AttributeRow {
                    key: "user.id".into(),
                    spans: 8,
                    values: vec![],
                },
                AttributeRow {
                    key: "service.name".into(),
                    spans: 10,
                    values: vec!["payment".into()],
                },
            ],
            &config,
        );
        assert_eq!(v.services, ["payment", "cart", "mailer"]);
        assert_eq!(v.operations["payment"], ["POST /pay", "GET /status"]);
        assert_eq!(v.metrics, ["http.server.duration"]);
        assert_eq!(v.attributes["http.route"], ["/pay"]);
        assert!(v.attributes["user.id"].is_empty());
        assert!(!v.attributes.contains_key("service.name"));
    }
}
