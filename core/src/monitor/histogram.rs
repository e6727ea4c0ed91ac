//! A lock-free log-linear latency histogram over nanoseconds.
//!
//! Values below 128 ns have one bucket each. Above, every power of two is split
//! into 64 equal sub-buckets, so a bucket is at most 1/64 of its lower bound wide;
//! reporting its midpoint is off by at most 1/128 (0.78%) of the true value. The
//! 2,048 buckets reach 2^37 ns (137 s); longer values land in the last bucket and
//! percentiles are clamped to the exact minimum and maximum, which are kept apart.
//!
//! Recording is one `fetch_add` on the bucket, one on the sum and, rarely, a
//! `fetch_min`/`fetch_max`: no lock, no allocation. See `docs/monitor.md` for why
//! this is written here rather than taken from `hdrhistogram` (whose recording
//! needs `&mut` and so a lock or per-thread copies).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Sub-buckets per power of two (2^SUB_BITS).
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Number of buckets.
pub const BUCKETS: usize = 2048;

/// Bucket index of a value in nanoseconds.
#[inline]
pub fn bucket_of(nanos: u64) -> usize {
    if nanos < 2 * SUB {
        return nanos as usize;
    }
    let exp = 63 - nanos.leading_zeros(); // >= SUB_BITS + 1
    let shift = exp - SUB_BITS;
    let mantissa = nanos >> shift; // in [SUB, 2 * SUB)
    let index = (shift as u64) * SUB + mantissa;
    (index as usize).min(BUCKETS - 1)
}

/// Lowest value of a bucket, in nanoseconds.
pub fn bucket_low(index: usize) -> u64 {
    let index = index as u64;
    if index < 2 * SUB {
        return index;
    }
    let shift = index / SUB - 1;
    let mantissa = index - shift * SUB;
    mantissa << shift
}

/// Width of a bucket, in nanoseconds.
pub fn bucket_width(index: usize) -> u64 {
    let index = index as u64;
    if index < 2 * SUB {
        return 1;
    }
    1 << (index / SUB - 1)
}

/// The value a bucket stands for: its midpoint.
pub fn bucket_value(index: usize) -> f64 {
    bucket_low(index) as f64 + (bucket_width(index) as f64 - 1.0) / 2.0
}

/// A latency histogram that many threads record into at once.
pub struct AtomicHistogram {
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        AtomicHistogram::new()
    }
}

impl AtomicHistogram {
    pub fn new() -> AtomicHistogram {
        AtomicHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }

    /// Records one value.
    #[inline]
    pub fn record(&self, nanos: u64) {
        self.buckets[bucket_of(nanos)].fetch_add(1, Relaxed);
        self.sum.fetch_add(nanos, Relaxed);
        if nanos < self.min.load(Relaxed) {
            self.min.fetch_min(nanos, Relaxed);
        }
        if nanos > self.max.load(Relaxed) {
            self.max.fetch_max(nanos, Relaxed);
        }
    }

    /// A plain copy, for computing statistics.
    pub fn read(&self) -> HistogramData {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        HistogramData {
            count: counts.iter().sum(),
            counts,
            sum: self.sum.load(Relaxed),
            min: self.min.load(Relaxed),
            max: self.max.load(Relaxed),
        }
    }
}

/// A copy of a histogram's content.
#[derive(Clone, Debug, Default)]
pub struct HistogramData {
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum: u64,
    /// `u64::MAX` when empty.
    pub min: u64,
    pub max: u64,
}

