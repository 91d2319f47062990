//! Differential tests for the geo commands (Redis's geo.c): every reply is compared byte
//! for byte with a reference redis-server 7.0, errors included.
//!
//! Covered: GEOADD (NX, XX, CH and their conflicts, bad coordinates), GEODIST (every
//! unit), GEOHASH, GEOPOS, GEORADIUS and GEORADIUSBYMEMBER (with their _RO forms and
//! STORE/STOREDIST), GEOSEARCH and GEOSEARCHSTORE (FROMMEMBER, FROMLONLAT, BYRADIUS,
//! BYBOX, ASC, DESC, COUNT, ANY, WITHCOORD, WITHDIST, WITHHASH, STOREDIST), in RESP2 and
//! RESP3; the cases of Redis's `tests/unit/geo.tcl`; and seeded random searches over
//! points all over the globe (poles, the antimeridian, huge radii and boxes), which are
//! also checked against a brute-force scan of the same points.

mod common;
#[path = "common/steps.rs"]
mod steps;

use common::aof::incr_commands;
use common::diff::{render, run_on, run_script, Cmd, Pair};
use common::{array_elements, Conn, Reference, Server};
use pretty_assertions::assert_eq;
use redlite::util::geohash;
use redlite::util::rand::Rng;

/// Turns generated commands into a script (the strings live for the whole test run).
fn script(cmds: Vec<Vec<String>>) -> Vec<Cmd> {
    cmds.into_iter()
        .map(|c| -> Cmd {
            let words: Vec<&'static str> = c
                .into_iter()
                .map(|w| &*Box::leak(w.into_boxed_str()))
                .collect();
            Box::leak(words.into_boxed_slice())
        })
        .collect()
}

