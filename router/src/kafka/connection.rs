//! How to reach a Kafka cluster. Secrets are held apart so they are never formatted.

use std::fmt;

use rdkafka::ClientConfig;

#[derive(Clone, Default)]
pub struct KafkaConnection {
    /// `host:port[,host:port...]`
    pub bootstrap_servers: String,
    /// Plain librdkafka properties (`security.protocol`, `sasl.mechanism`, ...).
    pub properties: Vec<(String, String)>,
    /// Properties whose values are secrets (`sasl.password`); never logged.
    pub secret_properties: Vec<(String, String)>,
}

impl KafkaConnection {
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self { bootstrap_servers: bootstrap_servers.into(), ..Self::default() }
    }

    /// An rdkafka client configuration with every property applied.
    pub fn client_config(&self) -> ClientConfig {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", &self.bootstrap_servers);
        for (k, v) in self.properties.iter().chain(&self.secret_properties) {
            cfg.set(k, v);
        }
        cfg
    }
}

impl fmt::Debug for KafkaConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret_keys: Vec<&str> = self.secret_properties.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("KafkaConnection")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("properties", &self.properties)
            .field("secret_properties", &secret_keys)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secret_values() {
        let mut c = KafkaConnection::new("b:9092");
        c.secret_properties.push(("sasl.password".into(), "pa55word".into()));
        let shown = format!("{c:?}");
        assert!(shown.contains("sasl.password"));
        assert!(!shown.contains("pa55word"));
    }
}
