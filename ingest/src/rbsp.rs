//! Reading H.264/H.265 syntax: emulation-prevention bytes removed (RBSP), then
//! fixed-width and Exp-Golomb fields read bit by bit. Every read is checked: a
//! truncated or corrupt unit gives None, never a panic.

/// Reads RBSP bytes (emulation prevention already removed), most significant bit first.
pub struct BitReader<'a> {
    data: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, bit: 0 }
    }

    pub fn read_bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.bit / 8)?;
        let v = (byte >> (7 - self.bit % 8)) & 1;
        self.bit += 1;
        Some(u32::from(v))
    }

    pub fn read_flag(&mut self) -> Option<bool> {
        self.read_bit().map(|b| b == 1)
    }

    /// `u(n)`, n ≤ 32.
    pub fn read_bits(&mut self, n: u32) -> Option<u32> {
        if n > 32 {
            return None;
        }
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.read_bit()?);
        }
        u32::try_from(v).ok()
    }

    /// `ue(v)`.
    pub fn read_ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.read_bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let mut v = 0u64;
        for _ in 0..zeros {
            v = (v << 1) | u64::from(self.read_bit()?);
        }
        u32::try_from((1u64 << zeros) - 1 + v).ok()
    }

    /// `se(v)`.
    pub fn read_se(&mut self) -> Option<i32> {
        let k = i64::from(self.read_ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        i32::try_from(v).ok()
    }
}

/// The first `max` bytes of a NAL payload with emulation-prevention bytes removed.
pub fn rbsp_prefix(payload: &[u8], max: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(max.min(payload.len()));
    let mut zeros = 0;
    for &b in payload {
        if out.len() >= max {
            break;
        }
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_codes_read_back() {
        // ue: 1 → 0, 010 → 1, 011 → 2, 00100 → 3; se: 010 → +1, 011 → -1.
        let data = [0b1010_0110, 0b0100_0100, 0b1100_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(r.read_ue(), Some(0));
        assert_eq!(r.read_ue(), Some(1));
        assert_eq!(r.read_ue(), Some(2));
        assert_eq!(r.read_ue(), Some(3));
        assert_eq!(r.read_se(), Some(1));
        assert_eq!(r.read_se(), Some(-1));
        assert_eq!(r.read_bits(6), Some(0));
        assert_eq!(r.read_bit(), None, "past the end");
    }

    #[test]
    fn emulation_prevention_is_removed() {
        assert_eq!(rbsp_prefix(&[0, 0, 3, 1, 0, 0, 3, 0], 10), vec![0, 0, 1, 0, 0, 0]);
        assert_eq!(rbsp_prefix(&[1, 2, 3, 4], 2), vec![1, 2]);
    }
}
