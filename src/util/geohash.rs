//! Geohash math for the geo commands (Redis's geohash.c and geohash_helper.c, written
//! anew): points as 52-bit interleaved scores, the cell of a hash, its eight neighbours,
//! the nine cells that cover a search shape, and Redis's haversine distance.
//!
//! A point is encoded at 26 steps (26 bits of latitude and 26 of longitude): the
//! latitude bits sit at the even positions and the longitude bits at the odd ones. The
//! latitude range is Web Mercator's (±85.05112878), not ±90, as in Redis; GEOHASH
//! re-encodes over ±90 to print standard geohash strings.
//!
//! Every formula follows Redis's order of operations, so the same point gives the same
//! score, the same decoded coordinates and the same distance bit for bit (the
//! trigonometry is the C library's, as Redis's is).

/// The westmost longitude.
pub const LONG_MIN: f64 = -180.0;
/// The eastmost longitude.
pub const LONG_MAX: f64 = 180.0;
/// The southmost latitude (Web Mercator's limit).
pub const LAT_MIN: f64 = -85.05112878;
/// The northmost latitude.
pub const LAT_MAX: f64 = 85.05112878;
/// The precision of a stored point: 26 bits per coordinate.
pub const STEP_MAX: u8 = 26;

/// Redis's mean Earth radius for the distance formula, in meters.
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// The length of the Mercator equator's half, in meters (the step estimate's scale).
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians, as Redis's `D_R` (`M_PI / 180.0`).
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A hash: `step` bits of each coordinate, interleaved in the low `2 * step` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hash {
    pub bits: u64,
    pub step: u8,
}

