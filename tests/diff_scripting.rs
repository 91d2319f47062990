//! Differential tests for scripting: EVAL, EVALSHA, their `_RO` forms, SCRIPT, FCALL
//! and FUNCTION, against a reference redis-server 7.0.
//!
//! Every reply is compared byte for byte, errors included: the script SHA-1s in error
//! texts are the same on both sides, so are the `script: <sha>, on @user_script:N.`
//! suffixes. The conversions are covered both ways and in both protocols: what a
//! command returns to `redis.call`, and what a script returns to the client.

mod common;

use std::time::Duration;

use common::diff::{render, run_on, run_script, Cmd, Pair};
use common::Conn;
use pretty_assertions::assert_eq;

/// `EVAL script 0` as a command.
fn eval(script: &'static str) -> Cmd {
    Box::leak(vec!["EVAL", script, "0"].into_boxed_slice())
}

/// Runs each script with `EVAL script 0` on a fresh pair.
fn evals(scripts: &[&'static str]) {
    let cmds: Vec<Cmd> = scripts.iter().map(|s| eval(s)).collect();
    run_script(&cmds);
}

#[test]
fn script_replies_convert_as_redis() {
    if !common::reference_available("script_replies_convert_as_redis") {
        return;
    }
    evals(&[
        "return 1",
        "return 3.99",
        "return -3.99",
        "return 'hello'",
        "return true",
        "return false",
        "return nil",
        "return {}",
        "return {1, 2, 3}",
        "return {1, 2, nil, 3}",
        "return {1, {2, {3, 'x'}}, true, false}",
        "return {ok='fine'}",
        "return {ok='fine\\r\\nx'}",
        "return {err='My Error'}",
        "return {err='-My'}",
        "return {err=''}",
        "return {double=3.5}",
        "return {big_number='123'}",
        "return redis.status_reply('X')",
        "return redis.error_reply('no code')",
        "return redis.error_reply('-CODE x')",
        "return redis.error_reply('ERR x')",
        "return {a=1, b=2}",
        "return {1, 2, a=3}",
        "return 1e20",
        "return 0/0 == 0/0",
    ]);
}

#[test]
fn script_errors_read_as_redis() {
    if !common::reference_available("script_errors_read_as_redis") {
        return;
    }
    evals(&[
        "a = 1",
        "return a",
        "error('x')",
        "error('x', 0)",
        "error(12)",
        "error(nil)",
        "error(true)",
        "error({err='My'})",
        "local t = setmetatable({}, {__index=function() error('deep') end}) return t.x",
        "retur 1",
        "return 1 +",
        "local x = nil; return x.y",
        "return nosuch()",
        "return ('x')()",
        "return 1 + {}",
        "return #nil",
        "return string.rep('x', -1) .. nil",
        "return math.floor('a')",
        "return string.sub()",
    ]);
}

#[test]
fn redis_call_runs_commands_as_clients_do() {
    if !common::reference_available("redis_call_runs_commands_as_clients_do") {
        return;
    }
    run_script(&[
        &[
            "EVAL",
            "return redis.call('set', KEYS[1], ARGV[1])",
            "1",
            "k",
            "v",
        ],
        &["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
        &["EVAL", "return redis.call('get', 'nokey')", "0"],
        &["EVAL", "return redis.call('incr', 'n')", "0"],
        &["EVAL", "return redis.call('incrbyfloat', 'f', 1.5)", "0"],
        &[
            "EVAL",
            "return redis.call('rpush', 'l', 1, 2, 3.5, 'x')",
            "0",
        ],
        &["EVAL", "return redis.call('lrange', 'l', 0, -1)", "0"],
        &[
            "EVAL",
            "return redis.call('hset', 'h', 'a', 1, 'b', 2)",
            "0",
        ],
        &["EVAL", "return redis.call('hgetall', 'h')", "0"],
        &[
            "EVAL",
            "return redis.call('zadd', 'z', 1.5, 'a', 2, 'b')",
            "0",
        ],
        &[
            "EVAL",
            "return redis.call('zrange', 'z', 0, -1, 'withscores')",
            "0",
        ],
        &["EVAL", "return redis.call('ping')", "0"],
        &["EVAL", "return redis.call('exists', 'k', 'nokey')", "0"],
        &[
            "EVAL",
            "redis.call('select', 1) return redis.call('ping')",
            "0",
        ],
        &[
            "EVAL",
            "redis.call('select', 1) redis.call('set', 'in1', 'x') return redis.call('dbsize')",
            "0",
        ],
        &["DBSIZE"],
        &["EVAL", "return redis.call('nosuch')", "0"],
        &["EVAL", "return redis.call('get')", "0"],
        &["EVAL", "return redis.call()", "0"],
        &["EVAL", "return redis.call('get', {})", "0"],
        &["EVAL", "return redis.call('subscribe', 'x')", "0"],
        &["EVAL", "return redis.call('blpop', 'nolist', 0)", "0"],
        &["EVAL", "return redis.call('eval', 'return 1', 0)", "0"],
        &["EVAL", "return redis.call('lpush', 'k', 'x')", "0"],
        &["EVAL", "return redis.pcall('lpush', 'k', 'x')", "0"],
        &["EVAL", "return redis.pcall('nosuch')", "0"],
        &[
            "EVAL",
            "local x = redis.pcall('nosuch'); return type(x)..tostring(x.err)",
            "0",
        ],
        &[
            "EVAL",
            "local ok, e = pcall(function() redis.call('nosuch') end) return {tostring(ok), e}",
            "0",
        ],
        &["EVAL", "return pcall(function() error({err='x'}) end)", "0"],
        &["EVAL", "return {pcall(error, 'y')}", "0"],
        &["EVAL", "return redis.sha1hex('')", "0"],
        &["EVAL", "return redis.sha1hex('abc')", "0"],
        &["EVAL", "return redis.sha1hex()", "0"],
        &["EVAL", "return redis.REDIS_VERSION", "0"],
        &["EVAL", "return redis.REDIS_VERSION_NUM", "0"],
        &["EVAL", "return redis.setresp(4)", "0"],
        &["EVAL", "return redis.set_repl(9)", "0"],
        &["EVAL", "return redis.log(redis.LOG_WARNING)", "0"],
        &["EVAL", "return redis.log(99, 'x')", "0"],
        &["EVAL", "return redis.replicate_commands()", "0"],
        &["EVAL", "return redis.breakpoint()", "0"],
        &["EVAL", "return redis.acl_check_cmd('get', 'x')", "0"],
        &["EVAL", "return redis.acl_check_cmd('nosuch')", "0"],
        &[
            "EVAL",
            "return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}",
            "2",
            "a",
            "b",
            "c",
        ],
        &["EVAL", "return 1", "-1"],
        &["EVAL", "return 1", "2", "a"],
        &["EVAL", "return 1", "x"],
    ]);
}

#[test]
fn resp3_conversions() {
    if !common::reference_available("resp3_conversions") {
        return;
    }
    let scripts: &[Cmd] = &[
        &["HSET", "h", "a", "1"],
        &["SADD", "s", "m"],
        &["ZADD", "z", "1.5", "a"],
        eval("redis.setresp(3) return redis.call('hgetall', 'h')"),
        eval("redis.setresp(3) return redis.call('smembers', 's')"),
        eval("redis.setresp(3) return redis.call('zscore', 'z', 'a')"),
        eval("redis.setresp(3) return redis.call('get', 'nokey')"),
        eval("redis.setresp(3) local r = redis.call('hgetall', 'h') return r.map.a"),
        eval("redis.setresp(3) local r = redis.call('zscore', 'z', 'a') return tostring(r.double)"),
        eval("return true"),
        eval("return false"),
        eval("redis.setresp(3) return true"),
        eval("redis.setresp(3) return false"),
        eval("return {map={a=1}}"),
        eval("return {set={a=true}}"),
        eval("return {double=1.5}"),
        eval("return {big_number='1234567890123456789'}"),
        eval("return {verbatim_string={format='txt', string='hi'}}"),
        eval("redis.setresp(3) return redis.call('hello')['map']['proto']"),
    ];
    // RESP2 first, then the same after HELLO 3.
    run_script(scripts);
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    ours.cmd(&["HELLO", "3"]);
    theirs.cmd(&["HELLO", "3"]);
    run_on(scripts, &mut ours, &mut theirs);
}

#[test]
fn script_cache_and_evalsha() {
    if !common::reference_available("script_cache_and_evalsha") {
        return;
    }
    run_script(&[
        &["SCRIPT", "LOAD", "return 'loaded'"],
        &["EVALSHA", "c2ea1bbd4b9e4cc3c9a42e3b3d8a8b4d8c9d9b5e", "0"],
        &[
            "SCRIPT",
            "EXISTS",
            "b534286061d4b9e4026607613b95c06c06015ae8",
            "ffffffffffffffffffffffffffffffffffffffff",
        ],
        &["EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
        &["EVALSHA", "B534286061D4B9E4026607613B95C06C06015AE8", "0"],
        &["EVALSHA", "short", "0"],
        &[
            "EVALSHA_RO",
            "b534286061d4b9e4026607613b95c06c06015ae8",
            "0",
        ],
        &["EVAL", "return 'cached by eval'", "0"],
        &[
            "SCRIPT",
            "EXISTS",
            "0d7ed2e4f0bb1ccbc0f8a5a4f1d8b8d4e6bd8fce",
        ],
        &["SCRIPT", "LOAD", "retur 1"],
        &["SCRIPT", "LOAD", "#!lua flags=bad\nreturn 1"],
        &["SCRIPT", "LOAD", "#!py\nreturn 1"],
        &["SCRIPT", "FLUSH", "bad"],
        &["SCRIPT", "FLUSH", "SYNC"],
        &[
            "SCRIPT",
            "EXISTS",
            "b534286061d4b9e4026607613b95c06c06015ae8",
        ],
        &["EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
        &["SCRIPT", "FLUSH"],
        &["SCRIPT", "FLUSH", "ASYNC"],
        &["SCRIPT", "KILL"],
        &["SCRIPT", "HELP"],
        &["SCRIPT", "NOPE"],
        &["SCRIPT"],
        &["SCRIPT", "EXISTS"],
        &["SCRIPT", "LOAD"],
        &["SCRIPT", "DEBUG", "maybe"],
    ]);
}

#[test]
fn read_only_scripts_and_shebangs() {
    if !common::reference_available("read_only_scripts_and_shebangs") {
        return;
    }
    run_script(&[
        &["SET", "k", "v"],
        &["EVAL_RO", "return redis.call('get', 'k')", "1", "k"],
        &["EVAL_RO", "return redis.call('set', 'k', 'w')", "1", "k"],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'w')",
            "0",
        ],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get', 'k')",
            "0",
        ],
        &["EVAL", "#!lua\nreturn redis.call('set', 'k', 'w')", "0"],
        &["EVAL_RO", "#!lua\nreturn 1", "0"],
        &[
            "EVAL",
            "#!lua flags=allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 2",
            "0",
        ],
        &["EVAL", "#!lua flags=\nreturn 3", "0"],
        &["EVAL", "#!lua name=x\nreturn 1", "0"],
        &["EVAL", "#!lua flags=nope\nreturn 1", "0"],
        &["EVAL", "#!lua", "0"],
        &["EVAL", "#!lua\nerror('line two')", "0"],
        &["EVAL", "\n\nerror('line three')", "0"],
    ]);
}

#[test]
fn functions_load_list_call_and_delete() {
    if !common::reference_available("functions_load_list_call_and_delete") {
        return;
    }
    const LIB: &str = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return {keys[1], args[1]} end)\nredis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}\nredis.register_function('setter', function(keys, args) return redis.call('set', keys[1], args[1]) end)";
    run_script(&[
        &["FUNCTION", "LOAD", LIB],
        // (FUNCTION LIST shows a library's functions in Redis's dict order, which a
        // random seed decides: it is compared below, on libraries of one function.)
        &["FUNCTION", "LIST", "LIBRARYNAME", "other*"],
        &["FUNCTION", "LIST", "LIBRARYNAME"],
        &["FUNCTION", "LIST", "BAD"],
        &["FCALL", "myfunc", "1", "k", "a"],
        &["FCALL", "setter", "1", "k", "v"],
        &["FCALL", "ro", "1", "k"],
        &["FCALL_RO", "ro", "1", "k"],
        &["FCALL_RO", "setter", "1", "k", "v"],
        &["FCALL", "nosuch", "0"],
        &["FCALL", "myfunc", "x"],
        &["FCALL", "myfunc", "3", "a"],
        &["FCALL", "myfunc", "-1"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nredis.register_function('other', function() return 'replaced' end)"],
        &["FCALL", "myfunc", "0"],
        &["FCALL", "other", "0"],
        &["FUNCTION", "LIST"],
        &["FUNCTION", "LIST", "WITHCODE"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "my*"],
        &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "mylib"],
        &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('other', function() return 1 end)"],
        &["FUNCTION", "LOAD", "return 1"],
        &["FUNCTION", "LOAD", "#!lua name=x"],
        &["FUNCTION", "LOAD", "#!lua\nreturn 1"],
        &["FUNCTION", "LOAD", "#!lua name=bad-name\nreturn 1"],
        &["FUNCTION", "LOAD", "#!js name=x\nreturn 1"],
        &["FUNCTION", "LOAD", "#!lua name=x foo=bar\nreturn 1"],
        &["FUNCTION", "LOAD", "#!lua name=x\nreturn 1"],
        &["FUNCTION", "LOAD", "#!lua name=x\nretur 1"],
        &["FUNCTION", "LOAD", "#!lua name=x\nerror('boom')"],
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.call('ping')"],
        &["FUNCTION", "LOAD", "#!lua name=x\nreturn string.len('a')"],
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f')"],
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function(1, 2)"],
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('bad-f', function() end)"],
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', function() end) redis.register_function('f', function() end)"],
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f'}"],
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{callback=function() end}"],
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'nope'}}"],
        &["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, other=1}"],
        &["FUNCTION", "LOAD", "BADOPT", "#!lua name=x\nreturn 1"],
        &["FUNCTION", "LOAD", "#!lua name=slow\nwhile true do end"],
        &["FUNCTION", "LOAD", "#!lua name=slow\nlocal ok = pcall(function() while true do end end) redis.register_function('f', function() end)"],
        &["FUNCTION", "LOAD", "#!lua name=err\nredis.register_function('fails', function() return error('inside') end)"],
        &["FCALL", "fails", "0"],
        &["FUNCTION", "DELETE", "nosuch"],
        &["FUNCTION", "DELETE", "mylib"],
        &["FUNCTION", "LIST"],
        &["FUNCTION", "FLUSH", "BAD"],
        &["FUNCTION", "FLUSH"],
        &["FUNCTION", "LIST"],
        &["FUNCTION", "KILL"],
        &["FUNCTION", "HELP"],
        &["FUNCTION", "RESTORE", "bad"],
        &["FUNCTION", "RESTORE", "x", "NOPE"],
    ]);
}

