//! Geo commands (Redis's geo.c): GEOADD, GEODIST, GEOHASH, GEOPOS, and the searches
//! GEORADIUS, GEORADIUSBYMEMBER (with their _RO forms and STORE/STOREDIST), GEOSEARCH
//! and GEOSEARCHSTORE.
//!
//! A geo set is a sorted set whose scores are 52-bit geohashes
//! ([`crate::util::geohash`]). GEOADD is ZADD with the coordinates turned into scores:
//! it runs [`zset::zadd_generic`] and is replicated as that ZADD, as Redis rewrites it.
//! Every search is one generic function, [`run_search`] (Redis's
//! `georadiusGeneric`): it reads the nine cells around the center as score ranges of
//! the sorted set, keeps the points inside the shape, sorts them by distance and either
//! replies or stores them ([`zset::store_result`], firing `georadiusstore` or
//! `geosearchstore`).
//!
//! Numbers print as Redis prints them: distances with four decimals
//! ([`format_fixed`]), coordinates as `addReplyHumanLongDouble` ([`Reply::human_double`]).

use super::zset::{self, read_zset, store_result};
use super::{is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::resp::{Args, Reply};
use crate::store::zset::ScoreRange;
use crate::store::{Keyspace, ZSet};
use crate::util::geohash::{self, Hash, Shape, ShapeKind};
use crate::util::num::{format_fixed, parse_double, parse_i64, push_i64};
use crate::util::pqsort::pqsort;

/// The geo commands, with Redis 7.0's arity, flags and key positions.
#[rustfmt::skip]
pub const COMMANDS: &[Command] = &[
    Command::new("geoadd", Handler::Write(geoadd)),
    Command::new("geodist", Handler::Read(geodist)),
    Command::new("geohash", Handler::Read(geohash)),
    Command::new("geopos", Handler::Read(geopos)),
    Command::new("georadius", Handler::ReadUnless { writes: stores, read: georadius_no_store, write: georadius }),
    Command::new("georadius_ro", Handler::Read(georadius_ro)),
    Command::new("georadiusbymember", Handler::ReadUnless { writes: stores, read: georadiusbymember_no_store, write: georadiusbymember }),
    Command::new("georadiusbymember_ro", Handler::Read(georadiusbymember_ro)),
    Command::new("geosearch", Handler::Read(geosearch)),
    Command::new("geosearchstore", Handler::Write(geosearchstore)),
];

// Argument helpers.

/// A longitude and a latitude (Redis's `extractLongLatOrReply`): both must parse, then
/// lie within Web Mercator's limits.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let not_float = || CmdError::err("value is not a valid float");
    let lon = parse_double(lon).ok_or_else(not_float)?;
    let lat = parse_double(lat).ok_or_else(not_float)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&lon)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(CmdError::err(format!(
            "invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

/// A unit's size in meters (Redis's `extractUnitOrReply`).
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    match () {
        _ if is(arg, "m") => Ok(1.0),
        _ if is(arg, "km") => Ok(1000.0),
        _ if is(arg, "ft") => Ok(0.3048),
        _ if is(arg, "mi") => Ok(1609.34),
        _ => Err(CmdError::err(
            "unsupported unit provided. please use M, KM, FT, MI",
        )),
    }
}

/// A length that must be a number (`ERR <msg>` otherwise).
fn number(arg: &[u8], msg: &str) -> Result<f64, CmdError> {
    parse_double(arg).ok_or_else(|| CmdError::err(msg))
}

/// `radius unit` (Redis's `extractDistanceOrReply`): the radius and the unit's meters.
fn radius(args: &Args, at: usize) -> Result<(f64, f64), CmdError> {
    let r = number(&args[at], "need numeric radius")?;
    if r < 0.0 {
        return Err(CmdError::err("radius cannot be negative"));
    }
    Ok((r, unit(&args[at + 1])?))
}

/// `width height unit` (Redis's `extractBoxOrReply`).
fn box_size(args: &Args, at: usize) -> Result<(f64, f64, f64), CmdError> {
    let w = number(&args[at], "need numeric width")?;
    let h = number(&args[at + 1], "need numeric height")?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::err("height or width cannot be negative"));
    }
    Ok((w, h, unit(&args[at + 2])?))
}