impl Hash {
    /// Whether this is the "no cell" hash (Redis's `HASHISZERO`).
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash shifted up to 52 bits: the lowest score of its cell (Redis's
    /// `geohashAlign52Bits`).
    pub fn align52(&self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

/// A closed interval of one coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The cell of a hash: its longitude and latitude intervals.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

/// Spreads the low 32 bits of `x` to the even bit positions and those of `y` to the
/// odd ones.
fn interleave64(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// The inverse of [`interleave64`]: the even bits in the low 32 bits of the result, the
/// odd bits in the high 32.
fn deinterleave64(v: u64) -> u64 {
    fn gather(mut v: u64) -> u64 {
        v &= 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF
    }
    gather(v) | (gather(v >> 1) << 32)
}

/// The ranges Redis encodes over.
const WGS84: (Range, Range) = (
    Range {
        min: LONG_MIN,
        max: LONG_MAX,
    },
    Range {
        min: LAT_MIN,
        max: LAT_MAX,
    },
);

/// Encodes a point at `step` bits per coordinate over the given ranges (Redis's
/// `geohashEncode`); `None` outside Web Mercator's limits or the ranges.
pub fn encode(lon_range: Range, lat_range: Range, lon: f64, lat: f64, step: u8) -> Option<Hash> {
    if step == 0 || step > 32 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_range.min || lat > lat_range.max || lon < lon_range.min || lon > lon_range.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min) * scale;
    let lon_offset = (lon - lon_range.min) / (lon_range.max - lon_range.min) * scale;
    Some(Hash {
        bits: interleave64(lat_offset as u32, lon_offset as u32),
        step,
    })
}

/// Encodes a point over Redis's ranges.
pub fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<Hash> {
    encode(WGS84.0, WGS84.1, lon, lat, step)
}

/// The sorted set score of a point (valid coordinates assumed, as GEOADD checks them).
pub fn score_of(lon: f64, lat: f64) -> u64 {
    encode_wgs84(lon, lat, STEP_MAX).map_or(0, |h| h.align52())
}

/// The cell of a hash over the given ranges (Redis's `geohashDecode`); `None` for the
/// zero hash.
pub fn decode(lon_range: Range, lat_range: Range, hash: Hash) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let lon_scale = lon_range.max - lon_range.min;
    // The casts keep 32 bits, as Redis's `uint32_t` does for hashes with stray high bits.
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    let at = |i: u32, min: f64, scale: f64| min + (f64::from(i) / cells) * scale;
    let next = |i: u32, min: f64, scale: f64| min + ((f64::from(i) + 1.0) / cells) * scale;
    Some(Area {
        latitude: Range {
            min: at(ilato, lat_range.min, lat_scale),
            max: next(ilato, lat_range.min, lat_scale),
        },
        longitude: Range {
            min: at(ilono, lon_range.min, lon_scale),
            max: next(ilono, lon_range.min, lon_scale),
        },
    })
}

/// The center of a cell, clamped to the valid coordinates.
fn area_center(area: &Area) -> (f64, f64) {
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// The point a sorted set score stands for (Redis's `decodeGeohash`): the center of its
/// 26-step cell. `None` only for the zero hash, which no 26-step hash is.
pub fn decode_score(score: f64) -> Option<(f64, f64)> {
    let bits = c_double_to_u64(score);
    let area = decode(
        WGS84.0,
        WGS84.1,
        Hash {
            bits,
            step: STEP_MAX,
        },
    )?;
    Some(area_center(&area))
}

/// C's `(uint64_t)` cast of a double as x86-64 code does it (scores that are not
/// geohashes reach it): below 2^63 a signed conversion, whose out-of-range answer
/// (NaN included) is 2^63; from 2^63 on, a conversion of `x - 2^63` with the top bit
/// flipped.
fn c_double_to_u64(x: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let signed = |x: f64| {
        if (-TWO_63..TWO_63).contains(&x) {
            x as i64 as u64
        } else {
            1 << 63
        }
    };
    if x >= TWO_63 {
        signed(x - TWO_63) ^ (1 << 63)
    } else {
        signed(x)
    }
}

/// The 11-character standard geohash of a stored score (GEOHASH's reply): decoded, then
/// re-encoded over ±90 degrees of latitude, the 11th character always `0`.
pub fn standard_geohash(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = decode_score(score)?;
    let full = (
        Range {
            min: -180.0,
            max: 180.0,
        },
        Range {
            min: -90.0,
            max: 90.0,
        },
    );
    // Redis ignores a failed encoding and prints the zero hash.
    let bits = encode(full.0, full.1, lon, lat, 26).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    Some(out)
}

/// Moves a hash one cell east (`d > 0`) or west (`d < 0`), wrapping around.
fn move_x(hash: &mut Hash, d: i8) {
    // (The zero hash has no cells to move to; its step would make the shifts overflow.)
    if d == 0 || hash.step == 0 {
        return;
    }
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> (64 - u32::from(hash.step) * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - u32::from(hash.step) * 2);
    hash.bits = x | y;
}

/// Moves a hash one cell north (`d > 0`) or south (`d < 0`), wrapping around.
fn move_y(hash: &mut Hash, d: i8) {
    // (The zero hash has no cells to move to; its step would make the shifts overflow.)
    if d == 0 || hash.step == 0 {
        return;
    }
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> (64 - u32::from(hash.step) * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555_5555_5555_5555u64 >> (64 - u32::from(hash.step) * 2);
    hash.bits = x | y;
}

/// The eight neighbours of a cell, in Redis's search order after the cell itself:
/// north, south, east, west, north-east, north-west, south-east, south-west.
pub fn neighbors(hash: Hash) -> [Hash; 8] {
    let at = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    [
        at(0, 1),
        at(0, -1),
        at(1, 0),
        at(-1, 0),
        at(1, 1),
        at(-1, 1),
        at(1, -1),
        at(-1, -1),
    ]
}

/// The step at which the nine cells around a point cover `range_meters` (Redis's
/// `geohashEstimateStepsByRadius`): coarser near the poles.
pub fn estimate_steps_by_radius(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// A search area: a circle or an axis-aligned box around a center.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShapeKind {
    /// BYRADIUS: the radius, in the query's unit.
    Circle { radius: f64 },
    /// BYBOX: the full width and height, in the query's unit.
    Box { width: f64, height: f64 },
}

/// A search: its center, area, and the unit's size in meters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    pub kind: ShapeKind,
    /// Meters per unit (1 for m, 1000 for km...).
    pub conversion: f64,
}

impl Shape {
    /// The bounding box (min lon, min lat, max lon, max lat) of the shape (Redis's
    /// `geohashBoundingBox`): the longitude span is measured at the edge nearer a pole.
    pub fn bounding_box(&self) -> [f64; 4] {
        let (h, w) = match self.kind {
            ShapeKind::Circle { radius } => (radius, radius),
            ShapeKind::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let height = self.conversion * h;
        let width = self.conversion * w;
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let lon_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat + lat_delta).cos());
        let lon_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat - lat_delta).cos());
        let lon_delta = if self.lat < 0.0 {
            lon_delta_bottom
        } else {
            lon_delta_top
        };
        [
            self.lon - lon_delta,
            self.lat - lat_delta,
            self.lon + lon_delta,
            self.lat + lat_delta,
        ]
    }