/// FUNCTION DUMP from Redis restores into redlite and the other way round.
#[test]
fn function_dump_and_restore_cross() {
    if !common::reference_available("function_dump_and_restore_cross") {
        return;
    }
    let pair = Pair::start();
    let (mut ours, mut theirs) = (pair.ours.conn(), pair.theirs.conn());
    let lib = "#!lua name=dumped\nredis.register_function('dumpedf', function() return 'from a dump' end)";
    theirs.cmd(&["FUNCTION", "LOAD", lib]);
    let payload = bulk_body(&theirs.cmd(&["FUNCTION", "DUMP"]));
    assert_eq!(
        render(&ours.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload])),
        "+OK\\r\\n"
    );
    assert_eq!(
        render(&ours.cmd(&["FCALL", "dumpedf", "0"])),
        "$11\\r\\nfrom a dump\\r\\n"
    );
    assert_eq!(
        render(&ours.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload])),
        render(&theirs.cmd_bytes(&[b"FUNCTION", b"RESTORE", &payload]))
    );
    ours.cmd(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=mine\nredis.register_function('minef', function() return 'mine' end)",
    ]);
    let ours_payload = bulk_body(&ours.cmd(&["FUNCTION", "DUMP"]));
    assert_eq!(
        render(&theirs.cmd_bytes(&[b"FUNCTION", b"RESTORE", &ours_payload, b"REPLACE"])),
        "+OK\\r\\n"
    );
    assert_eq!(
        render(&theirs.cmd(&["FCALL", "minef", "0"])),
        "$4\\r\\nmine\\r\\n"
    );
}