/// The position of a member of a geo set (Redis's `longLatFromMember`).
fn member_position(z: &ZSet, member: &[u8]) -> Result<(f64, f64), CmdError> {
    z.score(member)
        .and_then(geohash::decode_score)
        .ok_or_else(|| CmdError::err("could not decode requested zset member"))
}

/// A distance as Redis's `addReplyDoubleDistance`: a bulk string with four decimals.
fn reply_distance(out: &mut Reply, d: f64) {
    out.bulk(&format_fixed(d, 4));
}

// GEOADD.

/// ```text
/// GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
/// ```
/// The number of members added (with CH, added or moved). Runs as ZADD with each point's
/// score, and is replicated as that ZADD.
fn geoadd(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut at = 2;
    while at < args.len() {
        let a = &args[at];
        match () {
            _ if is(a, "nx") => nx = true,
            _ if is(a, "xx") => xx = true,
            _ if is(a, "ch") => {}
            _ => break,
        }
        at += 1;
    }
    if !(args.len() - at).is_multiple_of(3) || (xx && nx) {
        return Err(CmdError::Syntax);
    }
    // The ZADD is built in one argument buffer (no allocation per word): at -P 16 this
    // copying was a visible part of GEOADD's cost beside the ZADD itself.
    let mut zadd = Args::default();
    zadd.push(b"zadd");
    for i in 1..at {
        zadd.push(&args[i]);
    }
    let mut score = Vec::with_capacity(20);
    for i in (at..args.len()).step_by(3) {
        let (lon, lat) = lon_lat(&args[i], &args[i + 1])?;
        score.clear();
        // A 52-bit geohash: always within i64.
        push_i64(&mut score, geohash::score_of(lon, lat) as i64);
        zadd.push(&score);
        zadd.push(&args[i + 2]);
    }
    ks.rewrite(&zadd.iter().collect::<Vec<_>>());
    zset::zadd_generic(ctx, ks, &zadd, false)
}

// Lookups.

