//! Scripts and functions across restarts: what scripts wrote is in the AOF as its
//! effects; function libraries are in the AOF (as FUNCTION LOAD, also after a rewrite)
//! and in the dump file; redis-server loads our AOF with its functions.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::diff::render;
use common::{info_field, reference_available, Conn, Reference, Server, TempDir};
use pretty_assertions::assert_eq;

const LIB: &str = "#!lua name=counters\nredis.register_function('bump', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)\nredis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";

const AOF: [&str; 4] = ["--appendonly", "yes", "--appendfsync", "always"];

fn wait_rewrite_done(c: &mut Conn) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(c, "aof_rewrite_in_progress") != "0"
        || info_field(c, "aof_rewrite_scheduled") != "0"
    {
        assert!(Instant::now() < deadline, "the rewrite never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Loads the library and writes through it and through EVAL.
fn populate(c: &mut Conn) {
    assert_eq!(
        render(&c.cmd(&["FUNCTION", "LOAD", LIB])),
        "$8\\r\\ncounters\\r\\n"
    );
    assert_eq!(
        render(&c.cmd(&["FCALL", "bump", "1", "n", "5"])),
        ":5\\r\\n"
    );
    assert_eq!(
        render(&c.cmd(&[
            "EVAL",
            "redis.call('set', 'a', ARGV[1]) redis.call('expire', 'a', 1000) return redis.call('incr', 'b')",
            "0",
            "x"
        ])),
        ":1\\r\\n"
    );
}

/// What a restarted server must answer.
fn check(c: &mut Conn) {
    assert_eq!(
        render(&c.cmd(&["FCALL_RO", "peek", "1", "n"])),
        "$1\\r\\n5\\r\\n"
    );
    assert_eq!(
        render(&c.cmd(&["FCALL", "bump", "1", "n", "1"])),
        ":6\\r\\n"
    );
    assert_eq!(render(&c.cmd(&["GET", "a"])), "$1\\r\\nx\\r\\n");
    assert_eq!(render(&c.cmd(&["GET", "b"])), "$1\\r\\n1\\r\\n");
    let ttl = common::diff::int_reply(&c.cmd(&["TTL", "a"])).unwrap();
    assert!((900..=1000).contains(&ttl), "{ttl}");
}

fn stop(server: Server, c: &mut Conn) {
    c.send(&["SHUTDOWN", "NOSAVE"]);
    let mut server = server;
    let _ = server.child.wait();
}

fn restart(dir: &Path, args: &[&str]) -> (Server, Conn) {
    let server = Server::start_in(dir, args).expect("restarts");
    let c = server.conn();
    (server, c)
}

#[test]
fn functions_and_script_effects_survive_restarts_through_the_aof() {
    let dir = TempDir::new("script-aof");
    let (server, mut c) = restart(dir.path(), &AOF);
    populate(&mut c);
    stop(server, &mut c);
    let (server, mut c) = restart(dir.path(), &AOF);
    check(&mut c);
    // After a rewrite the base file holds the libraries.
    assert!(c.cmd(&["BGREWRITEAOF"]).starts_with(b"+Background"));
    wait_rewrite_done(&mut c);
    stop(server, &mut c);
    let (server, mut c) = restart(dir.path(), &AOF);
    assert_eq!(
        render(&c.cmd(&["FCALL_RO", "peek", "1", "n"])),
        "$1\\r\\n6\\r\\n"
    );
    stop(server, &mut c);
}

#[test]
fn redis_server_loads_our_aof_with_its_functions() {
    if !reference_available("redis_server_loads_our_aof_with_its_functions") {
        return;
    }
    let dir = TempDir::new("script-aof-redis");
    let (server, mut c) = restart(dir.path(), &AOF);
    populate(&mut c);
    assert!(c.cmd(&["BGREWRITEAOF"]).starts_with(b"+Background"));
    wait_rewrite_done(&mut c);
    assert_eq!(
        render(&c.cmd(&["FCALL", "bump", "1", "n", "2"])),
        ":7\\r\\n"
    );
    stop(server, &mut c);
    let redis = Reference::start_in(dir.path(), &["--appendonly", "yes"]);
    let mut r = redis.conn();
    assert_eq!(
        render(&r.cmd(&["FCALL_RO", "peek", "1", "n"])),
        "$1\\r\\n7\\r\\n"
    );
    assert_eq!(render(&r.cmd(&["GET", "a"])), "$1\\r\\nx\\r\\n");
}

#[test]
fn functions_survive_a_restart_through_the_dump_file() {
    let dir = TempDir::new("script-dump");
    let (server, mut c) = restart(dir.path(), &[]);
    populate(&mut c);
    assert_eq!(render(&c.cmd(&["SAVE"])), "+OK\\r\\n");
    stop(server, &mut c);
    let (server, mut c) = restart(dir.path(), &[]);
    check(&mut c);
    assert_eq!(
        render(&c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "counters", "WITHCODE"]))
            .contains("library_code"),
        true
    );
    stop(server, &mut c);
}