/// The body of a bulk reply.
fn bulk_body(reply: &[u8]) -> Vec<u8> {
    let start = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
    reply[start..reply.len() - 2].to_vec()
}

/// Lua itself, as Redis embeds it: the language and its libraries, through EVAL.
#[test]
fn lua_language_and_libraries() {
    if !common::reference_available("lua_language_and_libraries") {
        return;
    }
    evals(&[
        "return tostring(1e15)..' '..tostring(0.1)..' '..tostring(-0.5)..' '..tostring(1/3)",
        "return tostring(2^53)..' '..tostring(123456789012345678)",
        "local t = {} for i = 1, 10 do t[#t+1] = i * i end return t",
        "local function fib(n) if n < 2 then return n end return fib(n-1) + fib(n-2) end return fib(20)",
        "local s = 0 for i = 10, 1, -2 do s = s + i end return s",
        "local t = {a=1, b=2} local n = 0 for k, v in pairs(t) do n = n + v end return n",
        "local i = 0 repeat i = i + 1 until i >= 5 return i",
        "local i = 0 while true do i = i + 1 if i > 7 then break end end return i",
        "return select('#', 1, nil, 3)",
        "return {select(2, 'a', 'b', 'c')}",
        "local function f(...) return ... end return {f(1, 2, 3)}",
        "return {unpack({1, 2, 3})}",
        "local mt = {__add=function(a, b) return a.v + b.v end} local a = setmetatable({v=1}, mt) return a + a",
        "local t = setmetatable({}, {__index=function(t, k) return k * 2 end}) return t[21]",
        "local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end) local _, x = coroutine.resume(co, 1) local _, y = coroutine.resume(co, 10) return {x, y, coroutine.status(co)}",
        "return string.format('%5.2f|%d|%s|%x|%q', 3.14159, 42, 'str', 255, 'a\\nb')",
        "return string.format('%g %g %g', 1e20, 0.0001, 100)",
        "return {string.find('hello world', 'o w')}",
        "return {string.find('hello', 'l+')}",
        "return {string.match('key:123', '(%a+):(%d+)')}",
        "return string.gsub('hello world', 'o', '0')",
        "return (string.gsub('abc', '%w', '%0%0'))",
        "local r = {} for w in string.gmatch('one two three', '%a+') do r[#r+1] = w end return r",
        "return string.rep('ab', 3, ',')",
        "return {string.byte('ABC', 1, 3)}",
        "return string.char(72, 105)",
        "return string.upper('abc')..string.lower('DEF')..string.reverse('xyz')",
        "return string.sub('hello', 2, -2)",
        "return #'hello'",
        "local t = {5, 2, 8, 1} table.sort(t) return t",
        "local t = {5, 2, 8, 1} table.sort(t, function(a, b) return a > b end) return t",
        "return table.concat({1, 2, 3}, '-')",
        "local t = {1, 2, 3} table.insert(t, 2, 9) table.remove(t, 1) return t",
        "return {math.floor(3.7), math.ceil(3.2), math.abs(-4), math.max(1, 5, 3), math.min(2, 0)}",
        "return tostring(math.huge)..' '..tostring(math.pi)",
        "return math.fmod(7, 3)",
        "return {tonumber('0x10'), tonumber('10', 2), tonumber('z', 36), tonumber('abc')}",
        "return tostring(nil)..tostring(true)",
        "return type(print)",
        "return type(loadstring)",
        "return loadstring('return 1 + 1')()",
        "return _VERSION",
        "return cjson.encode({1, 2, {a=1}})",
        "return cjson.encode({a='x/y', b={true, false}})",
        "return cjson.decode('[1,2,{\"a\":\"b\"}]')[3].a",
        "return cjson.encode(cjson.decode('{\"n\":null}'))",
        "return cmsgpack.unpack(cmsgpack.pack({1, 2, 3}))",
        "return {cmsgpack.unpack(cmsgpack.pack('abc', 12, 1.5))}",
        "return bit.band(0xff, 0x0f) + bit.bor(1, 2) + bit.lshift(1, 4)",
        "return bit.tohex(255)",
        "return struct.pack('>I2', 258)",
        "return {struct.unpack('>I2', '\\1\\2')}",
        "return string.len(struct.pack('i4d', 1, 2.5))",
        "local ok, e = pcall(function() local t = nil; return t.x end) return e",
        "return coroutine.wrap(function() coroutine.yield(5) end)()",
        "string.x = 1",
        "cjson.encode = nil",
        "local mt = getmetatable('') mt.__index = nil",
        "return rawget(_G, 'undefined_name')",
    ]);
}