/// ```text
/// GEODIST key member1 member2 [M|KM|FT|MI]
/// ```
/// The distance between two members in the unit (meters by default), or nil if either
/// is missing.
fn geodist(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let to_meters = match args.len() {
        5 => unit(&args[4])?,
        n if n > 5 => return Err(CmdError::Syntax),
        _ => 1.0,
    };
    let Some(z) = read_zset(ctx, ks, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let a = z.score(&args[2]).and_then(geohash::decode_score);
    let b = z.score(&args[3]).and_then(geohash::decode_score);
    match (a, b) {
        (Some((lon1, lat1)), Some((lon2, lat2))) => reply_distance(
            ctx.out,
            geohash::distance(lon1, lat1, lon2, lat2) / to_meters,
        ),
        _ => ctx.out.null(),
    }
    Ok(())
}

/// ```text
/// GEOHASH key [member [member ...]]
/// ```
/// Each member's 11-character standard geohash, or nil for a missing member.
fn geohash(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let z = read_zset(ctx, ks, &args[1])?;
    ctx.out.array(args.len() - 2);
    for member in args.iter().skip(2) {
        match z
            .and_then(|z| z.score(member))
            .and_then(geohash::standard_geohash)
        {
            Some(text) => ctx.out.bulk(&text),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// ```text
/// GEOPOS key [member [member ...]]
/// ```
/// Each member's `[longitude, latitude]`, or a nil array for a missing member.
fn geopos(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    let z = read_zset(ctx, ks, &args[1])?;
    ctx.out.array(args.len() - 2);
    for member in args.iter().skip(2) {
        match z
            .and_then(|z| z.score(member))
            .and_then(geohash::decode_score)
        {
            Some((lon, lat)) => {
                ctx.out.array(2);
                ctx.out.human_double(lon);
                ctx.out.human_double(lat);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

// Searches.

/// Which search command runs (Redis's `RADIUS_*` and `GEOSEARCH*` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GEORADIUS: center and radius are positional; STORE allowed unless `_RO`.
    Radius { store: bool },
    /// GEORADIUSBYMEMBER: the center is a member.
    ByMember { store: bool },
    /// GEOSEARCH.
    Geosearch,
    /// GEOSEARCHSTORE: the destination is the first key.
    GeosearchStore,
}

impl Kind {
    fn is_search(self) -> bool {
        matches!(self, Kind::Geosearch | Kind::GeosearchStore)
    }

    fn allows_store_option(self) -> bool {
        matches!(
            self,
            Kind::Radius { store: true } | Kind::ByMember { store: true }
        )
    }
}

/// One point found: Redis's `geoPoint`.
struct Found<'a> {
    member: &'a [u8],
    lon: f64,
    lat: f64,
    /// Meters until the reply converts it to the query's unit.
    dist: f64,
    score: f64,
}

/// The points of `z` inside `shape`, cell after cell in Redis's order (the center's,
/// then its neighbours); with `limit` (COUNT ANY), it stops once it has that many.
fn points_in_shape<'a>(z: &'a ZSet, shape: &Shape, limit: usize) -> Vec<Found<'a>> {
    let cells = shape.search_cells();
    let mut found = Vec::new();
    let full = |found: &Vec<Found>| limit != 0 && found.len() >= limit;
    // As Redis, index 0 means "nothing processed yet", so a neighbour equal to the
    // center's cell is searched again.
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() || (last != 0 && *cell == cells[last]) {
            continue;
        }
        if full(&found) {
            break;
        }
        let min = cell.align52();
        let max = Hash {
            bits: cell.bits + 1,
            step: cell.step,
        }
        .align52();
        let range = ScoreRange {
            min: min as f64,
            max: max as f64,
            minex: false,
            maxex: true,
        };
        for (member, score) in z.iter_ranks(z.score_ranks(&range), false) {
            if let Some((lon, lat)) = geohash::decode_score(score) {
                if let Some(dist) = shape.distance_if_within(lon, lat) {
                    found.push(Found {
                        member,
                        lon,
                        lat,
                        dist,
                        score,
                    });
                }
            }
            if full(&found) {
                break;
            }
        }
        last = i;
    }
    found
}

/// A search's options, once parsed.
#[derive(Default)]
struct Options<'a> {
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    any: bool,
    /// `Some(true)` ascending, `Some(false)` descending.
    asc: Option<bool>,
    count: usize,
    store: Option<&'a [u8]>,
    storedist: bool,
}

/// The body of every search command (Redis's `georadiusGeneric`): parses, searches,
/// and replies, or returns what to store for the write forms ([`search_write`]).
fn run_search<'a>(
    ctx: &mut Ctx,
    ks: &'a Keyspace,
    args: &'a Args,
    kind: Kind,
) -> Result<Option<Stored<'a>>, CmdError> {
    let src = if kind == Kind::GeosearchStore { 2 } else { 1 };
    let z = read_zset(ctx, ks, &args[src])?;
    let mut o = Options::default();
    let mut center = None;
    let mut area = None;
    let base = match kind {
        Kind::Radius { .. } => {
            center = Some(lon_lat(&args[2], &args[3])?);
            let (r, conv) = radius(args, 4)?;
            area = Some((ShapeKind::Circle { radius: r }, conv));
            6
        }
        Kind::ByMember { .. } => {
            if let Some(z) = z {
                center = Some(member_position(z, &args[2])?);
                let (r, conv) = radius(args, 3)?;
                area = Some((ShapeKind::Circle { radius: r }, conv));
            }
            5
        }
        Kind::Geosearch => 2,
        Kind::GeosearchStore => {
            o.store = Some(&args[1]);
            3
        }
    };
    let (mut frommember, mut fromloc) = (false, false);
    let (mut byradius, mut bybox) = (false, false);
    let mut i = base;
    let n = args.len();
    while i < n {
        let a = &args[i];
        let left = n - i - 1;
        match () {
            _ if is(a, "withdist") => o.withdist = true,
            _ if is(a, "withhash") => o.withhash = true,
            _ if is(a, "withcoord") => o.withcoord = true,
            _ if is(a, "any") => o.any = true,
            _ if is(a, "asc") => o.asc = Some(true),
            _ if is(a, "desc") => o.asc = Some(false),
            _ if is(a, "count") && left >= 1 => {
                let c = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
                if c <= 0 {
                    return Err(CmdError::err("COUNT must be > 0"));
                }
                o.count = c as usize;
                i += 1;
            }
            _ if (is(a, "store") || is(a, "storedist"))
                && left >= 1
                && kind.allows_store_option() =>
            {
                o.store = Some(&args[i + 1]);
                o.storedist = is(a, "storedist");
                i += 1;
            }
            _ if is(a, "storedist") && kind == Kind::GeosearchStore => o.storedist = true,
            _ if is(a, "frommember") && left >= 1 && kind.is_search() && !fromloc => {
                if let Some(z) = z {
                    center = Some(member_position(z, &args[i + 1])?);
                }
                frommember = true;
                i += 1;
            }
            _ if is(a, "fromlonlat") && left >= 2 && kind.is_search() && !frommember => {
                center = Some(lon_lat(&args[i + 1], &args[i + 2])?);
                fromloc = true;
                i += 2;
            }
            _ if is(a, "byradius") && left >= 2 && kind.is_search() && !bybox => {
                let (r, conv) = radius(args, i + 1)?;
                area = Some((ShapeKind::Circle { radius: r }, conv));
                byradius = true;
                i += 2;
            }
            _ if is(a, "bybox") && left >= 3 && kind.is_search() && !byradius => {
                let (width, height, conv) = box_size(args, i + 1)?;
                area = Some((ShapeKind::Box { width, height }, conv));
                bybox = true;
                i += 3;
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    if o.store.is_some() && (o.withdist || o.withhash || o.withcoord) {
        let what = if kind == Kind::GeosearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::err(format!(
            "{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = || String::from_utf8_lossy(&args[0]).into_owned();
    if kind.is_search() && !(frommember || fromloc) {
        return Err(CmdError::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
            name()
        )));
    }
    if kind.is_search() && !(byradius || bybox) {
        return Err(CmdError::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {}",
            name()
        )));
    }
    if o.any && o.count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }
    let (Some(z), Some((lon, lat)), Some((kind, conversion))) = (z, center, area) else {
        // No source: an empty reply, or the destination deleted.
        return match o.store {
            Some(dst) => Ok(Some(Stored {
                dst,
                points: Vec::new(),
                storedist: o.storedist,
            })),
            None => {
                ctx.out.array(0);
                Ok(None)
            }
        };
    };
    // COUNT without an order means the closest ones.
    if o.count != 0 && o.asc.is_none() && !o.any {
        o.asc = Some(true);
    }
    let shape = Shape {
        lon,
        lat,
        kind,
        conversion,
    };
    let mut points = points_in_shape(z, &shape, if o.any { o.count } else { 0 });
    let returned = if o.count == 0 {
        points.len()
    } else {
        points.len().min(o.count)
    };
    if let Some(asc) = o.asc {
        // Redis's comparator: greater, equal, or else less (a NaN is "less").
        let by_dist = |a: &Found, b: &Found| {
            use std::cmp::Ordering::*;
            let ord = if a.dist > b.dist {
                Greater
            } else if a.dist == b.dist {
                Equal
            } else {
                Less
            };
            if asc {
                ord
            } else {
                ord.reverse()
            }
        };
        // As Redis: the C library's qsort (a stable merge sort in glibc) for a full sort,
        // its own partial quicksort when COUNT keeps fewer; both decide the order of
        // points at equal distances.
        if returned < points.len() {
            pqsort(&mut points, &by_dist, 0, returned - 1);
        } else {
            points.sort_by(by_dist);
        }
    }
    points.truncate(returned);
    for p in &mut points {
        p.dist /= conversion;
    }
    if let Some(dst) = o.store {
        return Ok(Some(Stored {
            dst,
            points,
            storedist: o.storedist,
        }));
    }
    let extras = usize::from(o.withdist) + usize::from(o.withhash) + usize::from(o.withcoord);
    let out = &mut *ctx.out;
    out.array(points.len());
    for p in &points {
        if extras > 0 {
            out.array(extras + 1);
        }
        out.bulk(p.member);
        if o.withdist {
            reply_distance(out, p.dist);
        }
        if o.withhash {
            out.int(p.score as i64);
        }
        if o.withcoord {
            out.array(2);
            out.human_double(p.lon);
            out.human_double(p.lat);
        }
    }
    Ok(None)
}

/// What a storing search leaves to write.
struct Stored<'a> {
    dst: &'a [u8],
    points: Vec<Found<'a>>,
    storedist: bool,
}

