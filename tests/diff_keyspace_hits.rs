//! Differential test of INFO's `keyspace_hits` and `keyspace_misses` and of the
//! `keymiss` keyspace event: every command of every family that looks a key up, run on
//! a redlite and a reference redis-server 7.0 side by side, on a key that is there, one
//! that is missing, one of the wrong type and one that has expired (active expiry is off
//! on both, so the lookup meets it). After each command the two counters and the
//! keyspace events a subscriber saw (every class, `keymiss` included, so that a miss's
//! event is checked against the `expired` and `del` events around it) must be the same
//! on both.
//!
//! Redis's rule, which this checks command by command: `lookupKeyRead` counts a hit or a
//! miss (an expired key is a miss) and fires `keymiss` on a miss, `lookupKeyWrite`
//! counts nothing; multi-key commands count once per key they look up, in their order,
//! up to the first key of the wrong type. Reads in MULTI/EXEC and in scripts count too.
//!
//! Replies are compared as `common::diff::agree` does, except for the commands whose
//! reply is random or carries a clock (see [`LOOSE`]), where only the kind of reply is.

mod common;

use common::diff::{agree, render, render_cmd, Pair};
use common::events::EventListener;
use common::{Conn, Reference, Server};
use pretty_assertions::assert_eq;

/// The key every template names as `{k}`; replaced by a key of its type that is there,
/// a missing key, a key of another type and an expired key of its type.
const K: &str = "{k}";

/// The commands whose replies are random or depend on the clock: only the kind of reply
/// (its first byte) is compared.
const LOOSE: &[&str] = &[
    "srandmember",
    "spop",
    "zrandmember",
    "hrandfield",
    "randomkey",
    "xinfo",
    "xpending",
    "xclaim",
    "xautoclaim",
    "object",
    "scan",
];

/// The commands that make a key of each type the templates use.
fn create(ty: &str, key: &str) -> Vec<Vec<String>> {
    let cmds: &[&str] = match ty {
        "string" => &["SET {k} 12"],
        "hll" => &["PFADD {k} a b c"],
        "list" => &["RPUSH {k} a b c a"],
        "hash" => &["HSET {k} f v n 12"],
        "set" => &["SADD {k} 1 2 3"],
        "zset" => &["ZADD {k} 1 a 2 b 3 c"],
        "geo" => &["GEOADD {k} 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"],
        "stream" => &[
            "XADD {k} 1-1 f v",
            "XADD {k} 2-1 f w",
            "XGROUP CREATE {k} g 0",
            "XREADGROUP GROUP g c COUNT 1 STREAMS {k} >",
        ],
        _ => panic!("no such type {ty}"),
    };
    cmds.iter().map(|c| words(c, key)).collect()
}