/// What scripts change: keyspace events, and the AOF holding their effects wrapped in
/// MULTI/EXEC (never the EVAL itself).
#[test]
fn script_effects_are_notified_and_propagated() {
    if !common::reference_available("script_effects_are_notified_and_propagated") {
        return;
    }
    let ours_dir = common::TempDir::new("ours");
    let theirs_dir = common::TempDir::new("theirs");
    // `always`: with `everysec` a write may wait behind a slow fsync (a loaded machine)
    // and miss the file when the test reads it.
    let flags = ["--appendonly", "yes", "--appendfsync", "always"];
    let ours = common::Server::start_in(ours_dir.path(), &flags).unwrap();
    let theirs = common::Reference::start_in(theirs_dir.path(), &flags);
    let script: &[Cmd] = &[
        &["EVAL", "redis.call('set', 'a', '1') redis.call('incr', 'a') return redis.call('get', 'a')", "0"],
        &["EVAL", "return redis.call('set', 'b', '2')", "0"],
        &["EVAL", "return redis.call('get', 'b')", "0"],
        &["EVAL", "redis.call('set', 'c', '1', 'EX', '100') return redis.call('spop', 'nosuch')", "0"],
        &["EVAL", "redis.set_repl(redis.REPL_NONE) redis.call('set', 'hidden', '1') redis.set_repl(redis.REPL_ALL) return redis.call('set', 'shown', '1')", "0"],
        &["FUNCTION", "LOAD", "#!lua name=l\nredis.register_function('w', function(k) return redis.call('lpush', k[1], 'x') end)"],
        &["FCALL", "w", "1", "list"],
        &["MULTI"],
        &["EVAL", "return redis.call('set', 'm', '1')", "0"],
        &["SET", "n", "1"],
        &["EXEC"],
    ];
    let (mut o, mut t) = (ours.conn(), theirs.conn());
    run_on(script, &mut o, &mut t);
    let ours_aof = common::aof::incr_commands(ours_dir.path());
    let theirs_aof = common::aof::incr_commands(theirs_dir.path());
    assert_eq!(
        ours_aof.len(),
        theirs_aof.len(),
        "{ours_aof:?}\n{theirs_aof:?}"
    );
    for (a, b) in ours_aof.iter().zip(&theirs_aof) {
        assert!(common::aof::same_command(a, b, 2000), "{a:?} vs {b:?}");
    }
}