/// The write forms: searches, then stores the result at the destination if one was
/// named (`georadiusstore` or `geosearchstore`, `del` when the result is empty).
fn search_write(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args, kind: Kind) -> CmdResult {
    let limits = ctx.server.limits();
    let Some((dst, z, n)) = run_search(ctx, ks, args, kind)?.map(|s| {
        let mut z = ZSet::new();
        for p in &s.points {
            z.insert(
                p.member,
                if s.storedist { p.dist } else { p.score },
                &limits,
            );
        }
        (s.dst.to_vec(), z, s.points.len() as u64)
    }) else {
        return Ok(());
    };
    // An expired source goes before the destination is touched, as Redis's read lookup
    // deletes it.
    ks.reap_stale();
    let event = if kind.is_search() {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    store_result(ctx, ks, &dst, z, event);
    // Redis counts one change per member stored (store_result counted one).
    ks.dirty += n.saturating_sub(1);
    Ok(())
}

/// ```text
/// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
///     [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]
/// ```
/// The members within the radius (with the requested extras), or with STORE the number
/// stored.
fn georadius(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    search_write(ctx, ks, args, Kind::Radius { store: true })
}

/// Whether a GEORADIUS or GEORADIUSBYMEMBER may store: one of its words is STORE or
/// STOREDIST (a word in another place, COUNT's for one, makes it fail anyway). Without
/// them it only reads, and runs under the read lock.
fn stores(args: &Args) -> bool {
    args.iter()
        .skip(2)
        .any(|a| is(a, "store") || is(a, "storedist"))
}

/// GEORADIUS without STORE or STOREDIST (see [`stores`]).
fn georadius_no_store(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    run_search(ctx, ks, args, Kind::Radius { store: true }).map(|_| ())
}

/// GEORADIUSBYMEMBER without STORE or STOREDIST (see [`stores`]).
fn georadiusbymember_no_store(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    run_search(ctx, ks, args, Kind::ByMember { store: true }).map(|_| ())
}

/// ```text
/// GEORADIUS_RO key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST]
///     [WITHHASH] [COUNT count [ANY]] [ASC|DESC]
/// ```
fn georadius_ro(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    run_search(ctx, ks, args, Kind::Radius { store: false }).map(|_| ())
}

/// ```text
/// GEORADIUSBYMEMBER key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
///     [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]
/// ```
fn georadiusbymember(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    search_write(ctx, ks, args, Kind::ByMember { store: true })
}

/// ```text
/// GEORADIUSBYMEMBER_RO key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
///     [COUNT count [ANY]] [ASC|DESC]
/// ```
fn georadiusbymember_ro(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    run_search(ctx, ks, args, Kind::ByMember { store: false }).map(|_| ())
}

/// ```text
/// GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude
///     BYRADIUS radius unit|BYBOX width height unit [ASC|DESC] [COUNT count [ANY]]
///     [WITHCOORD] [WITHDIST] [WITHHASH]
/// ```
fn geosearch(ctx: &mut Ctx, ks: &Keyspace, args: &Args) -> CmdResult {
    run_search(ctx, ks, args, Kind::Geosearch).map(|_| ())
}

/// ```text
/// GEOSEARCHSTORE destination source FROMMEMBER member|FROMLONLAT longitude latitude
///     BYRADIUS radius unit|BYBOX width height unit [ASC|DESC] [COUNT count [ANY]]
///     [STOREDIST]
/// ```
/// The number of members stored.
fn geosearchstore(ctx: &mut Ctx, ks: &mut Keyspace, args: &Args) -> CmdResult {
    search_write(ctx, ks, args, Kind::GeosearchStore)
}
