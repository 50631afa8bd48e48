//! Splitting a team's count among its members (RULES.md, "Daily", last item).
//!
//! The share is derived at scoring time and never stored: a correction of one
//! member's minutes re-splits the whole team, and every replica splits alike.

/// Splits `total` in proportion to `weights` by the largest-remainder method.
///
/// Each member first gets `⌊total × wᵢ / W⌋`; the units left over go one each
/// to the members with the largest remainders `total × wᵢ mod W`, ties broken by
/// position in `weights` — callers pass members in ascending inmate number, which
/// is the tie-break RULES.md asks for. The shares always add up to `total`.
/// With no weight at all (`W = 0`) nothing can be split and every share is 0.
pub fn largest_remainder(total: u64, weights: &[u64]) -> Vec<u64> {
    let w_sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if w_sum == 0 {
        return vec![0; weights.len()];
    }
    let t = u128::from(total);
    let mut shares: Vec<u64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let num = t * u128::from(w);
        // num / w_sum ≤ total, so the share fits in u64.
        shares.push((num / w_sum) as u64);
        remainders.push((num % w_sum, i));
    }
    let given: u64 = shares.iter().sum();
    let left = (total - given) as usize;
    // Largest remainder first; equal remainders in caller order.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(left) {
        shares[i] += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_split() {
        // 100 units over minutes 480, 480, 240 (W = 1200):
        //   100×480/1200 = 40 r0, 40 r0, 100×240/1200 = 20 r0 → 40, 40, 20.
        assert_eq!(largest_remainder(100, &[480, 480, 240]), vec![40, 40, 20]);
        // 10 units over 480, 480, 480 (W = 1440): each 4800/1440 = 3 r480;
        // one unit left, equal remainders → the first (lowest inmate number).
        assert_eq!(largest_remainder(10, &[480, 480, 480]), vec![4, 3, 3]);
        // 7 units over 480, 240 (W = 720): 3360/720 = 4 r480, 1680/720 = 2 r240;
        // one left → the larger remainder (first) → 5, 2.
        assert_eq!(largest_remainder(7, &[480, 240]), vec![5, 2]);
        // 5 units over 100, 300 (W = 400): 500/400 = 1 r100, 1500/400 = 3 r300;
        // one left → the second has the larger remainder → 1, 4.
        assert_eq!(largest_remainder(5, &[100, 300]), vec![1, 4]);
        assert_eq!(largest_remainder(5, &[0, 0]), vec![0, 0]);
        assert_eq!(largest_remainder(0, &[480]), vec![0]);
    }

    proptest! {
        #[test]
        fn shares_add_up_and_stay_within_one_of_exact(
            total in 0u64..1_000_000,
            weights in proptest::collection::vec(1u64..1440, 1..40),
        ) {
            let shares = largest_remainder(total, &weights);
            prop_assert_eq!(shares.iter().sum::<u64>(), total);
            let w: u128 = weights.iter().map(|&w| u128::from(w)).sum();
            for (s, wi) in shares.iter().zip(&weights) {
                let floor = (u128::from(total) * u128::from(*wi) / w) as u64;
                prop_assert!(*s == floor || *s == floor + 1);
            }
        }
    }
}