    /// The distance from the center to `(lon, lat)` if the point is inside the shape
    /// (Redis's `geoWithinShape`), in meters.
    pub fn distance_if_within(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.kind {
            ShapeKind::Circle { radius } => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= radius * self.conversion).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                let (w, h) = (width * self.conversion, height * self.conversion);
                if lat_distance(lat, self.lat) > h / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > w / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }

    /// The cells to search, in Redis's order (the center's cell, then the neighbours of
    /// [`neighbors`]); a zero hash marks a neighbour the shape cannot reach (Redis's
    /// `geohashCalculateAreasByShapeWGS84`).
    pub fn search_cells(&self) -> [Hash; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let radius_meters = match self.kind {
            ShapeKind::Circle { radius } => radius,
            ShapeKind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps_by_radius(radius_meters, self.lat);
        let cell = |steps| {
            let hash = encode_wgs84(self.lon, self.lat, steps).unwrap_or_default();
            (hash, neighbors(hash))
        };
        let area_of = |h: Hash| decode(WGS84.0, WGS84.1, h).unwrap_or_default();
        let (mut hash, mut around) = cell(steps);
        // A neighbour too close to the search area's edge to cover it: one step coarser.
        let [north, south, east, west, ..] = around.map(area_of);
        let decrease = north.latitude.max < max_lat
            || south.latitude.min > min_lat
            || east.longitude.max < max_lon
            || west.longitude.min > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            (hash, around) = cell(steps);
        }
        let area = area_of(hash);
        if steps >= 2 {
            // Drop the neighbours beyond the search area. Indexes: 0 N, 1 S, 2 E, 3 W,
            // 4 NE, 5 NW, 6 SE, 7 SW.
            let mut drop =
                |which: [usize; 3]| which.iter().for_each(|&i| around[i] = Hash::default());
            if area.latitude.min < min_lat {
                drop([1, 7, 6]);
            }
            if area.latitude.max > max_lat {
                drop([0, 4, 5]);
            }
            if area.longitude.min < min_lon {
                drop([3, 7, 5]);
            }
            if area.longitude.max > max_lon {
                drop([2, 6, 4]);
            }
        }
        let mut out = [hash; 9];
        out[1..].copy_from_slice(&around);
        out
    }
}

