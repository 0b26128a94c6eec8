//! Inserts that ClickHouse deduplicates: every table's insert of one batch
//! carries a token, and a retried batch (same rows, same order, same token)
//! is dropped by the table's deduplication window ([`crate::schema`]).

/// The setting that makes ClickHouse drop a block it has already inserted.
pub const DEDUPLICATION_TOKEN_SETTING: &str = "insert_deduplication_token";

/// The deduplication token of one table's insert within a batch.
pub fn table_token(token: &str, table: &str) -> String {
    format!("{token}:{table}")
}

/// Starts the insert of one table of the batch `token`.
///
/// Besides the deduplication token, `distributed_foreground_insert = 1` makes
/// an insert into a `Distributed` table (cluster mode) return only once every
/// shard has written its part, so a successful insert is durable and a
/// failed one is reported (and retried, and deduplicated on the shards).
pub async fn begin<T: clickhouse::Row>(
    client: &clickhouse::Client,
    table: &str,
    token: &str,
) -> Result<clickhouse::insert::Insert<T>, clickhouse::error::Error> {
    Ok(client
        .insert::<T>(table)
        .await?
        .with_setting(DEDUPLICATION_TOKEN_SETTING, table_token(token, table))
        .with_setting("insert_deduplicate", "1")
        .with_setting("distributed_foreground_insert", "1"))
}

/// Inserts `rows` into `table` as one insert of the batch `token`.
pub async fn write_all<'r, T, I>(
    client: &clickhouse::Client,
    table: &str,
    token: &str,
    rows: I,
) -> Result<(), clickhouse::error::Error>
where
    T: clickhouse::RowWrite,
    I: Iterator<Item = T::Value<'r>>,
{
    let mut insert = begin::<T>(client, table, token).await?;
    for row in rows {
        insert.write(&row).await?;
    }
    insert.end().await
}
