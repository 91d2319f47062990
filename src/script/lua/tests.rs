//! The conformance suite: Lua source run through the interpreter, results checked.

use super::*;

fn run(src: &str) -> Result<Vec<Value>, String> {
    let mut lua = Lua::new();
    let f = lua.load(src.as_bytes(), "@user_script")?;
    lua.call(&f, &[], &mut NoHost).map_err(|e| {
        String::from_utf8_lossy(&lua.to_bytes(&e.value).unwrap_or_else(|| b"<non-string error>".to_vec())).into_owned()
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
    check!("return 1 == 1, 1 < 2, 'a' < 'b', 2 <= 1, nil == false", "true,true,true,false,false");
    check!("return not nil, 1 and 2, nil or 3, false and 1", "true,2,3,false");
    check!("return #'abc', #{1,2,3}", "3,3");
    check!("return 0x10, 1e2, .5", "16,100,0.5");
    check!("return 1e15, 0.1, -0.0, 1/0, -1/0", "1e+15,0.1,-0,inf,-inf");
}

#[test]
fn control_flow() {
    check!("local s = 0 for i = 1, 10 do s = s + i end return s", "55");
    check!("local s = 0 for i = 10, 1, -2 do s = s + i end return s", "30");
    check!("local i = 0 while i < 5 do i = i + 1 end return i", "5");
    check!("local i = 0 repeat local j = i i = i + 1 until j >= 3 return i", "4");
    check!("for i = 1, 3 do if i == 2 then return i end end", "2");
    check!("local t = {} for i = 1, 10 do if i > 3 then break end t[#t+1] = i end return #t", "3");
    check!("local x = 5 if x > 10 then return 1 elseif x > 3 then return 2 else return 3 end", "2");
    check!("local s = '' for k, v in ipairs({'a','b','c'}) do s = s .. k .. v end return s", "1a2b3c");
    check!("local n = 0 for k, v in pairs({a=1, b=2, 3}) do n = n + 1 end return n", "3");
}

#[test]
fn functions_and_closures() {
    check!("local function f(a, b) return a + b end return f(1, 2)", "3");
    check!("local function fib(n) if n < 2 then return n end return fib(n-1) + fib(n-2) end return fib(20)", "6765");
    check!("local function f(...) return select('#', ...), ... end return f(1, nil, 3)", "3,1,nil,3");
    check!("local function f() return 1, 2, 3 end local t = {f()} return #t, (f())", "3,1");
    check!("local function f() return 1, 2 end return f(), f()", "1,1,2");
    check!("local fs = {} for i = 1, 3 do fs[i] = function() return i end end return fs[1](), fs[2](), fs[3]()", "1,2,3");
    check!("local function counter() local c = 0 return function() c = c + 1 return c end end local c = counter() c() c() return c()", "3");
    check!("local a = {} function a.b(x) return x * 2 end function a:c(x) return self.b(x) end return a:c(21)", "42");
    check!("local function loop(n) if n == 0 then return 'done' end return loop(n - 1) end return loop(100000)", "done");
    check!("local t = setmetatable({}, {__call = function(self, a) return a + 1 end}) return t(41)", "42");
    check!("return select(-1, 1, 2, 3)", "3");
    check!("local a, b, c = (function() return 1, 2, 3 end)() return c", "3");
}

#[test]
fn errors_with_positions() {
    check!("foo()", "ERR: user_script:1: attempt to call global 'foo' (a nil value)");
    check!("local x\nx()", "ERR: user_script:2: attempt to call local 'x' (a nil value)");
    check!("local t = {} t.a.b = 1", "ERR: user_script:1: attempt to index field 'a' (a nil value)");
    check!("local t = {} t:m()", "ERR: user_script:1: attempt to call method 'm' (a nil value)");
    check!("return 1 + nil", "ERR: user_script:1: attempt to perform arithmetic on a nil value");
    check!("local x return x .. 'a'", "ERR: user_script:1: attempt to concatenate local 'x' (a nil value)");
    check!("return {} < {}", "ERR: user_script:1: attempt to compare two table values");
    check!("return 1 < 'x'", "ERR: user_script:1: attempt to compare number with string");
    check!("error('boom')", "ERR: user_script:1: boom");
    check!("local ok, e = pcall(error, {code=1}) return ok, e.code", "false,1");
    check!("return pcall(error, 'x')", "false,x");
    check!("return pcall(function() error('y', 0) end)", "false,y");
    check!("return pcall(function() error('y') end)", "false,user_script:1: y");
    check!("return select(2, xpcall(function() error('z') end, function(m) return 'h:' .. m end))", "h:user_script:1: z");
    check!("return string.sub()", "ERR: user_script:1: bad argument #1 to 'sub' (string expected, got no value)");
    check!("return ('x'):rep(1, 2, 3) .. string.rep(nil)", "ERR: user_script:1: bad argument #1 to 'rep' (string expected, got nil)");
    check!("x = ", "COMPILE: user_script:1: unexpected symbol near '<eof>'");
    check!("local function f() return f() + 1 end return f()", "ERR: user_script:1: stack overflow");
}

#[test]
fn strings() {
    check!("return string.format('%d %5.2f %s %q', 3, 3.14159, 'x', 'a\\nb')", "3  3.14 x \"a\\\nb\"");
    check!("return string.format('%x %X %o %e %g', 255, 255, 8, 12345.678, 0.0001)", "ff FF 10 1.234568e+04 0.0001");
    check!("return string.format('%5s|%-5s|%05d', 'a', 'b', 42)", "    a|b    |00042");
    check!("return string.find('hello world', 'o w')", "5,7");
    check!("return string.find('hello', 'l+')", "3,4");
    check!("return string.match('key=val', '(%w+)=(%w+)')", "key,val");
    check!("return string.gsub('hello world', 'o', '0')", "hell0 w0rld,2");
    check!("return string.gsub('abc', '%w', '%0%0')", "aabbcc,3");
    check!("return string.gsub('hello', '(l)(l)', '%2%1')", "hello,1");
    check!("local t = {} for w in string.gmatch('one two three', '%a+') do t[#t+1] = w end return table.concat(t, ',')", "one,two,three");
    check!("return string.match('  trim  ', '^%s*(.-)%s*$')", "trim");
    check!("return string.find('a(b)c', '%b()')", "2,4");
    check!("return string.match('THE (quick) fox', '%f[%a]%a+')", "THE");
    check!("return string.match('hello', '()ll()')", "3,5");
    check!("return string.byte('ABC', 1, -1)", "65,66,67");
    check!("return string.char(72, 105)", "Hi");
    check!("return ('abc'):upper(), ('ABC'):lower(), ('abc'):reverse(), ('abc'):len()", "ABC,abc,cba,3");
    check!("return string.sub('hello', 2, -2), string.sub('hello', -3)", "ell,llo");
    check!("return string.rep('ab', 3)", "ababab");
    check!("return string.gsub('abc', '.', {a=1, b=false})", "1bc,3");
    check!("return string.gsub('abc', '.', {a=true})", "ERR: user_script:1: invalid replacement value (a boolean)");
    check!("return string.gsub('abc', '.', function(c) return c:upper() end)", "ABC,3");
    check!("return tostring(12), tostring(nil), tostring(true)", "12,nil,true");
    check!("return tonumber('0x1F'), tonumber('  12  '), tonumber('z', 36), tonumber('abc')", "31,12,35,nil");
}

#[test]
fn tables() {
    check!("local t = {3, 1, 2} table.sort(t) return table.concat(t, ' ')", "1 2 3");
    check!("local t = {3, 1, 2} table.sort(t, function(a, b) return a > b end) return table.concat(t, ' ')", "3 2 1");
    check!("local t = {1, 2} table.insert(t, 3) table.insert(t, 1, 0) return table.concat(t, ',')", "0,1,2,3");
    check!("local t = {1, 2, 3} local v = table.remove(t, 1) return v, table.concat(t, ',')", "1,2,3");
    check!("return table.maxn({1, 2, [10] = 3})", "10");
    check!("local t = {} t[1.0] = 'a' return t[1]", "a");
    check!("return unpack({1, 2, 3})", "1,2,3");
    check!("local t = {n = 1, [2] = 'x'} return t.n, t[2]", "1,x");
    check!("local t = {} for i = 1, 100 do t[i] = i end for i = 1, 100 do t[i] = nil end return #t, next(t)", "0,nil");
}

#[test]
fn metatables() {
    check!("local t = setmetatable({}, {__index = function(t, k) return k .. '!' end}) return t.x", "x!");
    check!("local base = {a = 1} local t = setmetatable({}, {__index = base}) return t.a", "1");
    check!("local log = {} local t = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 2) end}) t.x = 2 return t.x", "4");
    check!("local V = {} V.__add = function(a, b) return a.v + b.v end local a = setmetatable({v=1}, V) local b = setmetatable({v=2}, V) return a + b", "3");
    check!("local m = {__eq = function() return true end} return setmetatable({}, m) == setmetatable({}, m)", "true");
    check!("local m = {__lt = function(a, b) return a.v < b.v end} return setmetatable({v=1}, m) < setmetatable({v=2}, m)", "true");
    check!("local m = {__tostring = function() return 'obj' end} return tostring(setmetatable({}, m))", "obj");
    check!("local m = {__concat = function(a, b) return 'cat' end} return setmetatable({}, m) .. 'x'", "cat");
    check!("local m = {__unm = function() return 'neg' end} return -setmetatable({}, m)", "neg");
    check!("return getmetatable(setmetatable({}, {__metatable = 'locked'}))", "locked");
    check!("return getmetatable('').__index == string", "true");
}

#[test]
fn coroutines() {
    check!("local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end) local _, x = coroutine.resume(co, 1) local _, y = coroutine.resume(co, 10) return x, y, coroutine.status(co)", "2,20,dead");
    check!("local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end) return gen(), gen(), gen()", "1,2,3");
    check!("return coroutine.resume(coroutine.create(function() error('x') end))", "false,user_script:1: x");
    check!("local co = coroutine.create(function() pcall(coroutine.yield) end) return coroutine.resume(co)", "true");
    check!("return pcall(coroutine.yield)", "false,attempt to yield from outside a coroutine");
    check!("local co co = coroutine.create(function() return coroutine.status(co), coroutine.running() == co end) return coroutine.resume(co)", "true,running,true");
}

#[test]
fn math_lib() {
    check!("return math.floor(3.7), math.ceil(3.2), math.abs(-2), math.max(1, 5, 3), math.min(4, 2)", "3,4,2,5,2");
    check!("return math.huge, -math.huge, math.pi", "inf,-inf,3.1415926535898");
    check!("return math.fmod(7, 3), math.modf(3.5)", "1,3,0.5");
    check!("return math.sqrt(16), 2^0.5 == math.sqrt(2)", "4,true");
}

#[test]
fn redis_prng_matches() {
    // Same seed, same numbers as Redis 7.0.15 (`redis-cli eval` with randomseed(0)).
    let mut lua = Lua::new();
    lua.rand_seed(0);
    let f = lua.load(b"return math.random(100), math.random(100), math.random()", "@t").unwrap();
    let r = lua.call(&f, &[], &mut NoHost).unwrap();
    let text: Vec<String> = r.iter().map(|v| String::from_utf8_lossy(&lib_base::tostring_raw(v)).into_owned()).collect();
    assert_eq!(text.len(), 3);
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
    assert_eq!(lua.to_bytes(&e.value).unwrap(), b"user_script:1: Attempt to modify a readonly table");
    let f = lua.load(b"return pcall(rawset, ro, 'a', 1)", "@user_script").unwrap();
    let r = lua.call(&f, &[], &mut NoHost).unwrap();
    assert_eq!(lua.to_bytes(&r[1]).unwrap(), b"Attempt to modify a readonly table");
}
