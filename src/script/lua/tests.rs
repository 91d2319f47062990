//! The conformance suite: Lua source run through the interpreter, results checked.

use super::*;

fn run(src: &str) -> Result<Vec<Value>, String> {
    let mut lua = Lua::new();
    let f = lua.load(src.as_bytes(), "@user_script")?;
    lua.call(&f, &[], &mut NoHost).map_err(|e| {
        String::from_utf8_lossy(
            &lua.to_bytes(&e.value)
                .unwrap_or_else(|| b"<non-string error>".to_vec()),
        )
        .into_owned()
    })
}

/// Runs `src` and renders its results as text (tostring of each, joined by ",").
fn eval(src: &str) -> String {
    let mut lua = Lua::new();
    let f = match lua.load(src.as_bytes(), "@user_script") {
        Ok(f) => f,
        Err(e) => return format!("COMPILE: {e}"),
    };
    match lua.call(&f, &[], &mut NoHost) {
        Ok(vals) => vals
            .iter()
            .map(|v| String::from_utf8_lossy(&lib_base::tostring_raw(v)).into_owned())
            .collect::<Vec<_>>()
            .join(","),
        Err(e) => format!(
            "ERR: {}",
            String::from_utf8_lossy(&lib_base::tostring_raw(&e.value))
        ),
    }
}

macro_rules! check {
    ($src:expr, $want:expr) => {
        assert_eq!(eval($src), $want, "script: {}", $src);
    };
}

#[test]
fn basics() {
    check!("return 1 + 2", "3");
    check!("local a, b = 1, 2 return a + b, a - b", "3,-1");
    check!("return 10 / 4, 7 % 3, -7 % 3, 2 ^ 10", "2.5,1,2,1024");
    check!("return 'a' .. 'b' .. 1 .. 2", "ab12");
    check!("return '10' + 5, 3 .. ''", "15,3");
    check!(
        "return 1 == 1, 1 < 2, 'a' < 'b', 2 <= 1, nil == false",
        "true,true,true,false,false"
    );
    check!(
        "return not nil, 1 and 2, nil or 3, false and 1",
        "true,2,3,false"
    );
    check!("return #'abc', #{1,2,3}", "3,3");
    check!("return 0x10, 1e2, .5", "16,100,0.5");
    check!("return 1e15, 0.1, -0.0", "1e+15,0.1,-0");
    check!("return 1/0, -1/0", "inf,-inf");
    // Lua 5.1 shares one constant slot between 0 and -0: the first wins.
    check!("return -0.0, 1/0", "-0,-inf");
}

#[test]
fn control_flow() {
    check!("local s = 0 for i = 1, 10 do s = s + i end return s", "55");
    check!(
        "local s = 0 for i = 10, 1, -2 do s = s + i end return s",
        "30"
    );
    check!("local i = 0 while i < 5 do i = i + 1 end return i", "5");
    check!(
        "local i = 0 repeat local j = i i = i + 1 until j >= 3 return i",
        "4"
    );
    check!("for i = 1, 3 do if i == 2 then return i end end", "2");
    check!(
        "local t = {} for i = 1, 10 do if i > 3 then break end t[#t+1] = i end return #t",
        "3"
    );
    check!(
        "local x = 5 if x > 10 then return 1 elseif x > 3 then return 2 else return 3 end",
        "2"
    );
    check!(
        "local s = '' for k, v in ipairs({'a','b','c'}) do s = s .. k .. v end return s",
        "1a2b3c"
    );
    check!(
        "local n = 0 for k, v in pairs({a=1, b=2, 3}) do n = n + 1 end return n",
        "3"
    );
}

#[test]
fn functions_and_closures() {
    check!(
        "local function f(a, b) return a + b end return f(1, 2)",
        "3"
    );
    check!("local function fib(n) if n < 2 then return n end return fib(n-1) + fib(n-2) end return fib(20)", "6765");
    check!(
        "local function f(...) return select('#', ...), ... end return f(1, nil, 3)",
        "3,1,nil,3"
    );
    check!(
        "local function f() return 1, 2, 3 end local t = {f()} return #t, (f())",
        "3,1"
    );
    check!(
        "local function f() return 1, 2 end return f(), f()",
        "1,1,2"
    );
    check!("local fs = {} for i = 1, 3 do fs[i] = function() return i end end return fs[1](), fs[2](), fs[3]()", "1,2,3");
    check!("local function counter() local c = 0 return function() c = c + 1 return c end end local c = counter() c() c() return c()", "3");
    check!("local a = {} function a.b(x) return x * 2 end function a:c(x) return self.b(x) end return a:c(21)", "42");
    check!("local function loop(n) if n == 0 then return 'done' end return loop(n - 1) end return loop(100000)", "done");
    check!(
        "local t = setmetatable({}, {__call = function(self, a) return a + 1 end}) return t(41)",
        "42"
    );
    check!("return select(-1, 1, 2, 3)", "3");
    check!(
        "local a, b, c = (function() return 1, 2, 3 end)() return c",
        "3"
    );
}

#[test]
fn errors_with_positions() {
    check!(
        "foo()",
        "ERR: user_script:1: attempt to call global 'foo' (a nil value)"
    );
    check!(
        "local x\nx()",
        "ERR: user_script:2: attempt to call local 'x' (a nil value)"
    );
    check!(
        "local t = {} t.a.b = 1",
        "ERR: user_script:1: attempt to index field 'a' (a nil value)"
    );
    check!(
        "local t = {} t:m()",
        "ERR: user_script:1: attempt to call method 'm' (a nil value)"
    );
    check!(
        "return 1 + nil",
        "ERR: user_script:1: attempt to perform arithmetic on a nil value"
    );
    check!(
        "local x return x .. 'a'",
        "ERR: user_script:1: attempt to concatenate local 'x' (a nil value)"
    );
    check!(
        "return {} < {}",
        "ERR: user_script:1: attempt to compare two table values"
    );
    check!(
        "return 1 < 'x'",
        "ERR: user_script:1: attempt to compare number with string"
    );
    check!("error('boom')", "ERR: user_script:1: boom");
    check!(
        "local ok, e = pcall(error, {code=1}) return ok, e.code",
        "false,1"
    );
    check!("return pcall(error, 'x')", "false,x");
    check!("return pcall(function() error('y', 0) end)", "false,y");
    check!(
        "return pcall(function() error('y') end)",
        "false,user_script:1: y"
    );
    check!(
        "return select(2, xpcall(function() error('z') end, function(m) return 'h:' .. m end))",
        "h:user_script:1: z"
    );
    check!(
        "return string.sub()",
        "ERR: user_script:1: bad argument #1 to 'sub' (string expected, got no value)"
    );
    check!(
        "return ('x'):rep(1, 2, 3) .. string.rep(nil)",
        "ERR: user_script:1: bad argument #1 to 'rep' (string expected, got nil)"
    );
    check!(
        "x = ",
        "COMPILE: user_script:1: unexpected symbol near '<eof>'"
    );
    check!(
        "local function f() return f() + 1 end return f()",
        "ERR: user_script:1: stack overflow"
    );
}

