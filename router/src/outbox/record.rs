//! Framing of the outbox files: each record is
//! `MAGIC (4) | length (u32 LE) | crc32 of the payload (u32 LE) | payload`.
//! The magic lets a reader find the next record after damage (a torn write at the
//! tail after a crash, a flipped byte in the middle), so one bad record never costs
//! the good ones after it. A record is never empty (events and acknowledgements
//! always have bytes), so an empty one is damage: zeros where a header's length and
//! checksum were (a crash can leave zero-filled blocks) read as a valid empty
//! record, since the crc32 of nothing is 0.

pub const MAGIC: [u8; 4] = *b"SWOB";
const HEADER: usize = 12;
/// Larger "records" are damage, not data (an event is kilobytes).
pub const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    debug_assert!(!payload.is_empty(), "an empty record would read back as damage");
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// What reading a file found: the good payloads, and the damaged byte ranges.
#[derive(Debug, Default)]
pub struct Scan<'a> {
    pub payloads: Vec<&'a [u8]>,
    /// `(offset, length)` of every stretch that was not a good record.
    pub damaged: Vec<(usize, usize)>,
    /// Where the last good record ends (a file can be truncated here safely).
    pub good_end: usize,
}

fn record_at(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let header = bytes.get(at..at + HEADER)?;
    if header[..4] != MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(header[4..8].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[8..12].try_into().ok()?);
    if len == 0 || len > MAX_PAYLOAD {
        return None;
    }
    let payload = bytes.get(at + HEADER..at + HEADER + len)?;
    (crc32fast::hash(payload) == crc).then_some((payload, at + HEADER + len))
}

/// Reads every good record; skips damage by searching for the next magic.
pub fn scan(bytes: &[u8]) -> Scan<'_> {
    let mut s = Scan::default();
    let mut at = 0;
    let mut damage_from: Option<usize> = None;
    while at < bytes.len() {
        match record_at(bytes, at) {
            Some((payload, next)) => {
                if let Some(from) = damage_from.take() {
                    s.damaged.push((from, at - from));
                }
                s.payloads.push(payload);
                at = next;
                s.good_end = next;
            }
            None => {
                damage_from.get_or_insert(at);
                // The next candidate: the next occurrence of the magic after `at`.
                at = bytes[at + 1..].windows(MAGIC.len()).position(|w| w == MAGIC).map_or(bytes.len(), |p| at + 1 + p);
            }
        }
    }
    if let Some(from) = damage_from {
        s.damaged.push((from, bytes.len() - from));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            frame(p, &mut out);
        }
        out
    }

    #[test]
    fn a_torn_tail_and_a_flipped_byte_cost_only_their_own_records() {
        let bytes = file(&[b"one", b"two", b"three", b"four"]);
        let torn = &bytes[..bytes.len() - 2];
        let s = scan(torn);
        assert_eq!(s.payloads, [&b"one"[..], b"two", b"three"]);
        assert_eq!(s.damaged.len(), 1);
        assert_eq!(s.good_end, torn.len() - (HEADER + 4 - 2));

        let mut flipped = bytes.clone();
        flipped[HEADER + 3 + HEADER + 1] ^= 0xff; // inside "two"
        let s = scan(&flipped);
        assert_eq!(s.payloads, [&b"one"[..], b"three", b"four"]);
        assert_eq!(s.damaged, [(HEADER + 3, HEADER + 3)]);
        assert_eq!(scan(b"garbage without any record").payloads.len(), 0);
    }

    proptest! {
        // Whatever bytes are overwritten, every record untouched by the damage is read
        // back, and nothing that was not written is ever returned.
        #[test]
        fn untouched_records_survive_any_damage(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..40), 1..12),
            at in any::<prop::sample::Index>(), len in 1usize..30, byte in any::<u8>())
        {
            let refs: Vec<&[u8]> = payloads.iter().map(|p| p.as_slice()).collect();
            let mut bytes = file(&refs);
            let start = at.index(bytes.len());
            let end = (start + len).min(bytes.len());
            for b in &mut bytes[start..end] { *b = byte; }
            let s = scan(&bytes);
            let mut offset = 0;
            let mut expected_untouched = Vec::new();
            for p in &payloads {
                let rec_end = offset + HEADER + p.len();
                if rec_end <= start || offset >= end {
                    expected_untouched.push(p.as_slice());
                }
                offset = rec_end;
            }
            for p in &expected_untouched {
                prop_assert!(s.payloads.contains(p), "lost an untouched record");
            }
            for p in &s.payloads {
                prop_assert!(payloads.iter().any(|q| q.as_slice() == *p), "invented a record");
            }
        }
    }
}