#[test]
fn scripts_fire_keyspace_events() {
    if !common::reference_available("scripts_fire_keyspace_events") {
        return;
    }
    let pair = Pair::start();
    let mut events = Vec::new();
    for conn in [pair.ours.conn(), pair.theirs.conn()] {
        let mut control = Conn::connect(conn.port());
        let mut listener = common::events::EventListener::start(&mut control, conn, "KEA", false);
        control.cmd(&["EVAL", "redis.call('set', 'a', '1') redis.call('expire', 'a', 100) redis.call('del', 'a') return 1", "0"]);
        control.cmd(&["EVAL", "return redis.call('hset', 'h', 'f', 'v')", "0"]);
        events.push(listener.take(&mut control));
    }
    assert_eq!(events[0], events[1]);
}

/// A busy script: past busy-reply-threshold other clients get -BUSY, SCRIPT KILL stops
/// it, a script that wrote cannot be killed, and the server stays healthy.
#[test]
fn busy_scripts_and_kill() {
    if !common::reference_available("busy_scripts_and_kill") {
        return;
    }
    let pair = Pair::start();
    let mut seen = Vec::new();
    for port in [pair.ours.port, pair.theirs.port] {
        let mut lines = Vec::new();
        let mut admin = Conn::connect(port);
        admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
        let mut runner = Conn::connect(port);
        runner.send(&["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
        std::thread::sleep(Duration::from_millis(400));
        let mut other = Conn::connect(port);
        lines.push(render(&other.cmd(&["PING"])));
        lines.push(render(&other.cmd(&["GET", "x"])));
        lines.push(render(&other.cmd(&["FUNCTION", "KILL"])));
        lines.push(render(&other.cmd(&["SCRIPT", "KILL"])));
        lines.push(render(&runner.read_reply()));
        lines.push(render(&other.cmd(&["PING"])));
        lines.push(render(&other.cmd(&["SCRIPT", "KILL"])));
        // A script that wrote first cannot be killed.
        runner.send(&[
            "EVAL",
            "redis.call('set', 'x', '1') local i = 0 while i < 1e8 do i = i + 1 end return 'done'",
            "0",
        ]);
        std::thread::sleep(Duration::from_millis(300));
        lines.push(render(&other.cmd(&["SCRIPT", "KILL"])));
        lines.push(render(&runner.read_reply()));
        lines.push(render(&other.cmd(&["GET", "x"])));
        seen.push(lines.join("\n"));
    }
    assert_eq!(seen[0], seen[1]);
}

/// A client that was already waiting on the keyspace when the script turned busy gets
/// -BUSY too (Redis answers it from inside the script; redlite's script lets go of the
/// lock while it stays the keyspace's owner).
#[test]
fn clients_waiting_before_busy_get_busy() {
    if !common::reference_available("clients_waiting_before_busy_get_busy") {
        return;
    }
    let pair = Pair::start();
    let mut seen = Vec::new();
    for port in [pair.ours.port, pair.theirs.port] {
        let mut admin = Conn::connect(port);
        admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "500"]);
        admin.cmd(&["SET", "k", "before"]);
        let mut runner = Conn::connect(port);
        runner.send(&["EVAL", "redis.call('get', 'k') while true do end", "0"]);
        std::thread::sleep(Duration::from_millis(100));
        // Sent before the threshold: it waits, then is answered -BUSY.
        let mut early = Conn::connect(port);
        early.send(&["SET", "k", "during"]);
        let mut reader = Conn::connect(port);
        reader.send(&["GET", "k"]);
        let early_reply = render(&early.read_reply());
        let reader_reply = render(&reader.read_reply());
        let kill = render(&admin.cmd(&["SCRIPT", "KILL"]));
        let _ = runner.read_reply();
        let after = render(&admin.cmd(&["GET", "k"]));
        seen.push(format!("{early_reply}\n{reader_reply}\n{kill}\n{after}"));
    }
    assert_eq!(seen[0], seen[1]);
}

