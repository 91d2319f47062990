//! Redis's partial quicksort (pqsort.c, NetBSD's qsort with a range to sort): only the
//! elements that end up at positions `lrange..=rrange` are guaranteed sorted.
//!
//! Written anew from the algorithm so that elements which compare equal come out in the
//! same order as Redis's: GEORADIUS and GEOSEARCH with COUNT use it, and points at the
//! same distance must be listed as Redis lists them.

use std::cmp::Ordering;

/// Sorts `v` enough that positions `lrange..=rrange` hold what a full sort would put
/// there, with Redis's order for equal elements.
pub fn pqsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering, lrange: usize, rrange: usize) {
    sort_part(v, 0, v.len(), cmp, lrange, rrange);
}

/// The index of the median of three elements, as Redis's `med3`.
fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    let lt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Less;
    let gt = |x: usize, y: usize| cmp(&v[x], &v[y]) == Ordering::Greater;
    if lt(a, b) {
        if lt(b, c) {
            b
        } else if lt(a, c) {
            c
        } else {
            a
        }
    } else if gt(b, c) {
        b
    } else if lt(a, c) {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements from `a` with the `n` from `b`, pairwise.
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Whether the part `start..start + len` misses the wanted range entirely.
fn outside(start: usize, len: usize, lrange: usize, rrange: usize) -> bool {
    let end = start + len; // Exclusive.
    (lrange < start && rrange < start) || (lrange >= end && rrange >= end)
}

/// Sorts the `n` elements from `a` (Redis's `_pqsort`).
fn sort_part<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
    lrange: usize,
    rrange: usize,
) {
    loop {
        if n < 7 {
            // Insertion sort.
            for m in a + 1..a + n {
                let mut l = m;
                while l > a && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        // Elements equal to the pivot gather at both ends, then move to the middle.
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb], &v[a]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc], &v[a]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && !outside(a, r, lrange, rrange) {
            sort_part(v, a, r, cmp, lrange, rrange);
        }
        let r = pd - pc;
        if r <= 1 {
            return;
        }
        a = pn - r;
        n = r;
        if outside(a, n, lrange, rrange) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rand::Rng;

    #[test]
    fn sorts_the_wanted_range() {
        let mut rng = Rng::new(5);
        for len in [0usize, 1, 2, 6, 7, 8, 40, 41, 100, 1000] {
            for _ in 0..20 {
                let v: Vec<u64> = (0..len).map(|_| rng.below(50)).collect();
                let mut sorted = v.clone();
                sorted.sort();
                let mut full = v.clone();
                if len > 0 {
                    pqsort(&mut full, &|a: &u64, b: &u64| a.cmp(b), 0, len - 1);
                }
                assert_eq!(full, sorted);
                if len > 3 {
                    let k = rng.below(len as u64) as usize;
                    let mut part = v.clone();
                    pqsort(&mut part, &|a: &u64, b: &u64| a.cmp(b), 0, k);
                    assert_eq!(part[..=k], sorted[..=k]);
                    let mut rest = part.clone();
                    rest.sort();
                    assert_eq!(rest, sorted, "a permutation of the input");
                }
            }
        }
    }

    #[test]
    fn sorts_any_range_within() {
        let mut rng = Rng::new(5);
        for len in [0usize, 1, 6, 7, 8, 40, 41, 100, 1000] {
            let data: Vec<u64> = (0..len).map(|_| rng.below(50)).collect();
            let mut sorted = data.clone();
            sorted.sort();
            for _ in 0..20 {
                if len == 0 {
                    break;
                }
                let lo = rng.below(len as u64) as usize;
                let hi = lo + rng.below((len - lo) as u64) as usize;
                let mut v = data.clone();
                pqsort(&mut v, &|a: &u64, b: &u64| a.cmp(b), lo, hi);
                assert_eq!(v[lo..=hi], sorted[lo..=hi], "len {len}, {lo}..={hi}");
                let mut all = v.clone();
                all.sort();
                assert_eq!(all, sorted, "a permutation");
            }
        }
    }
}