/// The distance along a meridian between two latitudes, in meters.
pub fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// The great-circle distance between two points, in meters (Redis's haversine
/// `geohashGetDistance`, with its shortcut when the longitudes are the same).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rand::Rng;

    /// A uniform draw in [0, 1).
    fn unit(rng: &mut Rng) -> f64 {
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn interleave_round_trips() {
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            let (x, y) = (rng.next_u64() as u32, rng.next_u64() as u32);
            let v = interleave64(x, y);
            assert_eq!(deinterleave64(v), u64::from(x) | (u64::from(y) << 32));
        }
        // x takes the even bits, y the odd ones.
        assert_eq!(interleave64(1, 0), 1);
        assert_eq!(interleave64(0, 1), 2);
        assert_eq!(interleave64(0b11, 0), 0b101);
    }

    #[test]
    fn known_scores() {
        // Scores a Redis 7.0 server gives (GEOADD then ZSCORE): Palermo and Catania
        // from the GEOADD documentation.
        assert_eq!(score_of(13.361389, 38.115556), 3479099956230698);
        assert_eq!(score_of(15.087269, 37.502669), 3479447370796909);
        // The corners of the valid range.
        assert_eq!(score_of(-180.0, LAT_MIN), 0);
        assert!(encode_wgs84(180.1, 0.0, 26).is_none());
        assert!(encode_wgs84(0.0, 85.06, 26).is_none());
    }

    #[test]
    fn decode_is_the_cell_center() {
        let mut rng = Rng::new(11);
        for _ in 0..1000 {
            let lon = unit(&mut rng) * 360.0 - 180.0;
            let lat = unit(&mut rng) * (LAT_MAX * 2.0) - LAT_MAX;
            let score = score_of(lon, lat);
            let (dlon, dlat) = decode_score(score as f64).unwrap();
            // A 26-step cell is 360/2^26 degrees wide and 170/2^26 high.
            assert!((dlon - lon).abs() <= 360.0 / (1u64 << 27) as f64 + 1e-12);
            assert!((dlat - lat).abs() <= 171.0 / (1u64 << 27) as f64 + 1e-12);
            // Re-encoding the center gives the same score.
            assert_eq!(score_of(dlon, dlat), score);
        }
    }

    #[test]
    fn neighbours_are_adjacent_cells() {
        let h = encode_wgs84(10.0, 20.0, 10).unwrap();
        let area = decode(WGS84.0, WGS84.1, h).unwrap();
        let [n, s, e, w, ne, nw, se, sw] =
            neighbors(h).map(|h| decode(WGS84.0, WGS84.1, h).unwrap());
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(n.latitude.min, area.latitude.max));
        assert!(close(s.latitude.max, area.latitude.min));
        assert!(close(e.longitude.min, area.longitude.max));
        assert!(close(w.longitude.max, area.longitude.min));
        assert!(
            close(ne.latitude.min, area.latitude.max)
                && close(ne.longitude.min, area.longitude.max)
        );
        assert!(
            close(nw.latitude.min, area.latitude.max)
                && close(nw.longitude.max, area.longitude.min)
        );
        assert!(
            close(se.latitude.max, area.latitude.min)
                && close(se.longitude.min, area.longitude.max)
        );
        assert!(
            close(sw.latitude.max, area.latitude.min)
                && close(sw.longitude.max, area.longitude.min)
        );
        // East of the eastmost cell wraps to the westmost.
        let edge = encode_wgs84(179.99, 0.0, 5).unwrap();
        let east = decode(WGS84.0, WGS84.1, neighbors(edge)[2]).unwrap();
        assert!(close(east.longitude.min, -180.0));
    }

    #[test]
    fn distances() {
        // GEODIST Palermo Catania in Redis's documentation: 166274.1516 m.
        let (plon, plat) = decode_score(3479099956230698.0).unwrap();
        let (clon, clat) = decode_score(3479447370796909.0).unwrap();
        let d = distance(plon, plat, clon, clat);
        assert_eq!(format!("{d:.4}"), "166274.1516");
        assert_eq!(distance(1.0, 2.0, 1.0, 2.0), 0.0);
        // Same longitude: the meridian shortcut.
        assert_eq!(distance(5.0, 0.0, 5.0, 1.0), lat_distance(0.0, 1.0));
        // Symmetric.
        assert_eq!(
            distance(-170.0, 10.0, 170.0, -10.0),
            distance(170.0, -10.0, -170.0, 10.0)
        );
    }

    #[test]
    fn steps_by_radius() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert_eq!(estimate_steps_by_radius(1.0, 0.0), 24);
        assert_eq!(estimate_steps_by_radius(5_000_000.0, 0.0), 2);
        assert_eq!(
            estimate_steps_by_radius(1000.0, 70.0),
            estimate_steps_by_radius(1000.0, 0.0) - 1
        );
        assert_eq!(
            estimate_steps_by_radius(1000.0, -85.0),
            estimate_steps_by_radius(1000.0, 0.0) - 2
        );
    }

    #[test]
    fn search_cells_cover_the_circle() {
        // Every point within the radius falls in one of the cells searched.
        let mut rng = Rng::new(3);
        for _ in 0..200 {
            let shape = Shape {
                lon: unit(&mut rng) * 360.0 - 180.0,
                lat: unit(&mut rng) * 160.0 - 80.0,
                kind: ShapeKind::Circle {
                    radius: unit(&mut rng) * 500.0,
                },
                conversion: 1000.0,
            };
            let cells = shape.search_cells();
            for _ in 0..50 {
                let lon = shape.lon + unit(&mut rng) * 20.0 - 10.0;
                let lat = shape.lat + unit(&mut rng) * 20.0 - 10.0;
                // (A point at exactly 180 has a score past its cell's, in Redis too.)
                if !(LONG_MIN..LONG_MAX).contains(&lon) || !(LAT_MIN..LAT_MAX).contains(&lat) {
                    continue;
                }
                let score = score_of(lon, lat);
                let (dlon, dlat) = decode_score(score as f64).unwrap();
                if shape.distance_if_within(dlon, dlat).is_none() {
                    continue;
                }
                let found = cells.iter().filter(|c| !c.is_zero()).any(|c| {
                    let min = c.align52();
                    let max = Hash {
                        bits: c.bits + 1,
                        step: c.step,
                    }
                    .align52();
                    (min..max).contains(&score)
                });
                assert!(found, "{shape:?} misses ({lon}, {lat})");
            }
        }
    }

    #[test]
    fn standard_geohash_strings() {
        // GEOHASH Palermo in Redis's documentation: sqc8b49rny0.
        assert_eq!(
            &standard_geohash(3479099956230698.0).unwrap(),
            b"sqc8b49rny0"
        );
    }
}
