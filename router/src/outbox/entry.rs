//! One outbox entry: an event encoded for one destination, exactly the bytes that
//! will be sent, so a restart sends again what would have been sent.

use std::sync::Arc;

/// Whether the outbox may shed an entry when it is full: UPDATED events go first
/// (a later revision carries their state anyway); STARTED and ENDED never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    Sheddable,
    Keep,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub destination: Arc<str>,
    /// Kafka message key (the camera id: one camera's events stay in order).
    pub key: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    pub retention: Retention,
    /// Unix milliseconds when the event was written.
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub new: NewEntry,
}

impl Entry {
    /// Bytes it takes in the outbox bound.
    pub fn weight(&self) -> u64 {
        let h: usize = self.new.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        (self.new.body.len() + self.new.key.len() + h + self.new.destination.len() + 32) as u64
    }
}

const VERSION: u8 = 1;

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

pub fn encode(e: &Entry) -> Vec<u8> {
    let n = &e.new;
    let mut out = Vec::with_capacity(64 + n.body.len());
    out.push(VERSION);
    out.extend_from_slice(&e.seq.to_le_bytes());
    out.extend_from_slice(&n.created_ms.to_le_bytes());
    out.push(matches!(n.retention, Retention::Keep) as u8);
    put_bytes(&mut out, n.destination.as_bytes());
    put_bytes(&mut out, n.key.as_bytes());
    out.extend_from_slice(&(n.headers.len() as u32).to_le_bytes());
    for (k, v) in &n.headers {
        put_bytes(&mut out, k.as_bytes());
        put_bytes(&mut out, v);
    }
    put_bytes(&mut out, &n.body);
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

/// None for a payload that is not an entry of a version this build reads.
pub fn decode(payload: &[u8]) -> Option<Entry> {
    let mut r = Reader(payload);
    if r.u8()? != VERSION {
        return None;
    }
    let seq = r.u64()?;
    let created_ms = r.u64()? as i64;
    let retention = if r.u8()? == 1 { Retention::Keep } else { Retention::Sheddable };
    let destination: Arc<str> = Arc::from(r.string()?);
    let key = r.string()?;
    let count = r.u32()? as usize;
    let mut headers = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        headers.push((r.string()?, r.bytes()?.to_vec()));
    }
    let body = r.bytes()?.to_vec();
    r.0.is_empty().then_some(Entry { seq, new: NewEntry { destination, key, headers, body, retention, created_ms } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_truncation_is_refused() {
        let e = Entry {
            seq: 42,
            new: NewEntry {
                destination: Arc::from("security"),
                key: "cam-7".into(),
                headers: vec![("content-type".into(), b"application/x-protobuf".to_vec())],
                body: vec![1, 2, 3, 0, 255],
                retention: Retention::Keep,
                created_ms: 1_795_564_800_123,
            },
        };
        let bytes = encode(&e);
        assert_eq!(decode(&bytes), Some(e));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
    }
}