#[test]
fn strings() {
    check!(
        "return string.format('%d %5.2f %s %q', 3, 3.14159, 'x', 'a\\nb')",
        "3  3.14 x \"a\\\nb\""
    );
    check!(
        "return string.format('%x %X %o %e %g', 255, 255, 8, 12345.678, 0.0001)",
        "ff FF 10 1.234568e+04 0.0001"
    );
    check!(
        "return string.format('%5s|%-5s|%05d', 'a', 'b', 42)",
        "    a|b    |00042"
    );
    check!("return string.find('hello world', 'o w')", "5,7");
    check!("return string.find('hello', 'l+')", "3,4");
    check!("return string.match('key=val', '(%w+)=(%w+)')", "key,val");
    check!(
        "return string.gsub('hello world', 'o', '0')",
        "hell0 w0rld,2"
    );
    check!("return string.gsub('abc', '%w', '%0%0')", "aabbcc,3");
    check!("return string.gsub('hello', '(l)(l)', '%2%1')", "hello,1");
    check!("local t = {} for w in string.gmatch('one two three', '%a+') do t[#t+1] = w end return table.concat(t, ',')", "one,two,three");
    check!("return string.match('  trim  ', '^%s*(.-)%s*$')", "trim");
    check!("return string.find('a(b)c', '%b()')", "2,4");
    check!("return string.match('THE (quick) fox', '%f[%a]%a+')", "THE");
    check!("return string.match('hello', '()ll()')", "3,5");
    check!("return string.byte('ABC', 1, -1)", "65,66,67");
    check!("return string.char(72, 105)", "Hi");
    check!(
        "return ('abc'):upper(), ('ABC'):lower(), ('abc'):reverse(), ('abc'):len()",
        "ABC,abc,cba,3"
    );
    check!(
        "return string.sub('hello', 2, -2), string.sub('hello', -3)",
        "ell,llo"
    );
    check!("return string.rep('ab', 3)", "ababab");
    check!("return string.gsub('abc', '.', {a=1, b=false})", "1bc,3");
    check!(
        "return string.gsub('abc', '.', {a=true})",
        "ERR: user_script:1: invalid replacement value (a boolean)"
    );
    check!(
        "return string.gsub('abc', '.', function(c) return c:upper() end)",
        "ABC,3"
    );
    check!(
        "return tostring(12), tostring(nil), tostring(true)",
        "12,nil,true"
    );
    check!(
        "return tonumber('0x1F'), tonumber('  12  '), tonumber('z', 36), tonumber('abc')",
        "31,12,35,nil"
    );
}

#[test]
fn tables() {
    check!(
        "local t = {3, 1, 2} table.sort(t) return table.concat(t, ' ')",
        "1 2 3"
    );
    check!("local t = {3, 1, 2} table.sort(t, function(a, b) return a > b end) return table.concat(t, ' ')", "3 2 1");
    check!(
        "local t = {1, 2} table.insert(t, 3) table.insert(t, 1, 0) return table.concat(t, ',')",
        "0,1,2,3"
    );
    check!(
        "local t = {1, 2, 3} local v = table.remove(t, 1) return v, table.concat(t, ',')",
        "1,2,3"
    );
    check!("return table.maxn({1, 2, [10] = 3})", "10");
    check!("local t = {} t[1.0] = 'a' return t[1]", "a");
    check!("return unpack({1, 2, 3})", "1,2,3");
    check!("local t = {n = 1, [2] = 'x'} return t.n, t[2]", "1,x");
    check!("local t = {} for i = 1, 100 do t[i] = i end for i = 1, 100 do t[i] = nil end return #t, next(t)", "0,nil");
}

#[test]
fn metatables() {
    check!(
        "local t = setmetatable({}, {__index = function(t, k) return k .. '!' end}) return t.x",
        "x!"
    );
    check!(
        "local base = {a = 1} local t = setmetatable({}, {__index = base}) return t.a",
        "1"
    );
    check!("local log = {} local t = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 2) end}) t.x = 2 return t.x", "4");
    check!("local V = {} V.__add = function(a, b) return a.v + b.v end local a = setmetatable({v=1}, V) local b = setmetatable({v=2}, V) return a + b", "3");
    check!("local m = {__eq = function() return true end} return setmetatable({}, m) == setmetatable({}, m)", "true");
    check!("local m = {__lt = function(a, b) return a.v < b.v end} return setmetatable({v=1}, m) < setmetatable({v=2}, m)", "true");
    check!(
        "local m = {__tostring = function() return 'obj' end} return tostring(setmetatable({}, m))",
        "obj"
    );
    check!(
        "local m = {__concat = function(a, b) return 'cat' end} return setmetatable({}, m) .. 'x'",
        "cat"
    );
    check!(
        "local m = {__unm = function() return 'neg' end} return -setmetatable({}, m)",
        "neg"
    );
    check!(
        "return getmetatable(setmetatable({}, {__metatable = 'locked'}))",
        "locked"
    );
    check!("return getmetatable('').__index == string", "true");
}

#[test]
fn coroutines() {
    check!("local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end) local _, x = coroutine.resume(co, 1) local _, y = coroutine.resume(co, 10) return x, y, coroutine.status(co)", "2,20,dead");
    check!("local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end) return gen(), gen(), gen()", "1,2,3");
    check!(
        "return coroutine.resume(coroutine.create(function() error('x') end))",
        "false,user_script:1: x"
    );
    check!("local co = coroutine.create(function() pcall(coroutine.yield) end) return coroutine.resume(co)", "true");
    check!(
        "return pcall(coroutine.yield)",
        "false,attempt to yield across metamethod/C-call boundary"
    );
    check!("local co co = coroutine.create(function() return coroutine.status(co), coroutine.running() == co end) return coroutine.resume(co)", "true,running,true");
}

#[test]
fn math_lib() {
    check!(
        "return math.floor(3.7), math.ceil(3.2), math.abs(-2), math.max(1, 5, 3), math.min(4, 2)",
        "3,4,2,5,2"
    );
    check!(
        "return math.huge, -math.huge, math.pi",
        "inf,-inf,3.1415926535898"
    );
    check!("return math.fmod(7, 3), math.modf(3.5)", "1,3,0.5");
    check!("return math.sqrt(16), 2^0.5 == math.sqrt(2)", "4,true");
}

#[test]
fn redis_prng_matches() {
    // Same seed, same numbers as Redis 7.0.15 (`redis-cli eval` with randomseed(0)).
    // A fresh Redis 7.0.15 answers 40, 85, 0.35333609737146 to its first script.
    let mut lua = Lua::new();
    let f = lua
        .load(
            b"return math.random(100), math.random(100), math.random()",
            "@t",
        )
        .unwrap();
    let r = lua.call(&f, &[], &mut NoHost).unwrap();
    let text: Vec<String> = r
        .iter()
        .map(|v| String::from_utf8_lossy(&lib_base::tostring_raw(v)).into_owned())
        .collect();
    assert_eq!(text.join(" "), "40 85 0.35333609737146");
    lua.rand_seed(7);
    let a = lua.call(&f, &[], &mut NoHost).unwrap();
    lua.rand_seed(7);
    let b = lua.call(&f, &[], &mut NoHost).unwrap();
    assert!(a.iter().zip(&b).all(|(x, y)| value::raw_eq(x, y)));
    let _ = run;
}

#[test]
fn gc_keeps_memory_flat() {
    let mut lua = Lua::new();
    let f = lua
        .load(b"for i = 1, 300000 do local t = {i, {}} local f = function() return t end end return collectgarbage('count')", "@t")
        .unwrap();
    let r = lua.call(&f, &[], &mut NoHost).unwrap();
    let kb = lua.to_number(&r[0]).unwrap();
    assert!(kb < 64.0 * 1024.0, "heap grew to {kb} KB");
    assert!(lua.heap.tables.items.len() < 200_000);
}

