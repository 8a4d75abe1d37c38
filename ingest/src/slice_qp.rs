//! The quantiser an H.264 encoder chose for each picture, read from the slice header.
//!
//! The change gate (`change_gate.rs`) needs how much *content* a coded frame carries,
//! not how many bytes: a camera in constant-bitrate mode spends the same bytes on a
//! still, noisy night scene (at a fine quantiser) as on a busy street (at a coarse
//! one). Bytes × quantiser step is the usual estimate of that content (the rate model
//! R ≈ X / Q that encoders' rate control is built on), and the quantiser is in every
//! slice header: `SliceQPY = 26 + pic_init_qp_minus26 + slice_qp_delta` (H.264 7.4.3).
//! Reaching `slice_qp_delta` means walking the header, which depends on the SPS and
//! PPS; those are kept per id as the stream sends them. Anything not understood
//! (FMO slice groups, a slice before its parameter sets, a truncated unit) gives
//! None, and the gate falls back to bytes alone.

use crate::nal::nal_units;
use crate::rbsp::{rbsp_prefix, BitReader};

/// What slice headers need from a sequence parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sps {
    chroma_array_type: u32,
    separate_colour_plane: bool,
    log2_max_frame_num: u32,
    poc_type: u32,
    log2_max_poc_lsb: u32,
    delta_pic_order_always_zero: bool,
    frame_mbs_only: bool,
}

/// What slice headers need from a picture parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pps {
    sps_id: u32,
    entropy_coding_mode: bool,
    bottom_field_pic_order_present: bool,
    num_ref_idx_l0_default: u32,
    num_ref_idx_l1_default: u32,
    weighted_pred: bool,
    weighted_bipred_idc: u32,
    pic_init_qp: i32,
    redundant_pic_cnt_present: bool,
}

/// Parameter sets seen so far in one stream, by id.
#[derive(Debug, Default)]
pub struct H264Syntax {
    sps: Vec<Option<Sps>>,
    pps: Vec<Option<Pps>>,
}

/// Slice headers are short; this much RBSP holds any header without a long
/// prediction-weight table (which then reads as "unknown", not as a wrong value).
const HEADER_BYTES: usize = 256;

impl H264Syntax {
    /// Reads an access unit: remembers its parameter sets and returns the quantiser
    /// of its first slice (pictures are coded at one QP, give or take adaptive
    /// quantisation, which the slice header does not show).
    pub fn access_unit_qp(&mut self, access_unit: &[u8]) -> Option<i32> {
        let mut qp = None;
        for nal in nal_units(access_unit) {
            let Some(&header) = nal.first() else { continue };
            match header & 0x1f {
                7 => {
                    if let Some((id, sps)) = parse_sps(&rbsp_prefix(&nal[1..], 1024)) {
                        store(&mut self.sps, id, sps, 32);
                    }
                }
                8 => {
                    if let Some((id, pps)) = parse_pps(&rbsp_prefix(&nal[1..], 1024)) {
                        store(&mut self.pps, id, pps, 256);
                    }
                }
                1 | 5 if qp.is_none() => {
                    qp = self.slice_qp(header, &rbsp_prefix(&nal[1..], HEADER_BYTES));
                }
                _ => {}
            }
        }
        qp
    }

    fn slice_qp(&self, nal_header: u8, rbsp: &[u8]) -> Option<i32> {
        let idr = header_type(nal_header) == 5;
        let nal_ref_idc = (nal_header >> 5) & 3;
        let mut r = BitReader::new(rbsp);
        let _first_mb = r.read_ue()?;
        let slice_type = r.read_ue()? % 5; // 0 P, 1 B, 2 I, 3 SP, 4 SI
        let pps = (*self.pps.get(r.read_ue()? as usize)?)?;
        let sps = (*self.sps.get(pps.sps_id as usize)?)?;
        if sps.separate_colour_plane {
            r.read_bits(2)?;
        }
        r.read_bits(sps.log2_max_frame_num)?;
        let mut field_pic = false;
        if !sps.frame_mbs_only {
            field_pic = r.read_flag()?;
            if field_pic {
                r.read_bit()?;
            }
        }
        if idr {
            r.read_ue()?;
        }
        if sps.poc_type == 0 {
            r.read_bits(sps.log2_max_poc_lsb)?;
            if pps.bottom_field_pic_order_present && !field_pic {
                r.read_se()?;
            }
        }
        if sps.poc_type == 1 && !sps.delta_pic_order_always_zero {
            r.read_se()?;
            if pps.bottom_field_pic_order_present && !field_pic {
                r.read_se()?;
            }
        }
        if pps.redundant_pic_cnt_present {
            r.read_ue()?;
        }
        let (p, b) = (matches!(slice_type, 0 | 3), slice_type == 1);
        if b {
            r.read_bit()?; // direct_spatial_mv_pred_flag
        }
        let (mut l0, mut l1) = (pps.num_ref_idx_l0_default, pps.num_ref_idx_l1_default);
        if (p || b) && r.read_flag()? {
            l0 = r.read_ue()? + 1;
            if b {
                l1 = r.read_ue()? + 1;
            }
        }
        if !matches!(slice_type, 2 | 4) {
            skip_ref_pic_list_modification(&mut r)?;
            if b {
                skip_ref_pic_list_modification(&mut r)?;
            }
        }
        if (pps.weighted_pred && p) || (pps.weighted_bipred_idc == 1 && b) {
            r.read_ue()?; // luma_log2_weight_denom
            if sps.chroma_array_type != 0 {
                r.read_ue()?;
            }
            skip_weights(&mut r, l0, sps.chroma_array_type)?;
            if b {
                skip_weights(&mut r, l1, sps.chroma_array_type)?;
            }
        }
        if nal_ref_idc != 0 {
            if idr {
                r.read_bits(2)?;
            } else if r.read_flag()? {
                loop {
                    let op = r.read_ue()?;
                    match op {
                        0 => break,
                        1 | 2 | 4 | 6 => {
                            r.read_ue()?;
                        }
                        3 => {
                            r.read_ue()?;
                            r.read_ue()?;
                        }
                        5 => {}
                        _ => return None,
                    }
                }
            }
        }
        if pps.entropy_coding_mode && !matches!(slice_type, 2 | 4) {
            r.read_ue()?; // cabac_init_idc
        }
        let qp = pps.pic_init_qp.checked_add(r.read_se()?)?;
        (-12..=51).contains(&qp).then_some(qp)
    }
}