impl HistogramData {
    /// An empty histogram.
    pub fn empty() -> HistogramData {
        HistogramData {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// The values recorded since `earlier` (a previous copy of the same histogram).
    /// Minimum and maximum of the interval are not known exactly: they are taken
    /// from the lowest and highest non-empty buckets.
    pub fn since(&self, earlier: &HistogramData) -> HistogramData {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .zip(&earlier.counts)
            .map(|(a, b)| a.saturating_sub(*b))
            .collect();
        let count = counts.iter().sum();
        let first = counts.iter().position(|&c| c > 0);
        let last = counts.iter().rposition(|&c| c > 0);
        HistogramData {
            count,
            sum: self.sum.saturating_sub(earlier.sum),
            min: first.map_or(u64::MAX, |i| bucket_low(i).max(self.min)),
            max: last.map_or(0, |i| (bucket_low(i) + bucket_width(i) - 1).min(self.max)),
            counts,
        }
    }

    /// The value at quantile `q` (0..=1) in nanoseconds: the midpoint of the bucket
    /// holding the `ceil(q * count)`-th smallest value, clamped to [min, max]; the
    /// exact min and max for the first and last ranks. 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        if rank == 1 {
            return self.min as f64;
        }
        if rank == self.count {
            return self.max as f64;
        }
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_value(i).clamp(self.min as f64, self.max as f64);
            }
        }
        self.max as f64
    }

    /// Several quantiles in one pass; `qs` must be ascending.
    pub fn quantiles(&self, qs: &[f64]) -> Vec<f64> {
        if self.count == 0 {
            return vec![0.0; qs.len()];
        }
        let mut out = Vec::with_capacity(qs.len());
        let mut seen = 0;
        let mut buckets = self.counts.iter().enumerate();
        for &q in qs {
            let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
            if rank == 1 || rank == self.count {
                out.push(if rank == 1 { self.min } else { self.max } as f64);
                continue;
            }
            let value = loop {
                if seen >= rank && !out.is_empty() {
                    break *out.last().unwrap();
                }
                match buckets.next() {
                    Some((i, &c)) => {
                        seen += c;
                        if seen >= rank {
                            break bucket_value(i).clamp(self.min as f64, self.max as f64);
                        }
                    }
                    None => break self.max as f64,
                }
            };
            out.push(value);
        }
        out
    }

    /// Mean in nanoseconds (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// Cumulative counts at several ascending bounds (nanoseconds) in one pass:
    /// `out[i]` = values whose bucket midpoint is at most `bounds[i]`.
    pub fn cumulative_at(&self, bounds: &[f64]) -> Vec<u64> {
        let mut out = Vec::with_capacity(bounds.len());
        let mut seen = 0;
        let mut i = 0;
        for &bound in bounds {
            while i < self.counts.len() && bucket_value(i) <= bound {
                seen += self.counts[i];
                i += 1;
            }
            out.push(seen);
        }
        out
    }

    /// How many values are at most `nanos` (bucket midpoints decide: the error is
    /// within a bucket's width, at most 1/64 of the value).
    pub fn count_at_most(&self, nanos: f64) -> u64 {
        self.counts
            .iter()
            .enumerate()
            .take_while(|(i, _)| bucket_value(*i) <= nanos)
            .map(|(_, c)| c)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_narrow() {
        let mut expected_low = 0;
        for i in 0..BUCKETS {
            assert_eq!(bucket_low(i), expected_low, "bucket {i}");
            assert_eq!(bucket_of(bucket_low(i)), i);
            let high = bucket_low(i) + bucket_width(i) - 1;
            assert_eq!(bucket_of(high), i);
            assert!(bucket_width(i) as f64 <= (bucket_low(i) as f64 / 64.0).max(1.0));
            expected_low = high + 1;
        }
        assert!(bucket_low(BUCKETS - 1) > 100_000_000_000, "reaches 100 s");
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_small_sets() {
        let h = AtomicHistogram::new();
        for v in [1_000, 2_000, 3_000, 4_000] {
            h.record(v);
        }
        let d = h.read();
        assert_eq!(d.count, 4);
        assert_eq!(d.min, 1_000);
        assert_eq!(d.max, 4_000);
        assert!((d.quantile(0.5) - 2_000.0).abs() / 2_000.0 < 0.008);
        assert_eq!(d.quantile(1.0), 4_000.0);
        assert_eq!(d.quantile(0.0), 1_000.0);
        assert_eq!(d.count_at_most(2_500.0), 2);
        assert_eq!(d.cumulative_at(&[500.0, 2_500.0, 1e12]), vec![0, 2, 4]);
        let qs = [0.0, 0.25, 0.5, 0.75, 0.9, 1.0];
        let one_pass = d.quantiles(&qs);
        for (q, v) in qs.iter().zip(one_pass) {
            assert_eq!(v, d.quantile(*q), "q = {q}");
        }
    }
}