/// A template's words, `{k}` replaced by `key`.
fn words(template: &str, key: &str) -> Vec<String> {
    template
        .split(' ')
        .map(|w| {
            if w == K {
                key.to_string()
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// Every command that looks a key up, by the type of the key it is given as `{k}`.
const TEMPLATES: &[(&str, &str)] = &[
    // Strings.
    ("string", "GET {k}"),
    ("string", "GETDEL {k}"),
    ("string", "GETEX {k}"),
    ("string", "GETEX {k} PX 100000"),
    ("string", "GETEX {k} PERSIST"),
    ("string", "GETEX {k} EX 0"),
    ("string", "GETSET {k} v"),
    ("string", "SET {k} v GET"),
    ("string", "SET {k} v"),
    ("string", "SET {k} v NX"),
    ("string", "SET {k} v XX"),
    ("string", "SETNX {k} v"),
    ("string", "SETEX {k} 100 v"),
    ("string", "PSETEX {k} 100000 v"),
    ("string", "MGET {k} nosuch {k}"),
    ("string", "MSET {k} v dst w"),
    ("string", "MSETNX {k} v dst w"),
    ("string", "INCR {k}"),
    ("string", "DECR {k}"),
    ("string", "INCRBY {k} 2"),
    ("string", "DECRBY {k} 2"),
    ("string", "INCRBYFLOAT {k} 1.5"),
    ("string", "APPEND {k} x"),
    ("string", "STRLEN {k}"),
    ("string", "GETRANGE {k} 0 -1"),
    ("string", "SUBSTR {k} 0 1"),
    ("string", "SETRANGE {k} 1 x"),
    ("string", "LCS {k} {k}"),
    ("string", "LCS {k} nosuch"),
    ("string", "LCS nosuch {k}"),
    ("string", "LCS {k} {k} IDX"),
    // Bitmaps.
    ("string", "SETBIT {k} 3 1"),
    ("string", "GETBIT {k} 3"),
    ("string", "BITCOUNT {k}"),
    ("string", "BITCOUNT {k} 0 -1 BIT"),
    ("string", "BITPOS {k} 1"),
    ("string", "BITPOS {k} 0 0 -1"),
    ("string", "BITOP AND dst {k} nosuch {k}"),
    ("string", "BITOP OR dst nosuch {k}"),
    ("string", "BITOP NOT dst {k}"),
    ("string", "BITFIELD {k} GET u8 0"),
    ("string", "BITFIELD {k} SET u8 0 1"),
    ("string", "BITFIELD {k} INCRBY u8 0 1 GET u8 0"),
    ("string", "BITFIELD {k}"),
    ("string", "BITFIELD_RO {k} GET u8 0"),
    ("string", "BITFIELD_RO {k}"),
    // HyperLogLog.
    ("hll", "PFADD {k} x"),
    ("hll", "PFADD {k}"),
    ("hll", "PFCOUNT {k}"),
    ("hll", "PFCOUNT {k} nosuch {k}"),
    ("hll", "PFMERGE dst {k} nosuch"),
    ("hll", "PFMERGE {k} nosuch"),
    ("hll", "PFDEBUG ENCODING {k}"),
    // Lists.
    ("list", "LLEN {k}"),
    ("list", "LINDEX {k} 0"),
    ("list", "LINDEX {k} 9"),
    ("list", "LRANGE {k} 0 -1"),
    ("list", "LPOS {k} a"),
    ("list", "LPOS {k} a RANK -1 COUNT 0"),
    ("list", "LPOS {k} a RANK 0"),
    ("list", "LPUSH {k} x"),
    ("list", "RPUSH {k} x"),
    ("list", "LPUSHX {k} x"),
    ("list", "RPUSHX {k} x"),
    ("list", "LPOP {k}"),
    ("list", "RPOP {k} 2"),
    ("list", "LPOP {k} 0"),
    ("list", "LSET {k} 0 x"),
    ("list", "LREM {k} 0 a"),
    ("list", "LTRIM {k} 0 1"),
    ("list", "LINSERT {k} BEFORE a x"),
    ("list", "LMOVE {k} dst LEFT RIGHT"),
    ("list", "LMOVE {k} {k} LEFT RIGHT"),
    ("list", "RPOPLPUSH {k} dst"),
    ("list", "LMPOP 2 nosuch {k} LEFT"),
    ("list", "LMPOP 1 {k} RIGHT COUNT 2"),
    ("list", "BLPOP nosuch {k} 0.01"),
    ("list", "BRPOP {k} 0.01"),
    ("list", "BLMOVE {k} dst RIGHT LEFT 0.01"),
    ("list", "BRPOPLPUSH {k} dst 0.01"),
    ("list", "BLMPOP 0.01 2 nosuch {k} LEFT"),
    ("list", "SORT {k} ALPHA"),
    ("list", "SORT_RO {k} ALPHA"),
    ("list", "SORT {k} ALPHA STORE dst"),
    // Hashes.
    ("hash", "HGET {k} f"),
    ("hash", "HGET {k} nof"),
    ("hash", "HMGET {k} f nof"),
    ("hash", "HEXISTS {k} f"),
    ("hash", "HLEN {k}"),
    ("hash", "HSTRLEN {k} f"),
    ("hash", "HKEYS {k}"),
    ("hash", "HVALS {k}"),
    ("hash", "HGETALL {k}"),
    ("hash", "HRANDFIELD {k}"),
    ("hash", "HRANDFIELD {k} 2"),
    ("hash", "HRANDFIELD {k} -3 WITHVALUES"),
    ("hash", "HRANDFIELD {k} 0"),
    ("hash", "HSCAN {k} 0"),
    ("hash", "HSET {k} f w"),
    ("hash", "HSETNX {k} f w"),
    ("hash", "HMSET {k} f w"),
    ("hash", "HDEL {k} f"),
    ("hash", "HINCRBY {k} n 1"),
    ("hash", "HINCRBYFLOAT {k} n 1.5"),
    // Sets.
    ("set", "SISMEMBER {k} 1"),
    ("set", "SMISMEMBER {k} 1 9"),
    ("set", "SCARD {k}"),
    ("set", "SMEMBERS {k}"),
    ("set", "SRANDMEMBER {k}"),
    ("set", "SRANDMEMBER {k} 2"),
    ("set", "SRANDMEMBER {k} -5"),
    ("set", "SRANDMEMBER {k} 0"),
    ("set", "SPOP {k}"),
    ("set", "SPOP {k} 2"),
    ("set", "SPOP {k} 0"),
    ("set", "SINTER {k} nosuch {k}"),
    ("set", "SINTER {k} {k}"),
    ("set", "SINTERCARD 2 {k} nosuch"),
    ("set", "SINTERCARD 2 {k} {k} LIMIT 1"),
    ("set", "SINTERSTORE dst {k} nosuch"),
    ("set", "SINTERSTORE dst {k}"),
    ("set", "SUNION nosuch {k}"),
    ("set", "SUNIONSTORE dst {k} {k}"),
    ("set", "SDIFF {k} nosuch {k}"),
    ("set", "SDIFFSTORE dst {k} nosuch"),
    ("set", "SSCAN {k} 0"),
    ("set", "SADD {k} 4"),
    ("set", "SREM {k} 1"),
    ("set", "SMOVE {k} dst 1"),
    ("set", "SMOVE {k} {k} 1"),
    ("set", "SORT {k}"),
    ("set", "SORT {k} BY nosort"),
    ("set", "SORT_RO {k} DESC LIMIT 0 2"),
    ("set", "ZUNION 2 {k} {k}"),
    // Sorted sets.
    ("zset", "ZSCORE {k} a"),
    ("zset", "ZMSCORE {k} a nom"),
    ("zset", "ZCARD {k}"),
    ("zset", "ZCOUNT {k} -inf +inf"),
    ("zset", "ZCOUNT {k} x 1"),
    ("zset", "ZLEXCOUNT {k} - +"),
    ("zset", "ZRANK {k} b"),
    ("zset", "ZREVRANK {k} b"),
    ("zset", "ZRANGE {k} 0 -1 WITHSCORES"),
    ("zset", "ZRANGE {k} (1 +inf BYSCORE LIMIT 0 1"),
    ("zset", "ZRANGE {k} [a + BYLEX"),
    ("zset", "ZRANGE {k} 0 -1 REV"),
    ("zset", "ZRANGEBYSCORE {k} -inf +inf"),
    ("zset", "ZREVRANGEBYSCORE {k} +inf -inf"),
    ("zset", "ZRANGEBYLEX {k} - +"),
    ("zset", "ZREVRANGEBYLEX {k} + -"),
    ("zset", "ZREVRANGE {k} 0 1"),
    ("zset", "ZRANGESTORE dst {k} 0 -1"),
    ("zset", "ZRANDMEMBER {k}"),
    ("zset", "ZRANDMEMBER {k} 2 WITHSCORES"),
    ("zset", "ZRANDMEMBER {k} -4"),
    ("zset", "ZSCAN {k} 0"),
    ("zset", "ZUNION 3 {k} nosuch {k}"),
    ("zset", "ZUNION 2 {k} {k} WITHSCORES"),
    ("zset", "ZINTER 2 {k} nosuch"),
    ("zset", "ZDIFF 2 {k} nosuch"),
    ("zset", "ZDIFF 2 nosuch {k}"),
    ("zset", "ZUNIONSTORE dst 2 {k} nosuch"),
    ("zset", "ZINTERSTORE dst 2 {k} {k}"),
    ("zset", "ZDIFFSTORE dst 2 {k} nosuch"),
    ("zset", "ZINTERCARD 2 {k} nosuch"),
    ("zset", "ZINTERCARD 2 {k} {k} LIMIT 1"),
    ("zset", "ZADD {k} 4 d"),
    ("zset", "ZINCRBY {k} 1 a"),
    ("zset", "ZREM {k} a"),
    ("zset", "ZREMRANGEBYRANK {k} 0 0"),
    ("zset", "ZREMRANGEBYSCORE {k} 1 1"),
    ("zset", "ZREMRANGEBYLEX {k} - [a"),
    ("zset", "ZPOPMIN {k}"),
    ("zset", "ZPOPMAX {k} 2"),
    ("zset", "ZMPOP 2 nosuch {k} MIN"),
    ("zset", "BZPOPMIN nosuch {k} 0.01"),
    ("zset", "BZPOPMAX {k} 0.01"),
    ("zset", "BZMPOP 0.01 1 {k} MAX COUNT 2"),
    ("zset", "SORT {k}"),
    ("zset", "SORT {k} BY nosort"),
    // Geo.
    ("geo", "GEOPOS {k} Palermo nom"),
    ("geo", "GEODIST {k} Palermo Catania"),
    ("geo", "GEOHASH {k} Palermo"),
    ("geo", "GEORADIUS {k} 15 37 200 km"),
    ("geo", "GEORADIUS_RO {k} 15 37 200 km WITHDIST"),
    ("geo", "GEORADIUS {k} 15 37 200 km STORE dst"),
    ("geo", "GEORADIUSBYMEMBER {k} Palermo 200 km"),
    ("geo", "GEORADIUSBYMEMBER_RO {k} Palermo 200 km"),
    ("geo", "GEORADIUSBYMEMBER {k} nom 200 km"),
    ("geo", "GEOSEARCH {k} FROMLONLAT 15 37 BYRADIUS 200 km ASC"),
    ("geo", "GEOSEARCH {k} FROMMEMBER Palermo BYBOX 400 400 km"),
    (
        "geo",
        "GEOSEARCHSTORE dst {k} FROMLONLAT 15 37 BYRADIUS 200 km",
    ),
    (
        "geo",
        "GEOSEARCHSTORE dst {k} FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST",
    ),
    ("geo", "GEOADD {k} 13 38 x"),
    // Streams.
    ("stream", "XLEN {k}"),
    ("stream", "XRANGE {k} - +"),
    ("stream", "XREVRANGE {k} + - COUNT 1"),
    ("stream", "XREAD STREAMS {k} nosuch 0 0"),
    ("stream", "XREAD COUNT 1 STREAMS {k} 0"),
    ("stream", "XREAD BLOCK 10 STREAMS {k} $"),
    ("stream", "XREADGROUP GROUP g c STREAMS {k} >"),
    ("stream", "XREADGROUP GROUP g c STREAMS {k} 0"),
    ("stream", "XINFO STREAM {k}"),
    ("stream", "XINFO STREAM {k} FULL"),
    ("stream", "XINFO GROUPS {k}"),
    ("stream", "XINFO CONSUMERS {k} g"),
    ("stream", "XPENDING {k} g"),
    ("stream", "XPENDING {k} g - + 10"),
    ("stream", "XCLAIM {k} g c2 0 1-1"),
    ("stream", "XAUTOCLAIM {k} g c2 0 0"),
    ("stream", "XACK {k} g 1-1"),
    ("stream", "XDEL {k} 1-1"),
    ("stream", "XTRIM {k} MAXLEN 1"),
    ("stream", "XADD {k} 3-1 f v"),
    ("stream", "XADD {k} NOMKSTREAM 3-1 f v"),
    ("stream", "XGROUP CREATE {k} g2 0"),
    ("stream", "XGROUP SETID {k} g 0"),
    ("stream", "XGROUP CREATECONSUMER {k} g c3"),
    ("stream", "XGROUP DELCONSUMER {k} g c"),
    ("stream", "XGROUP DESTROY {k} g"),
    ("stream", "XSETID {k} 5-0"),
    // Keys.
    ("string", "EXISTS {k} nosuch {k}"),
    ("string", "TYPE {k}"),
    ("string", "TTL {k}"),
    ("string", "PTTL {k}"),
    ("string", "EXPIRETIME {k}"),
    ("string", "PEXPIRETIME {k}"),
    ("string", "OBJECT ENCODING {k}"),
    ("string", "OBJECT FREQ {k}"),
    ("string", "OBJECT REFCOUNT {k}"),
    ("string", "TOUCH {k} nosuch"),
    ("string", "DUMP {k}"),
    ("string", "COPY {k} dst REPLACE"),
    ("string", "RENAME {k} dst"),
    ("string", "RENAMENX {k} dst"),
    ("string", "MOVE {k} 1"),
    ("string", "DEL {k}"),
    ("string", "UNLINK {k}"),
    ("string", "EXPIRE {k} 100"),
    ("string", "PEXPIRE {k} 100000 NX"),
    ("string", "EXPIREAT {k} 1"),
    ("string", "PERSIST {k}"),
    ("string", "RESTORE {k} 0 junk"),
    ("string", "SORT {k}"),
    ("string", "MIGRATE 127.0.0.1 1 {k} 0 100"),
    (
        "string",
        "MIGRATE 127.0.0.1 1 \"\" 0 100 KEYS {k} nosuch {k}",
    ),
    (
        "list",
        "EVAL return(redis.call('lrange',KEYS[1],0,-1)) 1 {k}",
    ),
    ("set", "EVAL return(redis.pcall('scard',KEYS[1])) 1 {k}"),
    (
        "zset",
        "EVAL_RO return(redis.pcall('zscore',KEYS[1],'a')) 1 {k}",
    ),
    ("hash", "EVAL return(redis.pcall('hget',KEYS[1],'f')) 1 {k}"),
    (
        "geo",
        "EVAL return(redis.pcall('georadius',KEYS[1],15,37,200,'km')) 1 {k}",
    ),
    (
        "set",
        "EVAL return(redis.pcall('sort',KEYS[1],'by','w_*')) 1 {k}",
    ),
    // Arguments refused: before the lookup (nothing counted) or after it, as Redis.
    ("list", "LRANGE {k} a b"),
    ("list", "LINDEX {k} x"),
    ("list", "LPOS {k} a MAXLEN -1"),
    ("string", "GETRANGE {k} a b"),
    ("string", "GETEX {k} EX -1"),
    ("string", "GETBIT {k} -1"),
    ("string", "BITCOUNT {k} 0"),
    ("string", "BITPOS {k} 2"),
    ("string", "LCS {k} {k} MINMATCHLEN x"),
    ("hash", "HRANDFIELD {k} x"),
    ("hash", "HSCAN {k} 0 COUNT x"),
    ("set", "SRANDMEMBER {k} x"),
    ("set", "SSCAN {k} x"),
    ("set", "SINTERCARD 2 {k} {k} LIMIT -1"),
    ("zset", "ZRANGE {k} a b"),
    ("zset", "ZRANGE {k} 0 -1 BYLEX"),
    ("zset", "ZRANGEBYSCORE {k} x y"),
    ("zset", "ZRANGEBYLEX {k} a b"),
    ("zset", "ZRANGESTORE dst {k} a b"),
    ("zset", "ZRANDMEMBER {k} x"),
    ("zset", "ZSCAN {k} 0 COUNT 0"),
    ("zset", "ZINTERCARD 2 {k} {k} LIMIT x"),
    ("zset", "ZUNION 2 {k} {k} WEIGHTS x"),
    ("zset", "ZUNION 2 {k} {k} AGGREGATE x"),
    ("zset", "ZUNIONSTORE dst 2 {k} nosuch WEIGHTS 1"),
    ("geo", "GEOSEARCH {k} FROMLONLAT 15 37 BYRADIUS -1 km"),
    ("geo", "GEORADIUS {k} 200 37 1 km"),
    ("geo", "GEODIST {k} Palermo Catania xx"),
    ("geo", "GEOSEARCH {k} FROMMEMBER nom BYRADIUS 1 km"),
    ("stream", "XRANGE {k} x +"),
    ("stream", "XREAD COUNT x STREAMS {k} 0"),
    ("stream", "XPENDING {k} g x + 10"),
    ("list", "SORT {k} LIMIT x 1"),
    ("list", "SORT {k} BY w_* GET"),
    ("string", "OBJECT FOO {k}"),
];

/// Steps written out: SORT's BY and GET patterns, MULTI/EXEC, and the commands that look
/// no key up. `#pause` (30 ms) lets keys set with `PX 1` expire.
const STEPS: &[&str] = &[
    "FLUSHALL",
    "RPUSH sl 3 1 2",
    "SADD ss 1 2 3",
    "ZADD sz 1 3 2 1 3 2",
    "SET w_1 10",
    "SET w_2 5",
    "HSET h_1 f a",
    "RPUSH h_2 f",
    "SET w_3 7 PX 1",
    "SET h_3 7 PX 1",
    "#pause",
    "SORT sl BY w_* GET # GET w_* GET h_*->f",
    "SORT sl BY h_*->f",
    "SORT sl BY nosort GET w_*",
    "SORT sl BY w GET w_*",
    "SORT_RO sl BY w_* GET w_*",
    "SORT sl BY w_* STORE dst",
    "SORT sl GET #",
    "SORT ss BY w_* GET w_* GET #",
    "SORT sz BY nosort GET h_*->f",
    "SORT nosuch BY w_* GET w_*",
    "SORT sl BY w_* LIMIT 0 1 GET w_*",
    "SET w_1 10 PX 1",
    "#pause",
    "SORT sl BY w_* GET w_*",
    "MULTI",
    "GET w_2",
    "SMEMBERS ss",
    "ZSCORE nosuch a",
    "SORT sl GET w_*",
    "LLEN sl",
    "EXEC",
    "SET gone v PX 1",
    "#pause",
    "MULTI",
    "SCARD gone",
    "EXEC",
    "GEOADD gz 13.361389 38.115556 Palermo",
    "MULTI",
    "GEORADIUS gz 15 37 200 km",
    "GEORADIUSBYMEMBER nosuch Palermo 1 km",
    "ZUNION 2 sz nosuch",
    "SINTERCARD 2 ss nosuch",
    "SDIFF ss nosuch",
    "ZRANGESTORE dst sz 0 -1",
    "SORT ss BY w_* GET h_*->f",
    "MIGRATE 127.0.0.1 1 \"\" 0 100 KEYS nosuch",
    "EXEC",
    "KEYS *",
    "RANDOMKEY",
    "DBSIZE",
    "SCAN 0 COUNT 100",
    "WATCH nosuch sl",
    "UNWATCH",
    "PUBLISH nosuch x",
];

/// One server under test, with the subscriber that collects its keyspace events.
struct Side {
    conn: Conn,
    events: EventListener,
    /// The counters after the last step.
    last: [u64; 2],
}

impl Side {
    fn new(mut conn: Conn, listener: Conn) -> Side {
        assert_eq!(conn.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
        let events = EventListener::start(&mut conn, listener, "KEAm", true);
        let mut side = Side {
            conn,
            events,
            last: [0, 0],
        };
        side.last = side.stats();
        side
    }

    /// INFO's `keyspace_hits` and `keyspace_misses`.
    fn stats(&mut self) -> [u64; 2] {
        let info = String::from_utf8_lossy(&self.conn.cmd(&["INFO", "stats"])).into_owned();
        ["keyspace_hits:", "keyspace_misses:"].map(|field| {
            info.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {field} in {info}"))
        })
    }

    /// The hits and misses counted since the last call.
    fn counted(&mut self) -> String {
        let now = self.stats();
        let [hits, misses] = [now[0] - self.last[0], now[1] - self.last[1]];
        self.last = now;
        format!("{hits} hits, {misses} misses")
    }
}

/// Expands the templates into steps: for each, the key made afresh and the command on
/// it; then on a missing key; on a key of another type; and on a key of its type that
/// has expired.
fn expand() -> Vec<Vec<String>> {
    let mut steps: Vec<Vec<String>> = STEPS.iter().map(|s| words(s, "")).collect();
    for &(ty, template) in TEMPLATES {
        let reset = |key: &str, ty: &str| {
            let mut out = vec![words("DEL {k} dst nosuch", key)];
            out.extend(create(ty, key));
            out
        };
        let other = if matches!(ty, "string" | "hll") {
            "list"
        } else {
            "string"
        };
        steps.extend(reset("key", ty));
        steps.push(words(template, "key"));
        steps.push(words(template, "nosuch"));
        steps.extend(reset("wrong", other));
        steps.push(words(template, "wrong"));
        steps.extend(reset("exp", ty));
        // Not 1 ms: Redis deletes the key at once (a `del`, not an `expire`) when the
        // clock ticks past the expiry before PEXPIRE checks it.
        steps.push(words("PEXPIRE {k} 10", "exp"));
        steps.push(vec!["#pause".into()]);
        steps.push(words(template, "exp"));
    }
    steps
}

#[test]
fn every_read_counts_keyspace_hits_misses_and_keymiss_as_redis() {
    if !common::reference_available("every_read_counts_keyspace_hits_misses_and_keymiss_as_redis") {
        return;
    }
    let pair = Pair {
        ours: Server::start(&["--enable-debug-command", "local"]),
        theirs: Reference::start(),
    };
    let mut ours = Side::new(pair.ours.conn(), pair.ours.conn());
    let mut theirs = Side::new(pair.theirs.conn(), pair.theirs.conn());
    let mut failures = Vec::new();
    let mut in_multi = false;
    let steps = expand();
    for step in &steps {
        let cmd: Vec<&str> = step.iter().map(|w| w.trim_matches('"')).collect();
        if cmd == ["#pause"] {
            std::thread::sleep(std::time::Duration::from_millis(30));
            continue;
        }
        let line = render_cmd(&cmd);
        let (a, b) = (ours.conn.cmd(&cmd), theirs.conn.cmd(&cmd));
        let name = cmd[0].to_ascii_lowercase();
        let same = if LOOSE.contains(&name.as_str()) {
            a.first() == b.first()
        } else {
            agree(&cmd, &a, &b)
        };
        if !same {
            failures.push(format!("{line}: reply {} / {}", render(&a), render(&b)));
        }
        match name.as_str() {
            "multi" => in_multi = true,
            "exec" | "discard" => in_multi = false,
            _ => {}
        }
        if in_multi {
            continue;
        }
        let (sa, sb) = (ours.counted(), theirs.counted());
        if sa != sb {
            failures.push(format!("{line}: {sa} / {sb}"));
        }
        let (ea, eb) = (
            ours.events.take(&mut ours.conn),
            theirs.events.take(&mut theirs.conn),
        );
        if ea != eb {
            failures.push(format!("{line}: events {ea:?} / {eb:?}"));
        }
    }
    assert_eq!(
        failures.join("\n"),
        "",
        "{} differences in {} steps (left: redlite / redis)",
        failures.len(),
        steps.len()
    );
}