fn header_type(h: u8) -> u8 {
    h & 0x1f
}

fn store<T>(table: &mut Vec<Option<T>>, id: u32, value: T, max: usize) {
    let id = id as usize;
    if id >= max {
        return;
    }
    if table.len() <= id {
        table.resize_with(id + 1, || None);
    }
    table[id] = Some(value);
}

fn skip_ref_pic_list_modification(r: &mut BitReader<'_>) -> Option<()> {
    if r.read_flag()? {
        for _ in 0..64 {
            match r.read_ue()? {
                3 => return Some(()),
                0..=2 => {
                    r.read_ue()?;
                }
                _ => return None,
            }
        }
        return None;
    }
    Some(())
}

fn skip_weights(r: &mut BitReader<'_>, refs: u32, chroma_array_type: u32) -> Option<()> {
    for _ in 0..refs.min(32) {
        if r.read_flag()? {
            r.read_se()?;
            r.read_se()?;
        }
        if chroma_array_type != 0 && r.read_flag()? {
            for _ in 0..4 {
                r.read_se()?;
            }
        }
    }
    Some(())
}

fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            next = (last + r.read_se()? + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

fn parse_sps(rbsp: &[u8]) -> Option<(u32, Sps)> {
    let mut r = BitReader::new(rbsp);
    let profile = r.read_bits(8)?;
    r.read_bits(16)?; // constraint flags, level
    let id = r.read_ue()?;
    let (mut chroma_format_idc, mut separate_colour_plane) = (1, false);
    if matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format_idc = r.read_ue()?;
        if chroma_format_idc == 3 {
            separate_colour_plane = r.read_flag()?;
        }
        r.read_ue()?; // bit depths
        r.read_ue()?;
        r.read_bit()?;
        if r.read_flag()? {
            for i in 0..if chroma_format_idc == 3 { 12 } else { 8 } {
                if r.read_flag()? {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    let log2_max_frame_num = r.read_ue()?.checked_add(4).filter(|&v| v <= 16)?;
    let poc_type = r.read_ue()?;
    let (mut log2_max_poc_lsb, mut delta_pic_order_always_zero) = (0, false);
    match poc_type {
        0 => log2_max_poc_lsb = r.read_ue()?.checked_add(4).filter(|&v| v <= 16)?,
        1 => {
            delta_pic_order_always_zero = r.read_flag()?;
            r.read_se()?;
            r.read_se()?;
            for _ in 0..r.read_ue()?.min(255) {
                r.read_se()?;
            }
        }
        2 => {}
        _ => return None,
    }
    r.read_ue()?; // max_num_ref_frames
    r.read_bit()?;
    r.read_ue()?; // width, height in macroblocks
    r.read_ue()?;
    let frame_mbs_only = r.read_flag()?;
    let chroma_array_type = if separate_colour_plane { 0 } else { chroma_format_idc };
    Some((
        id,
        Sps {
            chroma_array_type,
            separate_colour_plane,
            log2_max_frame_num,
            poc_type,
            log2_max_poc_lsb,
            delta_pic_order_always_zero,
            frame_mbs_only,
        },
    ))
}

fn parse_pps(rbsp: &[u8]) -> Option<(u32, Pps)> {
    let mut r = BitReader::new(rbsp);
    let id = r.read_ue()?;
    let sps_id = r.read_ue()?;
    let entropy_coding_mode = r.read_flag()?;
    let bottom_field_pic_order_present = r.read_flag()?;
    if r.read_ue()? != 0 {
        return None; // slice groups (FMO, Baseline profile only): not followed
    }
    let num_ref_idx_l0_default = r.read_ue()? + 1;
    let num_ref_idx_l1_default = r.read_ue()? + 1;
    let weighted_pred = r.read_flag()?;
    let weighted_bipred_idc = r.read_bits(2)?;
    let pic_init_qp = 26 + r.read_se()?;
    r.read_se()?; // pic_init_qs
    r.read_se()?; // chroma_qp_index_offset
    r.read_bit()?; // deblocking_filter_control_present
    r.read_bit()?; // constrained_intra_pred
    let redundant_pic_cnt_present = r.read_flag()?;
    Some((
        id,
        Pps {
            sps_id,
            entropy_coding_mode,
            bottom_field_pic_order_present,
            num_ref_idx_l0_default,
            num_ref_idx_l1_default,
            weighted_pred,
            weighted_bipred_idc,
            pic_init_qp,
            redundant_pic_cnt_present,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_before_its_parameter_sets_is_unknown() {
        let mut s = H264Syntax::default();
        assert_eq!(s.access_unit_qp(&[0, 0, 1, 0x41, 0x9a, 0x20]), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_garbage(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut s = H264Syntax::default();
            let _ = s.access_unit_qp(&data);
        }
    }
}
