//! What goes on the wire for each destination: headers and body.
//!
//! - `protobuf`: the body is `streetwatch.v1.Incident`; headers name the content type
//!   and the schema, so a consumer can check before decoding.
//! - CloudEvents 1.0 (Kafka protocol binding), `structured`: the whole event is one
//!   JSON document (`application/cloudevents+json`) with the incident as `data`;
//!   `binary`: the attributes travel as `ce_*` headers and the body is the incident
//!   JSON alone.
//!
//! The message key is the camera id (set by the caller), so each camera's events stay
//! in order within a partition.

pub mod json;

use proto::v1::Incident;
use proto::Message;
use serde_json::json;

pub use json::incident_json;

/// The config names these `protobuf`, `cloudevents_structured`, `cloudevents_binary`
/// and `json_line` (a destination's `encoding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    #[default]
    Protobuf,
    #[serde(rename = "cloudevents_structured")]
    CloudEventsStructured,
    #[serde(rename = "cloudevents_binary")]
    CloudEventsBinary,
    /// One JSON object per line (the embedded local event log).
    JsonLine,
}

pub const PROTOBUF_CONTENT_TYPE: &str = "application/x-protobuf";
pub const SCHEMA_HEADER: &str = "streetwatch-schema";

/// The event as it is about to be sent.
pub struct Outgoing<'a> {
    pub incident: &'a Incident,
    /// The event's time, RFC 3339.
    pub time: &'a str,
    /// CloudEvents `source`: which producer (`/streetwatch/<instance>`).
    pub source: &'a str,
}

/// CloudEvents `type`: `org.streetwatch.incident.started` and so on.
pub fn cloudevents_type(i: &Incident) -> String {
    format!("org.streetwatch.incident.{}", json::phase_name(i.phase).to_ascii_lowercase())
}

/// CloudEvents `id`: unique per event (an incident has one event per revision), so
/// a consumer's dedup by `(source, id)` is dedup by `(incident id, revision)`.
pub fn cloudevents_id(i: &Incident) -> String {
    format!("{}/{}", i.id, i.revision)
}

pub fn encode(out: &Outgoing<'_>, encoding: Encoding) -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    let i = out.incident;
    let h = |k: &str, v: &str| (k.to_string(), v.as_bytes().to_vec());
    match encoding {
        Encoding::Protobuf => (
            vec![h("content-type", PROTOBUF_CONTENT_TYPE), h(SCHEMA_HEADER, proto::v1::INCIDENT_MESSAGE_NAME)],
            i.encode_to_vec(),
        ),
        Encoding::CloudEventsStructured => {
            let event = json!({
                "specversion": "1.0",
                "id": cloudevents_id(i),
                "source": out.source,
                "type": cloudevents_type(i),
                "subject": i.id,
                "time": out.time,
                "datacontenttype": "application/json",
                "data": incident_json(i, out.time),
            });
            (vec![h("content-type", "application/cloudevents+json; charset=utf-8")], event.to_string().into_bytes())
        }
        Encoding::CloudEventsBinary => (
            vec![
                h("ce_specversion", "1.0"),
                h("ce_id", &cloudevents_id(i)),
                h("ce_source", out.source),
                h("ce_type", &cloudevents_type(i)),
                h("ce_subject", &i.id),
                h("ce_time", out.time),
                h("content-type", "application/json"),
            ],
            incident_json(i, out.time).to_string().into_bytes(),
        ),
        Encoding::JsonLine => {
            let mut line = incident_json(i, out.time).to_string().into_bytes();
            line.push(b'\n');
            (Vec::new(), line)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::v1::{CameraRef, Phase};

    fn incident() -> Incident {
        Incident {
            id: "0193-x".into(),
            phase: Phase::Started as i32,
            revision: 1,
            camera: Some(CameraRef { camera_id: "cam-1".into(), ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn each_encoding_carries_what_its_consumers_need() {
        let i = incident();
        let out = Outgoing { incident: &i, time: "2026-11-25T08:00:00.000+08:00", source: "/streetwatch/demo" };
        let (headers, body) = encode(&out, Encoding::Protobuf);
        assert_eq!(Incident::decode(body.as_slice()).unwrap(), i);
        assert!(headers.contains(&(SCHEMA_HEADER.to_string(), b"streetwatch.v1.Incident".to_vec())));

        let (headers, body) = encode(&out, Encoding::CloudEventsStructured);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["specversion"], "1.0");
        assert_eq!(v["type"], "org.streetwatch.incident.started");
        assert_eq!(v["id"], "0193-x/1");
        assert_eq!(v["data"]["camera_id"], "cam-1");
        assert!(headers[0].1.starts_with(b"application/cloudevents+json"));

        let (headers, body) = encode(&out, Encoding::CloudEventsBinary);
        let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| String::from_utf8(v.clone()).unwrap());
        assert_eq!(get("ce_specversion").as_deref(), Some("1.0"));
        assert_eq!(get("ce_source").as_deref(), Some("/streetwatch/demo"));
        let data: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(data["phase"], "STARTED");

        let (_, line) = encode(&out, Encoding::JsonLine);
        assert_eq!(line.last(), Some(&b'\n'));
    }
}
