//! Topic creation, for tools and tests that bring their own broker (streetwatch
//! itself never creates topics in production: an operator does, with their settings).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

use crate::{KafkaConnection, RouterError};

/// Creates `topics` with `partitions` each (replication 1). An existing topic is fine.
pub async fn create_topics(
    conn: &KafkaConnection,
    topics: &[&str],
    partitions: i32,
    timeout: Duration,
) -> Result<(), RouterError> {
    create(conn, topics, partitions, &[], timeout).await
}

/// Creates a compacted topic (the camera assignment topic: the latest record per key
/// is kept for ever).
pub async fn create_compacted_topic(
    conn: &KafkaConnection,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<(), RouterError> {
    create(conn, &[topic], partitions, &[("cleanup.policy", "compact")], timeout).await
}

async fn create(
    conn: &KafkaConnection,
    topics: &[&str],
    partitions: i32,
    config: &[(&str, &str)],
    timeout: Duration,
) -> Result<(), RouterError> {
    let admin: AdminClient<DefaultClientContext> =
        conn.client_config().create().map_err(|source| RouterError::Kafka { what: "admin client".into(), source })?;
    let new: Vec<NewTopic> = topics
        .iter()
        .map(|t| config.iter().fold(NewTopic::new(t, partitions, TopicReplication::Fixed(1)), |n, (k, v)| n.set(k, v)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout));
    let results = admin
        .create_topics(&new, &options)
        .await
        .map_err(|source| RouterError::Kafka { what: "cannot create topics".into(), source })?;
    for r in results {
        match r {
            Ok(_) => {}
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(RouterError::TopicCreate { topic, source: code }),
        }
    }
    Ok(())
}