/// Words from a line.
fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// A uniform draw in [0, 1).
fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A random point: mostly anywhere (Web Mercator's full latitude range), sometimes on
/// an edge (a pole's limit, the antimeridian, the equator, the prime meridian).
fn point(rng: &mut Rng) -> (String, String) {
    let lon = match rng.below(20) {
        0 => "180".to_string(),
        1 => "-180".to_string(),
        2 => format!("{}", 179.9 + unit(rng) * 0.1),
        3 => format!("{}", -179.9 - unit(rng) * 0.1),
        4 => "0".to_string(),
        _ => format!("{}", unit(rng) * 360.0 - 180.0),
    };
    let lat = match rng.below(20) {
        0 => "85.05112878".to_string(),
        1 => "-85.05112878".to_string(),
        2 => format!("{}", 84.9 + unit(rng) * 0.15),
        3 => "0".to_string(),
        _ => format!("{}", unit(rng) * 170.1 - 85.05),
    };
    (lon, lat)
}

/// A radius or box side with its unit: usually moderate, sometimes tiny or huge.
fn distance(rng: &mut Rng) -> (String, &'static str) {
    let units = ["m", "km", "ft", "mi", "KM"];
    let u = units[rng.below(units.len() as u64) as usize];
    let v = match rng.below(10) {
        0 => "0".to_string(),
        1 => format!("{}", unit(rng) * 20000.0),
        2 => format!("{}", 5000.0 + unit(rng) * 20000.0),
        _ => format!("{}", unit(rng) * 800.0),
    };
    (v, u)
}

#[test]
fn geoadd_options_and_errors() {
    if !common::reference_available("geoadd_options_and_errors") {
        return;
    }
    run_script(&[
        &["GEOADD", "nyc", "-73.9454966", "40.747533", "lic market"],
        &["GEOADD", "nyc", "-73.9454966", "40.747533", "lic market"],
        &[
            "GEOADD",
            "nyc",
            "CH",
            "40.747533",
            "-73.9454966",
            "lic market",
        ],
        &["GEOPOS", "nyc", "lic market"],
        &[
            "GEOADD",
            "nyc",
            "NX",
            "-73.9454966",
            "40.747533",
            "lic market",
        ],
        &[
            "GEOADD",
            "nyc",
            "XX",
            "-83.9454966",
            "40.747533",
            "lic market",
        ],
        &["GEOADD", "nyc", "XX", "-83.9454966", "40.747533", "new"],
        &[
            "GEOADD",
            "nyc",
            "CH",
            "NX",
            "-73.9454966",
            "40.747533",
            "lic market",
        ],
        &[
            "GEOADD",
            "nyc",
            "CH",
            "XX",
            "-73.9454966",
            "40.747533",
            "lic market",
        ],
        &[
            "GEOADD",
            "nyc",
            "xx",
            "nx",
            "-73.9454966",
            "40.747533",
            "lic market",
        ],
        &[
            "GEOADD",
            "nyc",
            "ch",
            "xx",
            "foo",
            "-73.9454966",
            "40.747533",
            "lic market",
        ],
        &[
            "GEOADD",
            "nyc",
            "-73.9454966",
            "40.747533",
            "lic market",
            "foo",
            "bar",
            "luck market",
        ],
        &["GEOADD", "nyc", "-73.9454966", "40.747533"],
        &["GEOADD", "nyc", "gt", "1", "2", "x"],
        &["GEOADD", "nyc", "ch", "ch", "nx"],
        &["GEOADD", "nyc", "181", "10", "x"],
        &["GEOADD", "nyc", "-180.5", "10", "x"],
        &["GEOADD", "nyc", "10", "85.06", "x"],
        &["GEOADD", "nyc", "10", "-85.051129", "x"],
        &["GEOADD", "nyc", "1e400", "1", "x"],
        &["GEOADD", "nyc", "nan", "1", "x"],
        &["GEOADD", "nyc", "inf", "1", "x"],
        &["GEOADD", "nyc", " 1", "1", "x"],
        &[
            "GEOADD",
            "nyc",
            "180",
            "85.05112878",
            "corner",
            "-180",
            "-85.05112878",
            "corner2",
        ],
        &["GEOADD", "nyc"],
        &["GEOADD", "nyc", "1"],
        &["GEOADD", "nyc", "1", "2", "x", "3"],
        &[
            "GEOADD",
            "nyc",
            "-73.9733487",
            "40.7648057",
            "central park n/q/r",
            "-73.9903085",
            "40.7362513",
            "union square",
            "-74.0131604",
            "40.7126674",
            "wtc one",
            "-73.7858139",
            "40.6428986",
            "jfk",
            "-73.9375699",
            "40.7498929",
            "q4",
            "-73.9564142",
            "40.7480973",
            "4545",
        ],
        &["ZRANGE", "nyc", "0", "-1", "WITHSCORES"],
        &["OBJECT", "ENCODING", "nyc"],
        &["SET", "str", "x"],
        &["GEOADD", "str", "1", "2", "x"],
        &["GEOADD", "str", "1", "200", "x"],
        &["GEOPOS", "str", "x"],
        &["GEOHASH", "str", "x"],
        &["GEODIST", "str", "a", "b"],
        &["GEODIST", "str", "a", "b", "parsec"],
    ]);
}

#[test]
fn lookups() {
    if !common::reference_available("lookups") {
        return;
    }
    run_script(&[
        &[
            "GEOADD",
            "points",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
        &[
            "GEOADD", "points", "-5.6", "42.6", "test", "10", "20", "a", "30", "40", "b",
        ],
        &[
            "GEOHASH", "points", "test", "Palermo", "Catania", "nope", "a", "b",
        ],
        &["GEOHASH", "points"],
        &["GEOHASH", "nokey", "a", "b"],
        &["GEOPOS", "points", "a", "x", "b", "Palermo"],
        &["GEOPOS", "points"],
        &["GEOPOS", "nokey", "a"],
        &["GEODIST", "points", "Palermo", "Catania"],
        &["GEODIST", "points", "Palermo", "Catania", "m"],
        &["GEODIST", "points", "Palermo", "Catania", "km"],
        &["GEODIST", "points", "Palermo", "Catania", "KM"],
        &["GEODIST", "points", "Palermo", "Catania", "ft"],
        &["GEODIST", "points", "Palermo", "Catania", "mi"],
        &["GEODIST", "points", "Palermo", "Catania", "yd"],
        &["GEODIST", "points", "Palermo", "Catania", "km", "extra"],
        &["GEODIST", "points", "Palermo", "Palermo"],
        &["GEODIST", "points", "Palermo", "Agrigento"],
        &["GEODIST", "points", "Ragusa", "Agrigento"],
        &["GEODIST", "empty_key", "Palermo", "Catania"],
        &["GEODIST", "empty_key", "Palermo", "Catania", "yd"],
        &["GEODIST", "points", "a", "b", "mi"],
        &["GEODIST", "points", "test", "b", "km"],
        // Scores that are not geohashes (a sorted set used as a geo set).
        &[
            "ZADD",
            "odd",
            "-1",
            "neg",
            "0",
            "zero",
            "4503599627370496",
            "big",
            "1e300",
            "huge",
            "-inf",
            "ninf",
            "3.7",
            "frac",
        ],
        &[
            "GEOPOS", "odd", "neg", "zero", "big", "huge", "ninf", "frac",
        ],
        &[
            "GEOHASH", "odd", "neg", "zero", "big", "huge", "ninf", "frac",
        ],
        &["GEODIST", "odd", "zero", "big"],
        &["GEODIST", "odd", "neg", "frac", "km"],
        &[
            "GEOSEARCH",
            "odd",
            "FROMLONLAT",
            "0",
            "0",
            "BYRADIUS",
            "20000",
            "km",
            "WITHCOORD",
            "WITHHASH",
        ],
    ]);
}

/// The search cases of Redis's geo.tcl, plus their variants with every extra.
#[test]
fn geo_tcl_searches() {
    if !common::reference_available("geo_tcl_searches") {
        return;
    }
    let nyc: Cmd = &[
        "GEOADD",
        "nyc",
        "-73.9454966",
        "40.747533",
        "lic market",
        "-73.9733487",
        "40.7648057",
        "central park n/q/r",
        "-73.9903085",
        "40.7362513",
        "union square",
        "-74.0131604",
        "40.7126674",
        "wtc one",
        "-73.7858139",
        "40.6428986",
        "jfk",
        "-73.9375699",
        "40.7498929",
        "q4",
        "-73.9564142",
        "40.7480973",
        "4545",
    ];
    let lines = [
        "georadius nyc -73.9798091 40.7598464 3 km asc",
        "geosearch nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc",
        "geosearch nyc fromlonlat -73.9798091 40.7598464 frommember xxx bybox 6 6 km asc",
        "geosearch nyc bybox 3 3 km asc desc withhash withdist withcoord",
        "geosearch nyc fromlonlat -73.9798091 40.7598464 byradius 3 km bybox 3 3 km asc",
        "geosearch nyc fromlonlat -73.9798091 40.7598464 asc desc withhash withdist withcoord",
        "geosearch nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km asc storedist",
        "georadius nyc -73.9798091 40.7598464 3 km withdist asc",
        "geosearch nyc fromlonlat -73.9798091 40.7598464 bybox 6 6 km withdist asc",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT 3",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT 3 ANY",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT 3 ANY ASC",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT 3 ANY DESC",
        "georadius nyc -73.9798091 40.7598464 10 km ANY ASC",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT 0",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT -3",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT x",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT 2 DESC",
        "georadius nyc -73.9798091 40.7598464 10 km COUNT 2 DESC COUNT 3",
        "georadius nyc -73.9798091 40.7598464 10 km withdist withcoord withhash",
        "georadius nyc -73.9798091 40.7598464 10 km WITHHASH desc",
        "georadius_ro nyc -73.9798091 40.7598464 10 km WITHCOORD COUNT 4",
        "georadius_ro nyc -73.9798091 40.7598464 10 km STORE x",
        "georadius_ro nyc -73.9798091 40.7598464 10 km STOREDIST x",
        "georadiusbymember nyc wtc_one 7 km",
        "georadiusbymember nyc 4545 7 km withdist",
        "georadiusbymember nyc 4545 7 mi withcoord withdist desc",
        "georadiusbymember_ro nyc q4 7000 m withhash count 2",
        "georadiusbymember_ro nyc q4 7000 m store x",
        "georadiusbymember nyc nope 7 km",
        "georadiusbymember nokey nope 7 km",
        "georadiusbymember nokey nope 7 km store x",
        "georadiusbymember nokey nope x km",
        "georadiusbymember nokey nope 1 km bad",
        "georadiusbymember nyc q4 x km",
        "georadiusbymember nyc q4 -1 km",
        "georadiusbymember nyc q4 1 lightyears",
        "geosearch nyc frommember q4 bybox 14 14 km",
        "geosearch nyc frommember q4 bybox 14 14 km withcoord withdist withhash desc",
        "geosearch nyc frommember q4 byradius 14 km count 2 any withdist",
        "geosearch nyc frommember q4 byradius 14 km count 2 desc withhash",
        "geosearch nyc frommember nope byradius 14 km",
        "geosearch nyc frommember q4 frommember jfk byradius 14 km",
        "geosearch nyc fromlonlat 1 2 fromlonlat 3 4 byradius 14 km",
        "geosearch nyc fromlonlat 1 200 byradius 14 km",
        "geosearch nyc fromlonlat x 2 byradius 14 km",
        "geosearch nyc fromlonlat 1 2 byradius x km",
        "geosearch nyc fromlonlat 1 2 byradius -1 km",
        "geosearch nyc fromlonlat 1 2 byradius 1 parsec",
        "geosearch nyc fromlonlat 1 2 bybox x 1 km",
        "geosearch nyc fromlonlat 1 2 bybox 1 x km",
        "geosearch nyc fromlonlat 1 2 bybox -1 1 km",
        "geosearch nyc fromlonlat 1 2 bybox 1 -1 km",
        "geosearch nyc fromlonlat 1 2 bybox 1 1 parsec",
        "geosearch nyc fromlonlat 1 2 bybox 1 1",
        "geosearch nyc fromlonlat 1 2 byradius 1",
        "geosearch nyc fromlonlat 1 byradius 1 km",
        "geosearch nyc frommember q4 byradius 1 km store x",
        "geosearch nyc frommember q4 byradius 1 km any",
        "geosearch nokey frommember q4 byradius 1 km",
        "geosearch nokey frommember q4 byradius 1 km withdist",
        "geosearch nokey byradius 1 km",
        "GEOSEARCH nokey frommember x",
        "geosearchstore dst nyc frommember q4 byradius 10 km",
        "zrange dst 0 -1 withscores",
        "geosearchstore dst nyc frommember q4 byradius 10 km storedist count 3 desc",
        "zrange dst 0 -1 withscores",
        "geosearchstore dst nyc frommember q4 byradius 10 km withdist",
        "geosearchstore dst nyc frommember q4 byradius 10 km store x",
        "GeoSearchStore dst nyc byradius 10 km",
        "geosearchstore dst nyc frommember q4",
        "geosearchstore dst nokey frommember q4 byradius 10 km",
        "exists dst",
        "georadius nyc -73.9798091 40.7598464 3 km store dst2",
        "zrange dst2 0 -1 withscores",
        "georadius nyc -73.9798091 40.7598464 3 km storedist dst2 desc count 2",
        "zrange dst2 0 -1 withscores",
        "georadius nyc -73.9798091 40.7598464 3 km store",
        "georadius nyc -73.9798091 40.7598464 3 km store dst2 withdist",
        "georadius nyc -73.9798091 40.7598464 3 km store dst2 withhash",
        "georadius nyc -73.9798091 40.7598464 3 km store dst2 withcoord",
        "georadius nyc 0 0 3 km store dst2",
        "exists dst2",
        "georadiusbymember nyc q4 5 km store dst3 storedist dst4",
        "exists dst3 dst4",
        "zrange dst4 0 -1 withscores",
        "set str x",
        "georadius str 0 0 3 km",
        "georadius str 0 0 3 km store dst2",
        "georadiusbymember str x 3 km",
        "geosearch str frommember x byradius 1 km",
        "geosearchstore dst str frommember x byradius 1 km",
        "geosearchstore str nyc frommember q4 byradius 10 km",
        "type str",
        "georadius nyc 0 0 3 km store str",
        "type str",
    ];
    let mut cmds = vec![nyc.iter().map(|w| w.to_string()).collect()];
    cmds.extend(lines.iter().map(|l| words(l)));
    // "wtc one" has a space: the line form cannot carry it, so it goes in by hand.
    let mut script = script(cmds);
    script.push(&["GEORADIUSBYMEMBER", "nyc", "wtc one", "7", "km", "withdist"]);
    script.push(&[
        "GEOSEARCH",
        "nyc",
        "FROMMEMBER",
        "wtc one",
        "BYBOX",
        "14",
        "14",
        "km",
    ]);
    run_script(&script);
}

/// geo.tcl's edge cases: huge radii, searches near the poles and across the
/// antimeridian, long narrow boxes, box corners, tiny distances.
#[test]
fn geo_tcl_edges() {
    if !common::reference_available("geo_tcl_edges") {
        return;
    }
    let lines = [
        "geoadd users -47.271613776683807 -54.534504198047678 user_000000",
        "GEORADIUS users 0 0 50000 km WITHCOORD",
        "geoadd k1 -0.15307903289794921875 85 n1 0.3515625 85.00019260486917005437 n2",
        "GEORADIUSBYMEMBER k1 n1 4891.94 m",
        "zrem k1 n1 n2",
        "geoadd k1 -4.95211958885192871094 85 n3 11.25 85.0511 n4",
        "GEORADIUSBYMEMBER k1 n3 156544 m",
        "zrem k1 n3 n4",
        "geoadd k1 -45 65.50900022111811438208 n5 90 85.0511 n6",
        "GEORADIUSBYMEMBER k1 n5 5009431 m",
        "del k1",
        "geoadd k1 45 65 n1 -135 85.05 n2",
        "GEORADIUSBYMEMBER k1 n1 5009431 m withdist withcoord",
        "geoadd Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "geoadd Sicily 12.758489 38.788135 edge1 17.241510 38.788135 eage2",
        "georadius Sicily 15 37 200 km asc",
        "geosearch Sicily fromlonlat 15 37 bybox 400 400 km asc",
        "del Sicily",
        "geoadd Sicily 12.75 36.995 test1",
        "geoadd Sicily 12.75 36.50 test2",
        "geoadd Sicily 13.00 36.50 test3",
        "geosearch Sicily fromlonlat 15 37 bybox 400 2 km",
        "geoadd Sicily -1 37.00 test3",
        "geosearch Sicily fromlonlat 15 37 bybox 3000 2 km asc",
        "del Sicily",
        "geoadd Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2 17.250000 35.202000 edge3 12.750000 35.202000 edge4 12.748489955781654 37 edge5 15 38.798135872540925 edge6 17.251510044218346 37 edge7 15 35.201864127459075 edge8 12.692799634687903 38.798135872540925 corner1 12.692799634687903 38.798135872540925 corner2 17.200560937451133 35.201864127459075 corner3 12.799439062548865 35.201864127459075 corner4",
        "geosearch Sicily fromlonlat 15 37 bybox 400 400 km asc withdist",
        "geoadd points 179.5 36 point1",
        "geoadd points -179.5 36 point2",
        "geosearch points fromlonlat 179 37 bybox 400 400 km asc",
        "geosearch points fromlonlat -179 37 bybox 400 400 km asc",
        "geosearch points fromlonlat 180 37 byradius 400 km desc withcoord",
        "geosearch points fromlonlat -180 -85.05112878 byradius 20000 km withdist",
        "del points",
        "geoadd points -122.407107 37.794300 1",
        "geoadd points -122.227336 37.794300 2",
        "GEORADIUS points -122.407107 37.794300 30 mi ASC WITHDIST",
        "geoadd poles 0 85.05112878 n 0 -85.05112878 s 180 85.05112878 ne -180 -85.05112878 sw 90 85 a -90 -85 b",
        "geosearch poles fromlonlat 0 85 byradius 1000 km asc withdist withcoord withhash",
        "geosearch poles fromlonlat 0 -85 bybox 40000 1000 km asc withdist withcoord",
        "geosearch poles fromlonlat 0 0 byradius 0 m",
        "geosearch poles frommember n byradius 0 m withdist",
        "geosearch poles frommember n bybox 0 0 m withdist",
        "geosearch poles frommember ne byradius 100000 km asc",
        "geosearch poles frommember sw bybox 100000 100000 km desc withcoord",
        "georadius poles 0 0 1e308 km",
        "georadius poles 0 0 inf km",
        "geopos poles n s ne sw a b",
        "geohash poles n s ne sw a b",
        "geodist poles n s km",
        "geodist poles ne sw",
    ];
    run_script(&script(lines.iter().map(|l| words(l)).collect()));
}

/// RESP3: coordinates are doubles, missing positions nulls; distances stay strings.
#[test]
fn resp3_replies() {
    if !common::reference_available("resp3_replies") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    ours.cmd(&["HELLO", "3"]);
    theirs.cmd(&["HELLO", "3"]);
    let lines = [
        "geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania -0.0000001 0 z",
        "geopos g Palermo nope Catania z",
        "geopos nokey a",
        "geohash g Palermo nope",
        "geodist g Palermo Catania",
        "geodist g Palermo nope",
        "geodist nokey Palermo nope",
        "georadius g 15 37 200 km withdist withcoord withhash asc",
        "georadius_ro g 15 37 200 km",
        "geosearch g frommember Palermo byradius 500 km withcoord",
        "geosearch g frommember Palermo bybox 500 500 km withcoord withdist count 1",
        "geosearch g fromlonlat 0 0 byradius 1 km withcoord",
        "geosearch nokey fromlonlat 0 0 byradius 1 km",
        "geosearchstore d g frommember Palermo byradius 500 km storedist",
        "zrange d 0 -1 withscores",
    ];
    run_on(
        &script(lines.iter().map(|l| words(l)).collect()),
        &mut ours,
        &mut theirs,
    );
}

/// The members of a search reply (its first element per entry when entries are arrays).
fn members(reply: &[u8]) -> Vec<String> {
    array_elements(reply)
        .iter()
        .map(|e| {
            let e = if e.starts_with(b"*") {
                array_elements(e).swap_remove(0)
            } else {
                e.clone()
            };
            let start = e.iter().position(|&b| b == b'\n').unwrap() + 1;
            String::from_utf8(e[start..e.len() - 2].to_vec()).unwrap()
        })
        .collect()
}

/// Sends `cmd` to both servers and returns both replies, recording a mismatch.
fn both(ours: &mut Conn, theirs: &mut Conn, cmd: &[String], failed: &mut Vec<String>) -> Vec<u8> {
    let words: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let a = ours.cmd(&words);
    let b = theirs.cmd(&words);
    if a != b {
        failed.push(format!(
            "{}\n  ours:   {}\n  theirs: {}",
            cmd.join(" "),
            render(&a),
            render(&b)
        ));
    }
    b
}

/// Seeded random points and searches (Redis's fuzz of GEOSEARCH, on both servers): every
/// reply must agree byte for byte, and an unlimited search must find exactly the points
/// a brute-force scan finds with the same distance function.
#[test]
fn random_searches_agree() {
    if !common::reference_available("random_searches_agree") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let mut rng = Rng::new(0x6e0_2026);
    let mut failed = Vec::new();
    let mut exact_checks = 0;
    for round in 0..6 {
        both(&mut ours, &mut theirs, &words("DEL pts"), &mut failed);
        // Some rounds are small (a listpack), others large (a skiplist).
        let n = if round % 2 == 0 { 100 } else { 3000 };
        let mut stored = Vec::new();
        let mut used = std::collections::HashSet::new();
        for chunk in 0..n / 100 {
            let mut cmd = words("GEOADD pts");
            for i in 0..100 {
                // Distinct coordinates (ties at equal distances are covered in
                // `equal_distances`).
                let (lon, lat) = loop {
                    let (lon, lat) = point(&mut rng);
                    if !used.contains(&(lon.clone(), lat.clone())) {
                        used.insert((lon.clone(), lat.clone()));
                        break (lon, lat);
                    }
                };
                let name = format!("p{}", chunk * 100 + i);
                stored.push((
                    name.clone(),
                    lon.parse::<f64>().unwrap(),
                    lat.parse::<f64>().unwrap(),
                ));
                cmd.extend([lon, lat, name]);
            }
            both(&mut ours, &mut theirs, &cmd, &mut failed);
        }
        for _ in 0..150 {
            let mut cmd;
            let (lon, lat) = point(&mut rng);
            let from_member = rng.below(3) == 0;
            let member = format!("p{}", rng.below(n as u64));
            let by_box = rng.below(2) == 0;
            let (r, u) = distance(&mut rng);
            let (h, _) = distance(&mut rng);
            let style = rng.below(4);
            match style {
                0 => {
                    cmd = if from_member {
                        words(&format!("GEORADIUSBYMEMBER pts {member} {r} {u}"))
                    } else {
                        words(&format!("GEORADIUS pts {lon} {lat} {r} {u}"))
                    };
                }
                _ => {
                    cmd = words("GEOSEARCH pts");
                    if from_member {
                        cmd.extend(words(&format!("FROMMEMBER {member}")));
                    } else {
                        cmd.extend(words(&format!("FROMLONLAT {lon} {lat}")));
                    }
                    if by_box {
                        cmd.extend(words(&format!("BYBOX {r} {h} {u}")));
                    } else {
                        cmd.extend(words(&format!("BYRADIUS {r} {u}")));
                    }
                }
            }
            let plain = cmd.clone();
            for opt in ["WITHDIST", "WITHCOORD", "WITHHASH", "ASC", "DESC"] {
                if rng.below(3) == 0 {
                    cmd.push(opt.to_string());
                }
            }
            if rng.below(3) == 0 {
                cmd.push("COUNT".into());
                cmd.push((1 + rng.below(20)).to_string());
                if rng.below(3) == 0 {
                    cmd.push("ANY".into());
                }
            }
            both(&mut ours, &mut theirs, &cmd, &mut failed);
            // The unlimited search against a brute-force scan.
            let reply = both(&mut ours, &mut theirs, &plain, &mut failed);
            if !reply.starts_with(b"*") {
                continue;
            }
            let mut found = members(&reply);
            found.sort();
            let expected = brute_force(&stored, &mut theirs, &plain);
            // Redis's nine cells may miss points of a large area near a pole (its own
            // fuzz test keeps to latitudes within 70 degrees): there the scan only bounds
            // the result.
            let exact = expected.1;
            let expected: Vec<String> = expected.0;
            let ok = if exact {
                found == expected
            } else {
                found.iter().all(|m| expected.binary_search(m).is_ok())
            };
            exact_checks += usize::from(exact);
            if !ok {
                let extra: Vec<_> = found
                    .iter()
                    .filter(|m| expected.binary_search(m).is_err())
                    .map(|m| stored.iter().find(|s| &s.0 == m))
                    .collect();
                failed.push(format!(
                    "{} finds {found:?}, a scan {expected:?}; extra {extra:?}",
                    plain.join(" ")
                ));
            }
        }
        // Storing forms, then the stored sets.
        for _ in 0..20 {
            let (lon, lat) = point(&mut rng);
            let (r, u) = distance(&mut rng);
            let store = ["STORE", "STOREDIST"][rng.below(2) as usize];
            let cmd = words(&format!(
                "GEORADIUS pts {lon} {lat} {r} {u} {store} dst COUNT 50"
            ));
            both(&mut ours, &mut theirs, &cmd, &mut failed);
            both(
                &mut ours,
                &mut theirs,
                &words("ZRANGE dst 0 -1 WITHSCORES"),
                &mut failed,
            );
            let cmd = words(&format!(
                "GEOSEARCHSTORE dst2 pts FROMLONLAT {lon} {lat} BYBOX {r} {r} {u} STOREDIST"
            ));
            both(&mut ours, &mut theirs, &cmd, &mut failed);
            both(
                &mut ours,
                &mut theirs,
                &words("ZRANGE dst2 0 -1 WITHSCORES"),
                &mut failed,
            );
            both(
                &mut ours,
                &mut theirs,
                &words("OBJECT ENCODING dst2"),
                &mut failed,
            );
        }
        let mut probe = words("GEOPOS pts");
        probe.extend((0..20).map(|_| format!("p{}", rng.below(n as u64))));
        both(&mut ours, &mut theirs, &probe, &mut failed);
        probe[0] = "GEOHASH".into();
        both(&mut ours, &mut theirs, &probe, &mut failed);
        for _ in 0..20 {
            let (a, b) = (rng.below(n as u64), rng.below(n as u64));
            let u = ["m", "km", "ft", "mi"][rng.below(4) as usize];
            both(
                &mut ours,
                &mut theirs,
                &words(&format!("GEODIST pts p{a} p{b} {u}")),
                &mut failed,
            );
        }
    }
    assert_eq!(failed, Vec::<String>::new());
    assert!(
        exact_checks > 100,
        "only {exact_checks} searches were checked exactly"
    );
}

/// The members a search must find, by scanning every stored point with Redis's distance
/// function (the center read from the reference server when it is a member), and
/// whether the search must find exactly those: a center within 70 degrees of the
/// equator, not at longitude 180, and an area of at most 5000 km across.
fn brute_force(
    stored: &[(String, f64, f64)],
    theirs: &mut Conn,
    cmd: &[String],
) -> (Vec<String>, bool) {
    let up: Vec<String> = cmd.iter().map(|w| w.to_ascii_uppercase()).collect();
    let conv = |u: &str| match u {
        "M" => 1.0,
        "KM" => 1000.0,
        "FT" => 0.3048,
        _ => 1609.34,
    };
    let position = |theirs: &mut Conn, member: &str| {
        let reply = theirs.cmd(&["ZSCORE", "pts", member]);
        let text = String::from_utf8(reply).unwrap();
        let score: f64 = text.lines().nth(1).unwrap().parse().unwrap();
        geohash::decode_score(score).unwrap()
    };
    let (center, shape_at) = match up[0].as_str() {
        "GEORADIUS" => ((cmd[2].parse().unwrap(), cmd[3].parse().unwrap()), 4),
        "GEORADIUSBYMEMBER" => (position(theirs, &cmd[2]), 3),
        _ if up[2] == "FROMMEMBER" => (position(theirs, &cmd[3]), 4),
        _ => ((cmd[3].parse().unwrap(), cmd[4].parse().unwrap()), 5),
    };
    let (clon, clat): (f64, f64) = center;
    let kind = if up[0].starts_with("GEORADIUS") || up[shape_at] == "BYRADIUS" {
        let at = if up[0].starts_with("GEORADIUS") {
            shape_at
        } else {
            shape_at + 1
        };
        geohash::ShapeKind::Circle {
            radius: cmd[at].parse().unwrap(),
        }
    } else {
        geohash::ShapeKind::Box {
            width: cmd[shape_at + 1].parse().unwrap(),
            height: cmd[shape_at + 2].parse().unwrap(),
        }
    };
    let conversion = conv(up.last().unwrap());
    let shape = geohash::Shape {
        lon: clon,
        lat: clat,
        kind,
        conversion,
    };
    let mut out: Vec<String> = stored
        .iter()
        .filter(|(_, lon, lat)| {
            let (dlon, dlat) = geohash::decode_score(geohash::score_of(*lon, *lat) as f64).unwrap();
            shape.distance_if_within(dlon, dlat).is_some()
        })
        .map(|(name, ..)| name.clone())
        .collect();
    out.sort();
    out.dedup();
    let extent = match kind {
        geohash::ShapeKind::Circle { radius } => radius * 2.0,
        geohash::ShapeKind::Box { width, height } => width.max(height),
    } * conversion;
    // A point at longitude 180 has a score past every cell (found only from a center at
    // 180, whose own cell is the same overflowed one, and whose neighbours are off).
    let exact = clat.abs() <= 70.0 && extent <= 5_000_000.0 && clon != 180.0;
    if exact {
        out.retain(|name| stored.iter().any(|(n, lon, _)| n == name && *lon != 180.0));
    }
    (out, exact)
}

/// Points at the same place (equal distances): the order Redis lists them in comes from
/// its sorts (glibc's stable merge sort, or its partial quicksort with COUNT).
#[test]
fn equal_distances() {
    if !common::reference_available("equal_distances") {
        return;
    }
    let mut cmds = Vec::new();
    for n in [5usize, 7, 8, 41, 120] {
        cmds.push(words("DEL same"));
        let mut add = words("GEOADD same");
        for i in 0..n {
            // Groups of points at a few places, interleaved.
            let at = [
                (10.0, 20.0),
                (10.001, 20.0),
                (10.0, 20.001),
                (9.999, 19.999),
            ][i % 4];
            add.extend([at.0.to_string(), at.1.to_string(), format!("m{i}")]);
        }
        cmds.push(add);
        for count in [1, 2, 3, 6, 7, 40, 100] {
            for order in ["ASC", "DESC"] {
                cmds.push(words(&format!(
                    "GEOSEARCH same FROMLONLAT 10 20 BYRADIUS 10 km {order} COUNT {count}"
                )));
            }
            cmds.push(words(&format!(
                "GEORADIUS same 10 20 10 km COUNT {count} WITHDIST"
            )));
            cmds.push(words(&format!(
                "GEORADIUS same 10 20 10 km COUNT {count} ANY"
            )));
        }
        cmds.push(words("GEOSEARCH same FROMLONLAT 10 20 BYRADIUS 10 km ASC"));
        cmds.push(words("GEOSEARCH same FROMLONLAT 10 20 BYRADIUS 10 km DESC"));
        cmds.push(words("GEOSEARCH same FROMLONLAT 10 20 BYRADIUS 10 km"));
    }
    run_script(&script(cmds));
}

/// COMMAND INFO's name, arity, flags, key positions and ACL categories, and COMMAND
/// DOCS's summary, since and group, for the geo and sharded pub/sub commands (tips and
/// key specs are not served by redlite's COMMAND INFO).
#[test]
fn command_info_matches() {
    if !common::reference_available("command_info_matches") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let names = [
        "geoadd",
        "geodist",
        "geohash",
        "geopos",
        "georadius",
        "georadius_ro",
        "georadiusbymember",
        "georadiusbymember_ro",
        "geosearch",
        "geosearchstore",
        "ssubscribe",
        "sunsubscribe",
        "spublish",
    ];
    for name in names {
        let head = |conn: &mut Conn| -> Vec<String> {
            let reply = conn.cmd(&["COMMAND", "INFO", name]);
            let entry = &array_elements(&reply)[0];
            array_elements(entry)
                .iter()
                .take(7)
                .map(|e| render(e))
                .collect()
        };
        assert_eq!(head(&mut ours), head(&mut theirs), "{name}");
        let summary = |conn: &mut Conn| -> String {
            let reply = conn.cmd(&["COMMAND", "DOCS", name]);
            let doc = &array_elements(&reply)[1];
            render(&array_elements(doc)[..6].concat())
        };
        assert_eq!(summary(&mut ours), summary(&mut theirs), "{name}");
    }
}

/// What the geo commands propagate, read back from both servers' AOF: GEOADD as the
/// ZADD it ran (inside MULTI and scripts too), the storing searches as themselves, and
/// nothing for a search that stores nothing new or only reads.
#[test]
fn propagation_matches_the_aof() {
    if !common::reference_available("propagation_matches_the_aof") {
        return;
    }
    let aof = ["--appendonly", "yes", "--appendfsync", "always"];
    let ours_server = Server::start(&aof);
    let theirs_server =
        Reference::start_with(&[&aof[..], &["--aof-use-rdb-preamble", "no"]].concat());
    let (mut ours, mut theirs) = (ours_server.conn(), theirs_server.conn());
    let lines = [
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "GEOADD g NX CH 1 2 a 13.361389 38.115556 Palermo",
        "GEOADD g XX 1 2 nosuch",
        "GEOADD g 200 2 bad",
        "GEORADIUS g 15 37 200 km",
        "GEORADIUS g 15 37 200 km STORE dst",
        "GEORADIUSBYMEMBER g Palermo 500 km STOREDIST dst2 COUNT 1",
        "GEOSEARCHSTORE dst3 g FROMMEMBER Catania BYBOX 400 400 km STOREDIST",
        "GEOSEARCHSTORE dst3 g FROMLONLAT 0 0 BYRADIUS 1 m",
        "GEOSEARCHSTORE dst3 g FROMLONLAT 0 0 BYRADIUS 1 m",
        "GEORADIUS nokey 0 0 1 km STORE dst",
        "GEOSEARCH g FROMMEMBER a BYRADIUS 1 km",
        "MULTI",
        "GEOADD g 5 6 b",
        "GEOSEARCHSTORE dst4 g FROMLONLAT 5 6 BYRADIUS 10 km",
        "EXEC",
        "SPUBLISH ch x",
    ];
    let mut cmds = script(lines.iter().map(|l| words(l)).collect());
    cmds.push(&[
        "EVAL",
        "redis.call('geoadd', KEYS[1], 7, 8, 'c') return redis.call('georadius', KEYS[1], 7, 8, 1, 'km', 'store', 'dst5')",
        "1",
        "g",
    ]);
    run_on(&cmds, &mut ours, &mut theirs);
    let ours_stream = incr_commands(ours_server.dir.as_ref().expect("a dir").path());
    let theirs_stream = incr_commands(&theirs_server.path);
    assert_eq!(ours_stream, theirs_stream);
    assert!(ours_stream
        .iter()
        .any(|c| c[0].eq_ignore_ascii_case("zadd")));
}

/// Keyspace events of the searches: a source met expired fires `expired` (under the read
/// lock for GEORADIUS without STORE as for GEOSEARCH), the storing forms fire
/// `georadiusstore` / `geosearchstore`, or `del` when they store nothing over a key.
#[test]
fn search_events() {
    if !common::reference_available("search_events") {
        return;
    }
    steps::run_steps(&[
        (0, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
        (1, &["PSUBSCRIBE", "__key*__:*"]),
        (0, &["GEOADD", "g", "1", "2", "a", "1.001", "2", "b"]),
        (1, &["#reads", "2"]),
        (0, &["GEORADIUS", "g", "1", "2", "10", "km", "STORE", "d"]),
        (1, &["#reads", "2"]),
        (
            0,
            &[
                "GEOSEARCHSTORE",
                "d2",
                "g",
                "FROMMEMBER",
                "a",
                "BYRADIUS",
                "1",
                "m",
                "STOREDIST",
            ],
        ),
        (1, &["#reads", "2"]),
        (
            0,
            &[
                "GEOSEARCHSTORE",
                "d2",
                "g",
                "FROMLONLAT",
                "50",
                "50",
                "BYRADIUS",
                "1",
                "m",
            ],
        ),
        (1, &["#reads", "2"]),
        (0, &["PEXPIRE", "g", "1"]),
        (1, &["#reads", "2"]),
        (0, &["#pause", "20"]),
        (0, &["GEORADIUS", "g", "1", "2", "10", "km"]),
        (1, &["#reads", "2"]),
        (0, &["GEOADD", "g", "1", "2", "a"]),
        (1, &["#reads", "2"]),
        (0, &["PEXPIRE", "g", "1"]),
        (1, &["#reads", "2"]),
        (0, &["#pause", "20"]),
        (
            0,
            &["GEORADIUSBYMEMBER", "g", "a", "10", "km", "STORE", "d"],
        ),
        (1, &["#reads", "4"]),
        (0, &["EXISTS", "d", "d2"]),
        (0, &["PING"]),
    ]);
}