/// While a script is busy SHUTDOWN is refused unless NOSAVE, which stops the server.
#[test]
fn shutdown_nosave_stops_a_busy_server() {
    if !common::reference_available("shutdown_nosave_stops_a_busy_server") {
        return;
    }
    let pair = Pair::start();
    let mut seen = Vec::new();
    for port in [pair.ours.port, pair.theirs.port] {
        let mut admin = Conn::connect(port);
        admin.cmd(&["CONFIG", "SET", "busy-reply-threshold", "100"]);
        let mut runner = Conn::connect(port);
        runner.send(&["EVAL", "while true do end", "0"]);
        std::thread::sleep(Duration::from_millis(300));
        let refused = render(&admin.cmd(&["SHUTDOWN"]));
        admin.send(&["SHUTDOWN", "NOSAVE"]);
        let closed = admin.is_closed();
        std::thread::sleep(Duration::from_millis(200));
        let gone = Conn::try_connect(port).is_err();
        seen.push(format!("{refused} closed={closed} gone={gone}"));
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0].ends_with("closed=true gone=true"), "{}", seen[0]);
}

/// A script's writes touch WATCHed keys (EXEC aborts) and invalidate keys other
/// clients cache; keys a script reads are tracked for the client that ran it.
#[test]
fn scripts_touch_watched_and_tracked_keys() {
    if !common::reference_available("scripts_touch_watched_and_tracked_keys") {
        return;
    }
    let pair = Pair::start();
    let mut seen = Vec::new();
    for port in [pair.ours.port, pair.theirs.port] {
        let mut lines = Vec::new();
        let (mut watcher, mut writer) = (Conn::connect(port), Conn::connect(port));
        watcher.cmd(&["WATCH", "w"]);
        writer.cmd(&["EVAL", "return redis.call('set', 'w', '1')", "0"]);
        watcher.cmd(&["MULTI"]);
        watcher.cmd(&["GET", "w"]);
        lines.push(render(&watcher.cmd(&["EXEC"])));
        // RESP3 tracking: the reader runs a script that reads `t`, the writer changes it.
        let mut reader = Conn::connect(port);
        reader.cmd(&["HELLO", "3"]);
        reader.cmd(&["CLIENT", "TRACKING", "on"]);
        // Redis remembers the keys a script declares when it reads, not the keys its
        // commands name: `u` is not tracked, `t` is.
        lines.push(render(&reader.cmd(&[
            "EVAL",
            "return redis.call('get', 'u')",
            "0",
        ])));
        lines.push(render(&reader.cmd(&[
            "EVAL",
            "return redis.call('get', KEYS[1])",
            "1",
            "t",
        ])));
        lines.push(render(&reader.cmd(&[
            "EVAL_RO",
            "return redis.call('get', KEYS[1])",
            "1",
            "r",
        ])));
        writer.cmd(&["EVAL", "redis.call('set', 'u', 'v') redis.call('set', 'r', 'v') return redis.call('set', 't', 'v')", "0"]);
        lines.push(render(&reader.read_reply()));
        lines.push(render(&reader.read_reply()));
        lines.push(render(&reader.cmd(&["PING"])));
        seen.push(lines.join("\n"));
    }
    assert_eq!(seen[0], seen[1]);
}
