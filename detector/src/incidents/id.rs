//! Incident ids: UUIDv7-shaped, so they sort by start time as the schema promises,
//! but derived, not random: the 74 "random" bits are a hash of the camera, the start
//! time and the incident's number on that camera. The same footage and config give
//! the same ids (replay is deterministic); distinct cameras never collide in practice.

use sha2::{Digest, Sha256};

use crate::timestamp::Timestamp;

/// The id of the `n`-th incident raised on `camera_id`, raised at `started_at`.
pub fn incident_id(camera_id: &str, started_at: Timestamp, n: u64) -> String {
    let mut h = Sha256::new();
    h.update(camera_id.as_bytes());
    h.update([0]);
    h.update(started_at.0.to_be_bytes());
    h.update(n.to_be_bytes());
    let digest = h.finalize();
    let mut b = [0u8; 16];
    // 48 bits of Unix milliseconds, big-endian (clamped: ids before 1970 make no sense).
    let ms = started_at.0.clamp(0, (1 << 48) - 1) as u64;
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&digest[..10]);
    b[6] = 0x70 | (b[6] & 0x0f); // version 7
    b[8] = 0x80 | (b[8] & 0x3f); // RFC 4122 variant
    let hex = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_v7_shaped_deterministic_and_sort_by_time() {
        let a = incident_id("cam-1", Timestamp(1_764_000_000_000), 1);
        assert_eq!(a, incident_id("cam-1", Timestamp(1_764_000_000_000), 1));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "7", "version nibble: {a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "variant: {a}");
        assert_ne!(a, incident_id("cam-2", Timestamp(1_764_000_000_000), 1));
        assert_ne!(a, incident_id("cam-1", Timestamp(1_764_000_000_000), 2));
        let later = incident_id("cam-1", Timestamp(1_764_000_000_001), 9);
        assert!(later > a);
    }
}