#[test]
fn readonly_tables() {
    let mut lua = Lua::new();
    let t = lua.create_table(0, 0);
    lua.set_global("ro", t.clone());
    lua.set_readonly(&t, true);
    let f = lua.load(b"ro.x = 1", "@user_script").unwrap();
    let e = lua.call(&f, &[], &mut NoHost).unwrap_err();
    assert_eq!(
        lua.to_bytes(&e.value).unwrap(),
        b"user_script:1: Attempt to modify a readonly table"
    );
    let f = lua
        .load(b"return pcall(rawset, ro, 'a', 1)", "@user_script")
        .unwrap();
    let r = lua.call(&f, &[], &mut NoHost).unwrap();
    assert_eq!(
        lua.to_bytes(&r[1]).unwrap(),
        b"Attempt to modify a readonly table"
    );
}

/// Differential check against a real Redis (`LUA_REF_PORT=7301 cargo test --lib
/// lua::tests::against_redis -- --ignored`): each snippet's pcall results, rendered
/// with tostring, must match byte for byte.
#[test]
#[ignore]
fn against_redis() {
    use std::io::{BufRead, BufReader, Write};
    let port: u16 = std::env::var("LUA_REF_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(7301);
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("reference redis");
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let mut failures = Vec::new();
    for snippet in DIFF_SNIPPETS.split("\n--\n") {
        let snippet = snippet.trim();
        if snippet.is_empty() {
            continue;
        }
        let script = format!(
            "local r = {{pcall(function() {snippet} end)}} local o = {{}} for i = 1, table.maxn(r) do o[#o+1] = tostring(r[i]) end return table.concat(o, '|')"
        );
        let cmd = format!(
            "*3\r\n$4\r\nEVAL\r\n${}\r\n{}\r\n$1\r\n0\r\n",
            script.len(),
            script
        );
        w.write_all(cmd.as_bytes()).unwrap();
        let mut line = Vec::new();
        r.read_until(b'\n', &mut line).unwrap();
        let want = if line[0] == b'$' {
            let n: usize = String::from_utf8_lossy(&line[1..line.len() - 2])
                .parse()
                .unwrap();
            let mut buf = vec![0u8; n + 2];
            std::io::Read::read_exact(&mut r, &mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        } else {
            String::from_utf8_lossy(&line).trim_end().to_string()
        };
        let mut lua = Lua::new();
        let got = match lua.load(script.as_bytes(), "@user_script") {
            Err(e) => format!("-ERR Error compiling script (new function): {e}"),
            Ok(f) => match lua.call(&f, &[], &mut NoHost) {
                Ok(v) => {
                    String::from_utf8_lossy(&lua.to_bytes(&v[0]).unwrap_or_default()).into_owned()
                }
                Err(e) => format!(
                    "ERROR {}",
                    String::from_utf8_lossy(&lib_base::tostring_raw(&e.value))
                ),
            },
        };
        if got != want {
            failures.push(format!(
                "snippet: {snippet}\n  redis: {want}\n  ours:  {got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

const DIFF_SNIPPETS: &str = r#"
return 1e15, 1e14, 123456789012, 0.1, 1/3, -0.0, 1/0, -1/0, 2^53, 2^63, 1e-300, 5e-324
--
return 0/0
--
return string.format('%5.2f|%-8d|%+d|% d|%x|%X|%#x|%o|%#o|%e|%E|%g|%G|%10.3g|%c', 3.14159, 42, 5, 5, 255, 255, 255, 8, 8, 12345.6789, 0.000123, 1e20, 1e-10, math.pi, 65)
--
return string.format('%q', 'a\0b\r\n"\\')
--
return string.format('%s %s %10s %-10s|', 1, 2.5, 'x', 'y')
--
return string.format('%d', 3.9), string.format('%d', -3.9), string.format('%.3d', 7), string.format('%5.1s|', 'abc')
--
return string.format('%y', 1)
--
return string.format('%d')
--
return string.rep()
--
return ('x'):rep()
--
local s = string.rep return s()
--
return string.sub('hello', 0), string.sub('hello', 10), string.sub('hello', -100, 2), string.sub('hello', 3, 2)
--
return string.find('abc', 'b', -10), string.find('abc', '', 10), string.find('abc', '', 4), string.find('a.b', '.', 1, true)
--
return string.match('2024-01-05', '(%d+)-(%d+)-(%d+)')
--
return string.gsub('hello world', '%w+', '<%0>', 1)
--
return string.gsub('abc', '', '-')
--
return string.gsub('abc', 'b*', 'X')
--
return string.find('abc', '[a-')
--
return string.find('abc', '%')
--
return string.match('x', '(()')
--
return string.gsub('abc', '(a)', '%2')
--
return string.match('[[x]]', '%[(%b[])%]')
--
return string.match('hello world', '%f[%w]%w+$')
--
return string.match('aaa', '(a*)%1')
--
return string.match('  x', '^%s*()')
--
return string.gsub('a,b,,c', ',', ';')
--
return tonumber('  0x10  '), tonumber('1e1'), tonumber(''), tonumber(' '), tonumber('10', 2), tonumber('ff', 16), tonumber('8', 8), tonumber('1.5e+3'), tonumber('-0x10')
--
return tonumber('10', 99)
--
return math.floor(-3.5), math.ceil(-3.5), math.fmod(-7, 3), -7 % 3, 7 % -3, math.modf(-3.7)
--
return math.frexp(8), math.ldexp(0.5, 4), math.log(math.exp(1)), math.log10(1000)
--
return math.max(), 1
--
return math.random(0)
--
return #{1, 2, nil, 4}
--
return #{nil, nil, 3}
--
local t = {1, 2, 3} t[5] = 5 return #t
--
local t = {} t[1] = 1 t[2] = 2 t[4] = 4 return #t
--
return select('#'), select('#', nil, nil), select(2, 'a', 'b', 'c')
--
return select(0, 1)
--
return unpack({1, 2, 3}, 2), unpack({1, 2}, 1, 4)
--
return table.concat({1, 2, 3}, ', ', 2, 3), table.concat({}, 'x'), table.concat({1, {}, 3})
--
local t = {5, 2, 8, 1, 9, 3} table.sort(t) return table.concat(t, ' ')
--
local t = {'b', 'a', 'c'} table.sort(t, function(a, b) return a > b end) return table.concat(t)
--
local t = {3, 1, 2} table.sort(t, function(a, b) return true end) return table.concat(t, ' ')
--
local t = {1, 'x', 2} table.sort(t)
--
return table.insert({}, 1, 2, 3)
--
return table.getn({1, 2}), table.maxn({}), table.remove({}), table.remove({1, 2})
--
return table.setn({}, 1)
--
return setmetatable({}, 1)
--
return getmetatable('x').__index == string, ('abc'):upper()
--
local t = setmetatable({}, {__index = function(t, k) return k * 2 end}) return t[21]
--
local t = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v + 1) end}) t[1] = 1 return t[1]
--
return setmetatable({}, {__tostring = function() return 'T' end})
--
local mt = {__add = function(a, b) return 'add' end, __sub = function() return 'sub' end, __mul = function() return 'mul' end, __div = function() return 'div' end, __mod = function() return 'mod' end, __pow = function() return 'pow' end, __unm = function() return 'unm' end, __concat = function() return 'cat' end, __len = function() return 'len' end} local a = setmetatable({}, mt) return a + 1, 1 - a, a * a, a / 2, a % 2, a ^ 2, -a, a .. 'x', #a
--
local a = setmetatable({}, {__le = function() return true end, __lt = function() return false end}) return a <= a, a < a, a >= a, a > a
--
return {} .. 'x'
--
local t = {} return t.x.y
--
local t = {} t.x.y = 1
--
return ('x')()
--
return #nil
--
return -{}
--
local a = 'x' return a + 1
--
return 1 < {}
--
return {} <= {}
--
return 'a' < 1
--
error('msg', 2)
--
error('msg', 0)
--
error()
--
error(nil)
--
error(42)
--
assert(false)
--
assert(nil, 'custom')
--
assert(1 == 1, 'no') return 'ok'
--
return pcall(error)
--
return xpcall(function() error('e') end, function(m) return 'handled: ' .. m end)
--
return coroutine.resume(coroutine.create(function(...) return select('#', ...), ... end), 1, 2)
--
local co = coroutine.create(function() coroutine.yield(1) end) coroutine.resume(co) coroutine.resume(co) return coroutine.resume(co)
--
local co = coroutine.wrap(function() error('in co') end) return co()
--
return coroutine.status(coroutine.create(function() end)), coroutine.running()
--
return coroutine.yield()
--
local co = coroutine.create(function() local t = setmetatable({}, {__index = function() return coroutine.yield(1) end}) return t.x end) return coroutine.resume(co)
--
local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end return f(150)
--
local function f(n) return f(n + 1) + 1 end return f(1)
--
local s = 0 for i = 1, 3, 0.5 do s = s + i end return s
--
for i = 1, 'x' do end
--
for i = 'a', 2 do end
--
for i = 1, 2, {} do end
--
local x = 0 for i = 10, 1 do x = x + 1 end return x
--
return loadstring('return 1 +')
--
return loadstring('x = ')
--
return loadstring('return "abc')
--
return loadstring('return [[abc')
--
return loadstring('for')
--
return loadstring('local x = 1 x')
--
return type(loadstring('f(\n)'))
--
return loadstring('return 1 2')
--
return loadstring('break')
--
return loadstring('return ...')()
--
return loadstring('function f(a) return ... end')
--
return loadstring('return 0x')
--
return loadstring('return 1e')
--
return loadstring('return "\\300"')
--
return loadstring('x = }')
--
return loadstring('if x then')
--
return loadstring('return "a\nb"')
--
return type(loadstring('return 1', 'chunky'))
--
return loadstring('error("x")')()
--
local f = loadstring('error("x")', '=named') return pcall(f)
--
return string.len('\65\066\0067'), '\x41', 'a\z', "\'"
--
return [==[a]]b]==], [[
line]]
--
local a <const> = 1
--
return 0x7fffffff + 1, 2^31, -2^31, 1e308 * 10
--
return 10 // 3
--
return 3 & 1
--
goto x
--
return gcinfo() > 0, collectgarbage('count') > 0, collectgarbage(), collectgarbage('step'), collectgarbage('setpause', 100), collectgarbage('setpause', 200)
--
return collectgarbage('bogus')
--
local t = {10, 20, 30, x = 1} local n = 0 for k, v in pairs(t) do n = n + 1 end return n
--
local s = '' for i, v in ipairs({1, 2, nil, 4}) do s = s .. v end return s
--
return pairs(nil)
--
return ipairs()
--
return next({}, 'nokey')
--
return rawset({}, nil, 1)
--
local t = {} t[nil] = 1
--
local t = {} t[0/0] = 1
--
return string.byte('abc', 0), string.byte(''), string.char(), string.char(256)
--
return ('%d'):format(1e100)
--
return string.format('%.14g', 0.1), string.format('%5.3s|', 'abcdef'), string.format('%-5c|', 65)
--
return string.format('%.20f', 0.1), string.format('%.0f', 0.5), string.format('%.0f', 1.5), string.format('%#.0f', 1), string.format('%g', 100000), string.format('%g', 1000000), string.format('%#g', 1)
--
return string.format('%5.1f|%-8.3e|%08.2f|%+.2e', -0.05, 1234.5, -3.14159, 0)
--
return string.format('%i', 42), string.format('%u', 42), string.format('%x', -1)
--
return tostring(1e100), tostring(-1e-100), tostring(123456.789), tostring(2^63), 2^24 + 0.5
--
return math.abs(-0), 0 * -1, math.floor(-0.0)
--
return 'abc' < 'abd', 'Z' < 'a', '' < 'a', 'a\0b' < 'a\0c'
--
local t = {} for i = 1, 10 do t[i] = i end for i = 1, 10 do t[i] = nil end t[20] = 1 return #t
--
local a = {n = 0} function a:inc(k) self.n = self.n + (k or 1) return self end return a:inc():inc(5).n
--
local x, y, z = 1 return x, y, z
--
local a, b = 1, 2, 3 return a, b
--
local t = {f = function(...) return ... end} return t.f(1, 2), (t.f(3, 4))
--
local function v(...) local a, b = ... return a, b, select('#', ...) end return v(), v(1), v(1, 2, 3)
--
local i = 1 local t = {} i, t[i] = i + 1, 20 return i, t[1], t[2]
--
local a, b = 1, 2 a, b = b, a return a, b
--
local t = setmetatable({}, {__index = string}) return t.upper('x')
--
local ok, e = pcall(function() local t = setmetatable({}, {__index = function(t, k) error('idx ' .. k) end}) return t.foo end) return ok, e
--
return string.gsub('hello', 'l', {l = 'L'}), string.gsub('abc', '%w', '%%')
--
return string.gsub('abc', '(b)', '%3')
--
return string.find('', ''), string.find('abc', '^b'), string.find('abc', 'c$'), string.match('a$', 'a$')
--
return string.gmatch('abc', '.')()
--
local r = {} for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do r[#r+1] = k .. v end return table.concat(r, ';')
--
local r = {} for w in string.gmatch('abc', '') do r[#r+1] = '[' .. w .. ']' end return table.concat(r)
--
return string.rep('ab', 3, ','), string.rep('x', 0), string.rep('x', -1)
--
return string.format('%s', setmetatable({}, {__tostring = function() return 'TT' end}))
--
return tostring(setmetatable({}, {__tostring = function() return 1 end}))
--
return string.reverse(''), string.lower('ÀB'), string.upper('aé')
--
return table.concat({1, 2, 3}, nil), table.concat({'a'}, 'x', 1, 0)
--
local t = {1, 2, 3} table.insert(t, 5, 'x') return t[5], #t
--
local t = {1, 2, 3} table.remove(t, 1) table.remove(t) return t[1], #t
--
return math.min(1), math.max(3, 2, 'x')
--
return math.pow(2, 3), math.sqrt(-1), math.huge // 1
--
return 2^-1074, 2^1023 * 2, string.format('%.17g', 0.1)
--
return 1e15 + 0.5, 123456789012345678
--
return -2^63, 2^63 - 1, -1e15, 1e16
--
return tostring(nil), tostring(false), tostring(123.0), tostring('x'), type(nil), type(next), rawequal('a', 'a'), rawget({10}, 1)
--
return coroutine.create(string.len)
--
return 100000000000000, 1e14 * 10, 99999999999999.9
--
local x = 1
local y = nil
return x + y
--
local t = {}
t.a.b.c = 1
--
local t = {a = {}}
return t.a.b.c
--
local s = 'x'
return s.y.z
--
local function f(a) return a.b end
return f(nil)
--
local up = nil
local function f() return up.x end
return f()
--
return math.floor('x')
--
return ('abc'):sub('x')
--
return string.rep('x', 3, 4)
--
local t = {} t[1] = t return #t
--
return tostring(1e15), tostring(1e16), tostring(-123456789.123), 2^31 .. '', 10 / 3 .. ''
--
local a = {} for i = 1, 10 do a[i] = i * i end return table.concat(a, ','), #a
--
local t = {} for i = 1, 5 do table.insert(t, i) end table.remove(t, 2) table.insert(t, 1, 'x') return table.concat(t, ',')
--
local t = {'c', 'a', 'b', 'e', 'd'} table.sort(t) return table.concat(t)
--
local t = {} for i = 1, 200 do t[i] = (i * 7919) % 211 end table.sort(t) local ok = true for i = 2, 200 do if t[i-1] > t[i] then ok = false end end return ok, t[1], t[200]
--
local t = {} for i = 1, 50 do t[i] = {k = (i * 37) % 17, i = i} end table.sort(t, function(a, b) if a.k ~= b.k then return a.k < b.k end return a.i < b.i end) return t[1].i, t[50].i, t[25].k
--
local s = 'The quick brown fox' local words = {} for w in s:gmatch('%a+') do words[#words + 1] = w:lower() end return table.concat(words, '-')
--
return ('hello world from lua'):gsub('(%w+)', '<%1>')
--
return ('abc=123, def=456'):match('def=(%d+)')
--
return string.format('%-10s|%10s|', 'left', 'right'), string.format('%3d|%-3d|%03d', 5, 5, 5)
--
return string.format('%.3f %.0f %10.4f %-10.2f|', 1/3, 2.5, math.pi, -1.005)
--
return string.format('%g %g %g %g %g', 1e-5, 123456789, 0.1, 100, 1e15)
--
return string.format('%5.2s|%.0s|%s', 'abc', 'abc', 12.5)
--
return tonumber('1e308'), tonumber('1e309'), tonumber('-1e309'), tonumber('0x'), tonumber('1 0')
--
return 7 // 2
--
local a = {1, 2, 3}
local b = a
b[1] = 10
return a[1]
--
return next({}, nil), type(next({1}))
--
local t = {x = 1, y = 2, z = 3} local keys = {} for k in pairs(t) do keys[#keys + 1] = k end table.sort(keys) return table.concat(keys)
--
local t = {} for i = 1, 10 do t[i] = i end for k, v in pairs(t) do t[k] = nil end return next(t)
--
local co = coroutine.wrap(function(a, b) local c = coroutine.yield(a + b) local d, e = coroutine.yield(c * 2) return d + e end) return co(1, 2), co(10), co(3, 4)
--
local co = coroutine.create(function() return 1 end) coroutine.resume(co) return coroutine.resume(co)
--
local co = coroutine.wrap(function() return 1 end) co() return co()
--
return coroutine.status(coroutine.running() or coroutine.create(function() end))
--
return pcall(setmetatable, {}, {}), select('#', pcall(error))
--
local ok, e = pcall(error, setmetatable({}, {__tostring = function() return 'custom' end})) return ok, tostring(e)
--
return string.find('abc', 'b', 1, true), string.find('a+b', '+', 1, true), string.find('a.b', '.', 2)
--
return string.format('%q', 1/3)
--
return string.byte('A'), string.byte('ABC', 2), string.byte('ABC', -1), ('x'):byte()
--
return math.max(1, 2.5, -1), math.min(3), math.abs(-0.5), math.ceil(-0.5)
--
return 5 % 0, -5 % 0, 0/0 == 0/0, math.huge == math.huge
--
return 1e308 + 1e308, -(0/0)
--
local a, b = pcall(function() local t = nil; t.x = 1 end) return b
--
local a, b = pcall(function() local s = 'x' .. {} end) return b
--
local a, b = pcall(function() return #5 end) return b
--
local a, b = pcall(function() local t = {} t[nil] = 1 end) return b
--
return rawequal({}, {}), rawget(setmetatable({}, {__index = function() return 1 end}), 'x')
--
return type(string.gmatch('a', 'a')), type(coroutine.create(function() end))
--
local f = loadstring('return ...') return f(1, 2, 3)
--
local f, e = loadstring('return +') return f, e
--
local f, e = loadstring('local t = {} t.x.y = 1') return pcall(f)
--
return type(load(function() return nil end))
--
local parts = {'return ', '1 + ', '41'} local i = 0 return load(function() i = i + 1 return parts[i] end)()
--
return string.gsub('hello world', 'o', {o = 'O'}, 1)
--
return string.gsub('abc', '%w', '%1')
--
return string.gsub('abc', 'b', '%')
--
return string.match('key = value', '(%w+)%s*=%s*(%w+)')
--
return string.match('2024', '^(%d%d)(%d%d)$')
--
return string.find('abc', '[b-]'), string.find('a-c', '[%-]'), string.find('a]c', '[]]')
--
return string.match('hello', '.-(l+)(.*)')
--
return string.match(' x', '^ *$'), string.match('', '.-'), string.match('abc', '()c()')
--
return string.rep('-', 3) .. '|' .. ('x'):rep(2, nil)
--
local t = setmetatable({}, {__index = table}) t:insert('a') t:insert('b') return t:concat(',')
--
return select('#', unpack({}, 1, 3)), unpack({1, 2, 3}, -1, 1)
--
local t = {n = 3} return unpack(t, 1, t.n)
--
return tostring(true):upper(), ('%s'):rep(2):format(1, 2)
--
return string.format('%d', 'x')
--
return ('x'):format(nil)
--
return string.format('%s %s', 1)
--
return tonumber()
--
return tostring()
--
return setmetatable()
--
return ipairs(nil)
--
return pairs()
--
return table.concat({}, 1, 2, 3)
--
return table.insert(nil, 1)
--
return table.sort({}, 1)
--
return math.floor()
--
return string.char(-1)
--
return string.byte(nil)
--
return unpack(nil)
--
return select()
--
return rawget(1, 2)
--
return coroutine.resume(1)
--
return coroutine.wrap(1)
--
return string.gsub('x', 'x', true)
--
return string.gmatch(nil)
--
return error('x', 'y')
--
return string.rep('x', 'y')
--
local t = {} t:nomethod()
--
local s = 'x' s:nomethod()
--
return (nil)()
--
return ({}).x.y
--
return 1 .. nil
--
local a = {} local b = a.x + 1
--
return math.max('a')
--
local t = setmetatable({}, {__index = function(t, k) error('no field ' .. k, 2) end}) return t.foo
--
local function lvl() error('deep', 2) end local function caller() lvl() end caller()
--
local function lvl() error('deep', 3) end local function mid() lvl() end local function top() mid() end top()
--
local a = 1
local x = a +
 nil
--
local a = {}
local x = a.b
.c
--
local a
local x = a ..
'x'
--
local t = {}
t.x
.y = 1
--
local a = {}
if a.x <
  a.y then end
--
return loadstring('local a0' .. string.rep(', a', 250))
--
return loadstring('x = = 1\nsecond line')
--
return loadstring('x = = 1 ' .. string.rep('y', 100))
--
return loadstring('x = = 1', '=' .. string.rep('n', 100))
--
return loadstring('x = = 1', '@' .. string.rep('f', 100))
--
return pcall(loadstring('error("e")', '@' .. string.rep('g', 100)))
--
return pcall(loadstring('error("e") -- ' .. string.rep('z', 100)))
--
return 2^63 == 2^63 + 1, 9007199254740993, -9007199254740993
--
return string.format('%d', 2^53), string.format('%d', -2^31), string.format('%x', 2^32)
"#;

#[test]
fn break_leaves_a_while_loop() {
    let mut lua = Lua::new();
    let f = lua
        .load(
            b"local i = 0 while true do i = i + 1 if i > 7 then break end end \
              local j = 0 while j < 100 do j = j + 1 local x = function() return j end if j == 3 then break end end \
              return i * 100 + j",
            "=t",
        )
        .unwrap();
    let r = lua.call(&f, &[], &mut NoHost).unwrap();
    assert!(matches!(r[0], Value::Num(n) if n == 803.0));
}

/// Runs `src` on a thread with a 1 MB stack (less than the server's script threads).
fn eval_small_stack(src: &'static str, limit: Option<usize>) -> String {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let mut lua = Lua::new();
            if let Some(l) = limit {
                lua.set_memory_limit(l);
            }
            let f = match lua.load(src.as_bytes(), "@user_script") {
                Ok(f) => f,
                Err(e) => return format!("COMPILE: {e}"),
            };
            match lua.call(&f, &[], &mut NoHost) {
                Ok(v) => v
                    .iter()
                    .map(|v| String::from_utf8_lossy(&lib_base::tostring_raw(v)).into_owned())
                    .collect::<Vec<_>>()
                    .join(","),
                Err(e) => format!(
                    "ERR: {}",
                    String::from_utf8_lossy(&lib_base::tostring_raw(&e.value))
                ),
            }
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn limits_instead_of_crashes() {
    let cases: &[(&str, &str)] = &[
        ("local function f() return 1 + f() end return f()", "ERR: user_script:1: stack overflow"),
        ("local function f() return pcall(f) end return f()", "false,C stack overflow"),
        ("local function f() local ok, e = pcall(f) if not ok then error(e, 0) end end local ok, e = pcall(f) return e", "C stack overflow"),
        ("local t = setmetatable({}, {}) getmetatable(t).__index = function(t, k) return t[k] end return pcall(function() return t.x end)", "false,user_script:1: C stack overflow"),
        ("local t = setmetatable({}, {}) getmetatable(t).__tostring = function(t) return tostring(t) end return pcall(tostring, t)", "false,C stack overflow"),
        ("local function f() return coroutine.resume(coroutine.create(f)) end return f()", "false,C stack overflow"),
        ("local t = {} for i = 1, 100 do t[i] = i end local d = 0 local function c(a, b) d = d + 1 if d < 500 then table.sort({3, 2, 1}, c) end return a < b end table.sort(t, c) return 'ok'", "C stack overflow"),
        ("return string.gsub('x', 'x', function() return string.gsub('x', 'x', function() return 'y' end) end)", "y,1"),
        ("local s = 'x' for i = 1, 40 do s = s .. s end return #s", "ERR: not enough memory"),
        ("return #string.rep('x', 1e9)", "ERR: not enough memory"),
        ("local t = {} for i = 1, 1e9 do t[i] = i end", "ERR: not enough memory"),
        ("local t = {} for i = 1, 1e9 do t['k' .. i] = {} end", "ERR: not enough memory"),
    ];
    for (src, want) in cases {
        let got = eval_small_stack(src, Some(64 << 20));
        assert!(
            got.contains(want),
            "script {src}\n got: {got}\nwant: {want}"
        );
    }
}

#[test]
fn parser_nesting_is_limited() {
    let deep = format!("return {}1{}", "(".repeat(300), ")".repeat(300));
    let leaked: &'static str = Box::leak(deep.into_boxed_str());
    let got = eval_small_stack(leaked, None);
    assert!(got.contains("chunk has too many syntax levels"), "{got}");
    let deep = format!("return {}1{}", "{".repeat(300), "}".repeat(300));
    let leaked: &'static str = Box::leak(deep.into_boxed_str());
    assert!(eval_small_stack(leaked, None).contains("chunk has too many syntax levels"));
    let deep = format!("return 1{}", " .. 1".repeat(300));
    let leaked: &'static str = Box::leak(deep.into_boxed_str());
    assert!(eval_small_stack(leaked, None).contains("chunk has too many syntax levels"));
    let deep = format!("{} end", "do ".repeat(300).trim_end());
    let leaked: &'static str = Box::leak(deep.into_boxed_str());
    assert!(eval_small_stack(leaked, None).contains("chunk has too many syntax levels"));
    let ok = format!("return 1{}", " + 1".repeat(150));
    let leaked: &'static str = Box::leak(ok.into_boxed_str());
    assert_eq!(eval_small_stack(leaked, None), "151");
}

#[test]
fn interrupt_can_abort() {
    struct Stop(u32);
    impl Host for Stop {
        fn interrupt(&mut self, lua: &mut Lua) -> Result<(), Error> {
            self.0 += 1;
            if self.0 > 3 {
                let mut e = Error::msg(lua, "killed");
                e.fatal = true;
                return Err(e);
            }
            Ok(())
        }
    }
    let mut lua = Lua::new();
    lua.set_hook_interval(1000);
    let f = lua
        .load(b"while true do pcall(function() end) end", "@user_script")
        .unwrap();
    let e = lua.call(&f, &[], &mut Stop(0)).unwrap_err();
    assert!(e.fatal);
    assert_eq!(lua.to_bytes(&e.value).unwrap(), b"killed");
    // The state stays usable.
    let f = lua.load(b"return 1 + 1", "@user_script").unwrap();
    let r = lua.call(&f, &[], &mut NoHost).unwrap();
    assert_eq!(lua.to_number(&r[0]), Some(2.0));
}

#[test]
fn host_api() {
    fn add(lua: &mut Lua, _: &mut dyn Host, args: &[Value]) -> Result<Vec<Value>, Error> {
        let a = lua.to_number(&args[0]).unwrap_or(0.0);
        if a < 0.0 {
            return Err(lua.error_here(1, "negative"));
        }
        Ok(vec![Value::Num(a + 1.0)])
    }
    let mut lua = Lua::new();
    let f = lua.native("add", add);
    lua.set_global("add", f);
    let f = lua
        .load(
            b"local x = add(1)\nreturn x, pcall(add, -1), add(-1)",
            "@user_script",
        )
        .unwrap();
    let e = lua.call(&f, &[], &mut NoHost).unwrap_err();
    assert_eq!(lua.to_bytes(&e.value).unwrap(), b"user_script:2: negative");
    let t = lua.create_table(0, 0);
    lua.raw_set(&t, Value::Num(1.0), Value::Bool(true)).unwrap();
    lua.set_field(&t, "k", Value::Num(5.0)).unwrap();
    assert_eq!(lua.raw_len(&t), 1);
    assert!(matches!(lua.get_field(&t, "k"), Value::Num(n) if n == 5.0));
    assert!(lua.raw_set(&t, Value::Nil, Value::Nil).is_err());
    lua.registry_set("keep", t.clone());
    lua.collect();
    assert!(matches!(lua.registry_get("keep"), Value::Table(_)));
    let mut n = 0;
    let mut k = Value::Nil;
    while let Some((nk, _)) = lua.next(&t, &k).unwrap() {
        n += 1;
        k = nk;
    }
    assert_eq!(n, 2);
    assert_eq!(
        lua.load(b"x =", "@user_script").unwrap_err(),
        "user_script:1: unexpected symbol near '<eof>'"
    );
    let u = lua.new_userdata();
    assert_eq!(Lua::type_name(&u), "userdata");
    assert_eq!(fmt_number(0.1), "0.1");
    assert!(lua.used_memory() > 0);
}

#[test]
fn compiler_corners() {
    check!("local a, b, c = 1 return a, b, c", "1,nil,nil");
    check!("local t = {} t.x, t.y = 1, 2 return t.x + t.y", "3");
    check!(
        "local a = {} local i = 1 i, a[i] = i + 1, 'v' return i, a[1], a[2]",
        "2,v,nil"
    );
    check!(
        "local x = 1 local function f() x = x + 1 return x end f() f() return x",
        "3"
    );
    check!("local function outer() local a = 1 return function() return function() a = a + 1 return a end end end local f = outer()() f() return f()", "3");
    check!("local fs = {} local i = 1 while i <= 3 do local j = i fs[i] = function() return j end i = i + 1 end return fs[1]() + fs[2]() + fs[3]()", "6");
    check!("local fs = {} for i = 1, 5 do local j = i * 2 fs[#fs + 1] = function() return j end if i == 3 then break end end return #fs, fs[3]()", "3,6");
    check!("local fs = {} local i = 0 repeat local k = i fs[#fs+1] = function() return k end i = i + 1 until k >= 2 return fs[1]() + fs[3]()", "2");
    check!("local fs = {} for k, v in pairs({a = 1}) do fs[1] = function() return k .. v end end return fs[1]()", "a1");
    check!("local function f(...) return {...}, select('#', ...) end local t, n = f(1, nil, 3) return #t, n, t[3]", "3,3,3");
    check!("local function f(...) local t = {n = select('#', ...), ...} return t.n, t[1], t[2] end return f('a', 'b')", "2,a,b");
    check!(
        "return ('x'):rep(3), (\"%d\"):format(7), #[[ab]], [==[a]]b]==]",
        "xxx,7,2,a]]b"
    );
    check!(
        "-- comment\nlocal x = 1 --[[ block\ncomment ]] return x --[==[ x ]==]",
        "1"
    );
    check!("local x = 10 do local x = 20 end return x", "10");
    check!("local x = 1 local x = x + 1 return x", "2");
    check!(
        "return 2^3^2, -2^2, not 1 == 2, 1 .. 2 == '12', 1 + 2 * 3 - 4 / 2",
        "512,-4,false,true,5"
    );
    check!(
        "return 1 < 2 and 2 < 3, nil and nil or 'd', false or nil",
        "true,d,nil"
    );
    check!(
        "local t = {[1] = 'a', [2] = 'b', 'c'} return t[1], t[2]",
        "c,b"
    );
    check!(
        "local t = {f = function(self, x) return self.v + x end, v = 1} return t:f(2)",
        "3"
    );
    check!(
        "local s = 0 for i = 1, 2, 0.5 do s = s + i end return s",
        "4.5"
    );
    check!(
        "local s = 0 for i = 3, 1, -1 do s = s * 10 + i end return s",
        "321"
    );
    check!("local n = 0 for i = 1, 0 do n = n + 1 end return n", "0");
    check!("local a = 'x' local b = a .. a .. a return b", "xxx");
    check!("local a, b = 'a', 'b' a, b = b, a return a .. b", "ba");
    check!(
        "local t = {1, 2, 3} local a, b = t[1], t[#t] return a, b",
        "1,3"
    );
    check!(
        "local function f() end local a, b = f() return a, b",
        "nil,nil"
    );
    check!(
        "local function f() return 1, 2 end local t = {f(), f()} return #t",
        "3"
    );
    check!(
        "local function f() return 1, 2 end local t = {(f())} return #t",
        "1"
    );
    check!("local x = 0 local function inc() x = x + 1 return x end local t = {inc(), inc(), inc()} return t[3], x", "3,3");
    check!("local t = setmetatable({}, {__index = function(_, k) return k end}) local a = t.foo .. t.bar return a", "foobar");
    check!("goto_ = 1 return goto_", "1");
    check!("local a = {} a[1], a[2] = 1 return a[1], a[2]", "1,nil");
    check!(
        "local t = {} t[#t + 1] = 'a' t[#t + 1] = 'b' return #t, t[2]",
        "2,b"
    );
    check!(
        "local x = 5 local y = x == 5 and 'five' or 'other' return y",
        "five"
    );
    check!(
        "local x = nil local y = x ~= nil and x.a or 'none' return y",
        "none"
    );
    check!(
        "local function f(a, b) a = a or 1 b = b or a return a + b end return f(), f(2), f(2, 3)",
        "2,4,5"
    );
    check!("local v = 3 v = v > 2 return v", "true");
    check!("local a = 1 a = a and nil return a", "nil");
    check!("local a = 1 a = a or a + 1 return a", "1");
    check!(
        "local t = {a = {b = {c = 42}}} return t.a.b.c, t['a']['b'].c",
        "42,42"
    );
    check!("local s = 'abc' return s:sub(2):upper()", "BC");
    check!(
        "return (function(...) return select('#', ...) end)(nil, nil)",
        "2"
    );
    check!("local co = coroutine.wrap(function(...) local a = {...} while true do a = {coroutine.yield(#a)} end end) return co(1, 2), co(), co(1, 2, 3)", "2,0,3");
}

#[test]
fn environments() {
    check!(
        "local function f() return x end setfenv(f, {x = 5}) return f()",
        "5"
    );
    check!(
        "local t = {y = 7, setfenv = setfenv} setfenv(1, t) return y",
        "7"
    );
    check!(
        "return getfenv(0) == _G, getfenv(print or type) == _G",
        "true,true"
    );
}

#[test]
fn extreme_numbers_in_libraries() {
    check!("return table.concat({[2^63] = 'x'}, '', 2^63, 2^63)", "x");
    check!(
        "return string.sub('abc', -1e300, 1e300), string.sub('abc', 1e300)",
        "abc,"
    );
    check!("return string.byte('abc', -1e18, 1e18)", "97,98,99");
    check!(
        "return select('#', string.find('abc', 'b', -1e300)), string.rep('x', -1e300)",
        "2,"
    );
    check!(
        "return pcall(string.char, 1e300)",
        "false,bad argument #1 to '?' (invalid value)"
    );
    check!(
        "return pcall(unpack, {}, -1e18, 1e18)",
        "false,too many results to unpack"
    );
    check!(
        "return tonumber('zzzzzzzzzzzzzzzzzzzz', 36) > 0, select(1e300, 'a')",
        "true"
    );
    check!(
        "return string.format('%d %x %5.1e', 1e300, -1e300, -1e300)",
        "-9223372036854775808 8000000000000000 -1.0e+300"
    );
    check!(
        "return pcall(table.insert, {}, -1e300, 1)",
        "false,bad argument #2 to '?' (position out of bounds)"
    );
}

#[test]
fn gc_under_pressure() {
    // Collections run inside pcall, coroutines and closures; everything reachable stays.
    check!(
        "local keep = {} \
         local function mk(i) local t = {i = i} return function() return t.i end end \
         for i = 1, 2000 do keep[i % 50 + 1] = mk(i) if i % 100 == 0 then collectgarbage() end end \
         local co = coroutine.create(function(a) local x = {a} for i = 1, 3 do collectgarbage() coroutine.yield(x[1] + i) end return 'end' end) \
         local out = {} for i = 1, 4 do local ok, v = coroutine.resume(co, 10) out[#out + 1] = tostring(v) collectgarbage() end \
         local ok = pcall(function() local big = {} for i = 1, 1000 do big[i] = {i} end collectgarbage() return #big end) \
         local up = {} for i = 1, 10 do local v = {i} up[i] = function() return v[1] end end collectgarbage() \
         return keep[1](), table.concat(out, ' '), ok, up[7]()",
        "2000,11 12 13 end,true,7"
    );
    check!(
        "local t = setmetatable({}, {__index = function(t, k) collectgarbage() return {k} end}) \
         local s = 0 for i = 1, 50 do s = s + t[i][1] end return s",
        "1275"
    );
    // An open upvalue of a suspended coroutine, reached from outside.
    check!(
        "local get local co = coroutine.create(function() local x = {n = 1} get = function() return x.n end coroutine.yield() x.n = 2 end) \
         coroutine.resume(co) collectgarbage() local a = get() coroutine.resume(co) collectgarbage() return a, get()",
        "1,2"
    );
    check!(
        "local get do local co = coroutine.create(function() local x = {n = 5} get = function() return x.n end coroutine.yield() end) coroutine.resume(co) end \
         collectgarbage() collectgarbage() return get()",
        "5"
    );
}

#[test]
fn coroutine_corners() {
    check!("local s = 0 for v in coroutine.wrap(function() for i = 1, 4 do coroutine.yield(i) end end) do s = s + v end return s", "10");
    check!("local co = coroutine.create(function(...) local n = select('#', ...) local a = {coroutine.yield(n)} return #a end) local _, n = coroutine.resume(co, 1, 2, 3) local _, m = coroutine.resume(co, 'x', 'y') return n, m", "3,2");
    check!("local co = coroutine.create(function() local ok, e = pcall(error, 'inner') coroutine.yield(e) return 'done' end) local _, a = coroutine.resume(co) local _, b = coroutine.resume(co) return a, b", "inner,done");
    check!("local co = coroutine.create(function() error({code = 7}) end) local ok, e = coroutine.resume(co) return ok, e.code, coroutine.status(co)", "false,7,dead");
    check!("local outer = coroutine.create(function() local inner = coroutine.create(function() coroutine.yield('i') return 'j' end) local _, a = coroutine.resume(inner) coroutine.yield(a) local _, b = coroutine.resume(inner) return b end) local _, x = coroutine.resume(outer) local _, y = coroutine.resume(outer) return x, y", "i,j");
    check!("local co = coroutine.create(function() return coroutine.status(coroutine.running()) end) return coroutine.resume(co)", "true,running");
    check!("local a local co = coroutine.create(function() local inner = coroutine.create(function() return coroutine.status(a) end) return coroutine.resume(inner) end) a = co return coroutine.resume(co)", "true,true,normal");
    check!("local co = coroutine.wrap(function() return end) co() local a, b = pcall(co) return a, b, pcall(function() return co() end)", "false,cannot resume dead coroutine,false,user_script:1: cannot resume dead coroutine");
    check!("local t = setmetatable({}, {__index = function() return coroutine.yield() end}) local co = coroutine.create(function() return t.x end) return coroutine.resume(co)", "false,attempt to yield across metamethod/C-call boundary");
}

#[test]
fn memory_limit_counts_live_data_only() {
    // Lots of garbage over time, little live data: no error.
    let got = eval_small_stack(
        "collectgarbage('stop') local keep = {} for i = 1, 2000 do local t = {} t[1] = string.rep('x', 100000) keep[i % 4 + 1] = t end return #keep",
        Some(32 << 20),
    );
    assert_eq!(got, "4");
}

/// Random token soup and random mutations of valid scripts: compiling and running them
/// must never panic (errors are fine); a fatal interrupt stops endless loops.
#[test]
fn random_programs_never_panic() {
    struct Budget(u32);
    impl Host for Budget {
        fn interrupt(&mut self, lua: &mut Lua) -> Result<(), Error> {
            self.0 += 1;
            if self.0 > 20 {
                let mut e = Error::msg(lua, "budget");
                e.fatal = true;
                return Err(e);
            }
            Ok(())
        }
    }
    const TOKENS: &[&str] = &[
        "local",
        "x",
        "y",
        "t",
        "f",
        "=",
        "==",
        "~=",
        "<",
        "<=",
        "(",
        ")",
        "{",
        "}",
        "[",
        "]",
        ",",
        ";",
        ".",
        ":",
        "..",
        "...",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "#",
        "and",
        "or",
        "not",
        "if",
        "then",
        "else",
        "elseif",
        "end",
        "while",
        "do",
        "for",
        "in",
        "repeat",
        "until",
        "function",
        "return",
        "break",
        "nil",
        "true",
        "false",
        "1",
        "0",
        "2.5",
        "'s'",
        "\"a\"",
        "[[l]]",
        "pcall",
        "error",
        "setmetatable",
        "string.rep",
        "table.sort",
        "coroutine.wrap",
        "coroutine.yield",
        "string.gsub",
        "string.format",
        "'%d'",
        "'(.-)'",
        "select",
        "unpack",
        "tostring",
        "tonumber",
        "next",
        "pairs",
        "ipairs",
        "__index",
        "__call",
        "__add",
        "1e300",
        "-1",
        "0/0",
        "{}",
        "x.y",
        "t[1]",
        "f()",
        "#t",
        "...",
    ];
    let seeds = [
        "local t = {} for i = 1, 10 do t[i] = i end return #t",
        "local function f(a, ...) return select('#', ...) + a end return f(1, 2, 3)",
        "return string.gsub('hello world', '(o)', '%1%1')",
        "local co = coroutine.wrap(function(a) coroutine.yield(a) return 2 end) return co(1), co()",
        "local t = setmetatable({}, {__index = function(t, k) return k end}) return t.x .. t[1]",
    ];
    let mut state: u64 = std::env::var("LUA_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x2545_F491_4F6C_DD1D);
    let mut rnd = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut lua = Lua::new();
    lua.set_hook_interval(1000);
    lua.set_memory_limit(64 << 20);
    let mut ran = 0;
    let rounds: usize = std::env::var("LUA_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30000);
    for round in 0..rounds {
        let src: Vec<u8> = if round % 2 == 0 {
            let n = 1 + rnd(40);
            (0..n)
                .map(|_| TOKENS[rnd(TOKENS.len())])
                .collect::<Vec<_>>()
                .join(" ")
                .into_bytes()
        } else {
            let mut s = seeds[rnd(seeds.len())].as_bytes().to_vec();
            for _ in 0..1 + rnd(4) {
                let pos = rnd(s.len() + 1);
                match rnd(3) {
                    0 if pos < s.len() => {
                        s.remove(pos);
                    }
                    1 => {
                        let tok = TOKENS[rnd(TOKENS.len())].as_bytes();
                        for (i, b) in tok.iter().enumerate() {
                            s.insert(pos + i, *b);
                        }
                    }
                    _ => {
                        if pos < s.len() {
                            let alphabet = b"()[]{}.,;:=+-*/%^#~<>'\"\\0123456789abc \n";
                            s[pos] = alphabet[rnd(alphabet.len())];
                        }
                    }
                }
            }
            s
        };
        if let Ok(f) = lua.load(&src, "@user_script") {
            ran += 1;
            let _ = lua.call(&f, &[], &mut Budget(0));
        }
    }
    assert!(ran > 1000, "only {ran} programs compiled");
    // The state still works.
    let f = lua.load(b"return 6 * 7", "@user_script").unwrap();
    let r = lua.call(&f, &[], &mut NoHost).unwrap();
    assert_eq!(lua.to_number(&r[0]), Some(42.0));
}

#[test]
fn many_scripts_on_one_state_stay_bounded() {
    let mut lua = Lua::new();
    let mut peak = 0;
    for i in 0..20000 {
        let src = format!("local t = {{}} for j = 1, 20 do t[j] = {{j, '{i}'}} end return #t");
        let f = lua.load(src.as_bytes(), "@user_script").unwrap();
        let r = lua.call(&f, &[], &mut NoHost).unwrap();
        assert_eq!(lua.to_number(&r[0]), Some(20.0));
        peak = peak.max(lua.used_memory());
    }
    lua.collect();
    assert!(peak < 16 << 20, "peak {peak}");
    assert!(
        lua.used_memory() < 1 << 20,
        "after collect {}",
        lua.used_memory()
    );
}
