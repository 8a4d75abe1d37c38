//! Is this access unit a keyframe? Decided from the bitstream itself.
//!
//! Buffer flags are not enough: `rtph264depay` marks any access unit that carries
//! SPS/PPS as a keyframe, and many cameras repeat SPS/PPS every second, so a
//! delta frame would reach the decoder without its references. We look at the first
//! slice of the access unit instead: H.264 IDR or an I/SI slice; H.265 an IRAP picture.

use crate::rbsp::{rbsp_prefix, BitReader};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    H264,
    H265,
}

/// NAL units of an Annex-B byte stream: the bytes after each start code.
pub(crate) fn nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts.iter().skip(1).map(|&s| s - 3).chain(std::iter::once(data.len())).collect();
    starts.into_iter().zip(ends).map(move |(s, e)| &data[s..e.max(s)])
}

fn is_parameter_set(codec: Codec, header: u8) -> bool {
    match codec {
        Codec::H264 => matches!(header & 0x1f, 7 | 8),
        Codec::H265 => matches!((header >> 1) & 0x3f, 32..=34),
    }
}

/// The parameter sets in an access unit, each with a start code, ready to be put in
/// front of a keyframe that lacks them; None when it carries none.
pub fn parameter_sets(codec: Codec, access_unit: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for nal in nal_units(access_unit) {
        if nal.first().is_some_and(|&h| is_parameter_set(codec, h)) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(trim_trailing_zeros(nal));
        }
    }
    (!out.is_empty()).then_some(out)
}

fn trim_trailing_zeros(nal: &[u8]) -> &[u8] {
    // Trailing zero bytes belong to the next start code, not the NAL.
    let mut end = nal.len();
    while end > 1 && nal[end - 1] == 0 {
        end -= 1;
    }
    &nal[..end]
}

/// A fingerprint of the stream format: a hash of the parameter sets (H.264 SPS/PPS,
/// H.265 VPS/SPS/PPS) in an access unit; None when it carries none. Keyframes with the
/// same fingerprint can share a decoder without it renegotiating.
pub fn parameter_set_fingerprint(codec: Codec, access_unit: &[u8]) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    // Distinct sets, in a fixed order: a stream's first keyframe often repeats them.
    let sets: std::collections::BTreeSet<&[u8]> = nal_units(access_unit)
        .filter(|nal| nal.first().is_some_and(|&h| is_parameter_set(codec, h)))
        .map(trim_trailing_zeros)
        .collect();
    if sets.is_empty() {
        return None;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    sets.hash(&mut hasher);
    Some(hasher.finish())
}

/// Some(true) for a keyframe, Some(false) for a delta frame, None when the access
/// unit holds no slice (the caller then trusts the buffer flags).
pub fn is_keyframe(codec: Codec, access_unit: &[u8]) -> Option<bool> {
    for nal in nal_units(access_unit) {
        let Some(&header) = nal.first() else { continue };
        match codec {
            Codec::H264 => match header & 0x1f {
                5 => return Some(true),
                1 => {
                    // first_mb_in_slice, then slice_type: 2/7 = I, 4/9 = SI.
                    let rbsp = rbsp_prefix(&nal[1..], 8);
                    let mut r = BitReader::new(&rbsp);
                    let _first_mb = r.read_ue()?;
                    let slice_type = r.read_ue()?;
                    return Some(matches!(slice_type % 5, 2 | 4));
                }
                _ => continue,
            },
            Codec::H265 => {
                let nal_type = (header >> 1) & 0x3f;
                match nal_type {
                    // BLA, IDR, CRA and reserved IRAP types.
                    16..=23 => return Some(true),
                    0..=15 => return Some(false),
                    _ => continue,
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // 0x67 SPS, 0x68 PPS, 0x65 IDR slice, 0x41 non-IDR slice.
    const SPS_PPS: [u8; 12] = [0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce, 0x38];

    fn au(slice: &[u8]) -> Vec<u8> {
        let mut v = SPS_PPS.to_vec();
        v.extend_from_slice(&[0, 0, 1]);
        v.extend_from_slice(slice);
        v
    }

    #[test]
    fn idr_is_a_keyframe_even_among_parameter_sets() {
        assert_eq!(is_keyframe(Codec::H264, &au(&[0x65, 0x88, 0x84])), Some(true));
    }

    #[test]
    fn p_slice_with_repeated_sps_pps_is_not_a_keyframe() {
        // first_mb = 0 ("1"), slice_type = 5 (P, "00110"): bits 1 00110 → 0b1001_1000
        assert_eq!(is_keyframe(Codec::H264, &au(&[0x41, 0b1001_1000])), Some(false));
    }

    #[test]
    fn non_idr_i_slice_is_a_keyframe() {
        // first_mb = 0 ("1"), slice_type = 7 (I, "0001000"): 1 0001000 → 0b1000_1000
        assert_eq!(is_keyframe(Codec::H264, &au(&[0x41, 0b1000_1000])), Some(true));
    }

    #[test]
    fn fingerprint_follows_the_parameter_sets() {
        let a = au(&[0x65, 0x88, 0x84]);
        let b = au(&[0x65, 0x11, 0x22]); // other slice data, same SPS/PPS
        let fa = parameter_set_fingerprint(Codec::H264, &a);
        assert!(fa.is_some());
        assert_eq!(fa, parameter_set_fingerprint(Codec::H264, &b));
        let mut other = a.clone();
        other[5] = 0x4d; // another profile in the SPS
        assert_ne!(fa, parameter_set_fingerprint(Codec::H264, &other));
        assert_eq!(parameter_set_fingerprint(Codec::H264, &[0, 0, 1, 0x41, 0x9a]), None);
        // Repeated parameter sets (a stream's first keyframe) give the same fingerprint.
        let mut twice = SPS_PPS.to_vec();
        twice.extend_from_slice(&a);
        assert_eq!(parameter_set_fingerprint(Codec::H264, &twice), fa);
    }

    #[test]
    fn parameter_sets_are_extracted_with_start_codes() {
        let ps = parameter_sets(Codec::H264, &au(&[0x65, 0x88])).unwrap();
        assert_eq!(ps, vec![0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0x38]);
        assert_eq!(parameter_set_fingerprint(Codec::H264, &ps), parameter_set_fingerprint(Codec::H264, &au(&[0x65])));
        assert_eq!(parameter_sets(Codec::H264, &[0, 0, 1, 0x65, 1]), None);
    }

    #[test]
    fn no_slice_means_unknown() {
        assert_eq!(is_keyframe(Codec::H264, &SPS_PPS), None);
        assert_eq!(is_keyframe(Codec::H264, &[]), None);
    }

    #[test]
    fn h265_irap_and_trailing_pictures() {
        // NAL header: type in bits 1..6 of the first byte. IDR_W_RADL = 19, TRAIL_R = 1, VPS = 32.
        assert_eq!(is_keyframe(Codec::H265, &[0, 0, 1, 32 << 1, 1, 0, 0, 1, 19 << 1, 1]), Some(true));
        assert_eq!(is_keyframe(Codec::H265, &[0, 0, 1, 1 << 1, 1]), Some(false));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_garbage(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = is_keyframe(Codec::H264, &data);
            let _ = is_keyframe(Codec::H265, &data);
        }
    }
}
