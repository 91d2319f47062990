//! FUNCTION's libraries (Redis's `functions.c` and `function_lua.c`).
//!
//! A library is Lua code with a `#!lua name=<library>` line that, when run, registers
//! functions with `redis.register_function`. The shared [`Libraries`] keep each
//! library's code and what it registered; each thread's Lua state runs the code once
//! more to have the callbacks itself (see [`super::engine`]).
//!
//! While a library loads, the only global it sees is a `redis` table with
//! `register_function`, `log` and the version; once loaded, its functions see the same
//! globals as EVAL scripts. Both are one environment table whose metatable's `__index`
//! is switched, as Redis does, so the callbacks a library created at load time see the
//! full globals when they run.

use std::collections::BTreeMap;

use super::engine::{self, op};
use super::lua::{Error, Lua, NoHost, Value};

/// One function a library registered.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionInfo {
    pub name: String,
    pub description: Option<Vec<u8>>,
    pub flags: u64,
}

/// One library: its whole code (shebang included) and what it registered.
#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    pub name: String,
    pub code: Vec<u8>,
    pub functions: Vec<FunctionInfo>,
}

/// Every library, by name; `version` changes with every change, so threads reload.
#[derive(Debug, Default)]
pub struct Libraries {
    pub libraries: BTreeMap<String, Library>,
    pub version: u64,
}

impl Libraries {
    /// The library that holds a function, and the function.
    pub fn function(&self, name: &str) -> Option<(&Library, &FunctionInfo)> {
        self.libraries.values().find_map(|lib| {
            lib.functions
                .iter()
                .find(|f| f.name == name)
                .map(|f| (lib, f))
        })
    }

    /// Adds or replaces libraries, bumping the version.
    pub fn insert(&mut self, lib: Library) {
        self.libraries.insert(lib.name.clone(), lib);
        self.version += 1;
    }

    pub fn remove(&mut self, name: &str) -> Option<Library> {
        let lib = self.libraries.remove(name);
        self.version += 1;
        lib
    }

    pub fn clear(&mut self) {
        self.libraries.clear();
        self.version += 1;
    }

    /// How many functions all libraries hold.
    pub fn function_count(&self) -> usize {
        self.libraries.values().map(|l| l.functions.len()).sum()
    }
}

/// What a library's code registered while it ran.
#[derive(Default)]
pub struct Registrations {
    pub functions: Vec<(FunctionInfo, Value)>,
}

impl Registrations {
    /// `redis.register_function(name, callback)` or
    /// `redis.register_function{function_name=..., callback=..., flags=..., description=...}`.
    pub fn register(&mut self, lua: &mut Lua, args: &[Value]) -> Result<Vec<Value>, Error> {
        let fail = |lua: &mut Lua, msg: &str| Err(engine::raise(lua, msg));
        let (name, desc, callback, flags) = match args {
            [named] => {
                let Value::Table(_) = named else {
                    return fail(lua, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
                };
                let (mut name, mut desc, mut callback, mut flags) = (None, None, None, 0);
                let mut key = Value::Nil;
                while let Ok(Some((k, v))) = lua.next(named, &key) {
                    key = k.clone();
                    let Some(k) = string_of(lua, &k) else {
                        return fail(
                            lua,
                            "named argument key given to redis.register_function is not a string",
                        );
                    };
                    match k.to_ascii_lowercase().as_slice() {
                        b"function_name" => match string_of(lua, &v) {
                            Some(s) => name = Some(s),
                            None => return fail(lua, "function_name argument given to redis.register_function must be a string"),
                        },
                        b"description" => match string_of(lua, &v) {
                            Some(s) => desc = Some(s),
                            None => return fail(lua, "description argument given to redis.register_function must be a string"),
                        },
                        b"callback" => match v {
                            Value::Function(_) => callback = Some(v),
                            _ => return fail(lua, "callback argument given to redis.register_function must be a function"),
                        },
                        b"flags" => {
                            let Value::Table(_) = v else {
                                return fail(lua, "flags argument to redis.register_function must be a table representing function flags");
                            };
                            match read_flags(lua, &v) {
                                Some(f) => flags = f,
                                None => return fail(lua, "unknown flag given"),
                            }
                        }
                        _ => return fail(lua, "unknown argument given to redis.register_function"),
                    }
                }
                let Some(name) = name else {
                    return fail(
                        lua,
                        "redis.register_function must get a function name argument",
                    );
                };
                let Some(callback) = callback else {
                    return fail(lua, "redis.register_function must get a callback argument");
                };
                (name, desc, callback, flags)
            }
            [name, callback] => {
                let Some(name) = string_of(lua, name) else {
                    return fail(
                        lua,
                        "first argument to redis.register_function must be a string",
                    );
                };
                let Value::Function(_) = callback else {
                    return fail(
                        lua,
                        "second argument to redis.register_function must be a function",
                    );
                };
                (name, None, callback.clone(), 0)
            }
            _ => return fail(lua, "wrong number of arguments to redis.register_function"),
        };
        if !valid_name(&name) {
            return fail(lua, "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        if self.functions.iter().any(|(f, _)| f.name == name) {
            return fail(lua, "Function already exists in the library");
        }
        self.functions.push((
            FunctionInfo {
                name,
                description: desc,
                flags,
            },
            callback,
        ));
        Ok(vec![])
    }
}

/// A string argument (numbers convert, as `lua_isstring`).
fn string_of(lua: &Lua, v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Str(_) | Value::Num(_) => lua.to_bytes(v),
        _ => None,
    }
}

/// The flags table of a named registration: an array of flag names.
fn read_flags(lua: &mut Lua, t: &Value) -> Option<u64> {
    let mut flags = 0;
    let mut i = 1;
    loop {
        let v = lua.raw_get(t, &Value::Num(i as f64));
        if let Value::Nil = v {
            return Some(flags);
        }
        let Value::Str(s) = v else { return None };
        flags |= super::flag::parse(s.as_bytes())?;
        i += 1;
    }
}

/// Library and function names: letters, digits and underscores, at least one.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A library's metadata line, as `functionExtractLibMetaData`: (engine, name, where the
/// code starts: at the line feed, so line numbers stay the user's).
pub fn metadata(code: &[u8]) -> Result<(String, String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let parts = crate::config::split_args(&code[..end]).unwrap_or_default();
    let Some(first) = parts.first() else {
        return Err("Invalid library metadata".into());
    };
    let engine = String::from_utf8_lossy(&first[2..]).into_owned();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(String::from_utf8_lossy(&part[5..]).into_owned());
            continue;
        }
        return Err(format!(
            "Invalid metadata value given: {}",
            String::from_utf8_lossy(part)
        ));
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    Ok((engine, name, end))
}

/// The function environment's names in the registry.
const ENV: &str = "__function_env";
const LOAD_API: &str = "__function_load_api";

/// Builds the environment functions run in (once per state): an empty read-only table
/// whose metatable's `__index` is the globals, and the load-time API table.
fn environment(lua: &mut Lua) -> Value {
    let env = lua.registry_get(ENV);
    if let Value::Table(_) = env {
        return env;
    }
    let redis = lua.create_table(0, 8);
    let register = lua.native("register_function", |l, h, a| {
        h.host_call(l, op::REGISTER_FUNCTION, a)
    });
    let _ = lua.set_field(&redis, "register_function", register);
    let log = lua.native("log", |l, h, a| h.host_call(l, op::LOG, a));
    let _ = lua.set_field(&redis, "log", log);
    for (name, level) in [
        ("LOG_DEBUG", 0.0),
        ("LOG_VERBOSE", 1.0),
        ("LOG_NOTICE", 2.0),
        ("LOG_WARNING", 3.0),
    ] {
        let _ = lua.set_field(&redis, name, Value::Num(level));
    }
    let _ = lua.set_field(
        &redis,
        "REDIS_VERSION_NUM",
        Value::Num(engine::REDIS_VERSION_NUM),
    );
    let v = lua.string(engine::REDIS_VERSION.as_bytes());
    let _ = lua.set_field(&redis, "REDIS_VERSION", v);
    let api = lua.create_table(0, 1);
    let _ = lua.set_field(&api, "redis", redis.clone());
    let globals = lua.globals();
    let missing = lua.get_metatable(&globals);
    for t in [&redis, &api] {
        lua.set_metatable(t, missing.clone());
        lua.set_readonly(t, true);
    }
    let env = lua.create_table(0, 0);
    let meta = lua.create_table(0, 1);
    let _ = lua.set_field(&meta, "__index", globals);
    lua.set_metatable(&env, Some(meta.clone()));
    lua.set_readonly(&meta, true);
    lua.set_readonly(&env, true);
    lua.registry_set(ENV, env.clone());
    lua.registry_set(LOAD_API, api);
    env
}

/// Points the function environment at the load-time API (`loading`) or the globals.
fn switch_environment(lua: &mut Lua, env: &Value, loading: bool) {
    let Some(meta) = lua.get_metatable(env) else {
        return;
    };
    let target = if loading {
        lua.registry_get(LOAD_API)
    } else {
        lua.globals()
    };
    lua.set_readonly(&meta, false);
    let _ = lua.set_field(&meta, "__index", target);
    lua.set_readonly(&meta, true);
}

/// Compiles and runs a library's code in `lua`, collecting what it registers. `host`
/// serves `redis.log` and `redis.register_function`. Errors as Redis words them.
pub fn load(
    lua: &mut Lua,
    code: &[u8],
    code_start: usize,
    host: &mut dyn super::lua::Host,
) -> Result<(), String> {
    let env = environment(lua);
    let f = lua
        .load(&code[code_start..], "@user_function")
        .map_err(|e| format!("Error compiling function: {e}"))?;
    let setfenv = lua.get_global("setfenv");
    lua.call(&setfenv, &[f.clone(), env.clone()], &mut NoHost)
        .map_err(|_| "Error compiling function: cannot set its environment".to_string())?;
    switch_environment(lua, &env, true);
    let result = lua.call(&f, &[], host);
    switch_environment(lua, &env, false);
    result.map(|_| ()).map_err(|e| {
        let msg = match &e.value {
            Value::Table(_) => {
                let err = lua.get_field(&e.value, "err");
                String::from_utf8_lossy(&lua.to_bytes(&err).unwrap_or_default()).into_owned()
            }
            v => format!(
                "ERR {}",
                String::from_utf8_lossy(&lua.to_bytes(v).unwrap_or_default())
            ),
        };
        format!("Error registering functions: {msg}")
    })
}

/// How long a library's code may run while it loads (Redis's `LOAD_TIMEOUT_MS`).
pub const LOAD_TIMEOUT_MS: u128 = 500;

/// The host a library's code runs with while it loads: `register_function` records,
/// `redis.log` is silent, and code that runs past [`LOAD_TIMEOUT_MS`] is stopped (a
/// fatal error, which `pcall` cannot catch).
pub struct LoadHost<'a> {
    pub registrations: &'a mut Registrations,
    pub started: std::time::Instant,
}

impl<'a> LoadHost<'a> {
    pub fn new(registrations: &'a mut Registrations) -> Self {
        LoadHost {
            registrations,
            started: std::time::Instant::now(),
        }
    }
}

impl super::lua::Host for LoadHost<'_> {
    fn interrupt(&mut self, lua: &mut Lua) -> Result<(), Error> {
        if self.started.elapsed().as_millis() > LOAD_TIMEOUT_MS {
            return Err(engine::raise_fatal(lua, "FUNCTION LOAD timeout"));
        }
        Ok(())
    }

    fn host_call(
        &mut self,
        lua: &mut Lua,
        which: u32,
        args: &[Value],
    ) -> Result<Vec<Value>, Error> {
        match which {
            op::REGISTER_FUNCTION => self.registrations.register(lua, args),
            _ => Ok(vec![]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lines() {
        assert_eq!(
            metadata(b"#!lua name=mylib\nreturn 1"),
            Ok(("lua".into(), "mylib".into(), 16))
        );
        assert_eq!(
            metadata(b"return 1"),
            Err("Missing library metadata".into())
        );
        assert_eq!(
            metadata(b"#!lua name=x"),
            Err("Invalid library metadata".into())
        );
        assert_eq!(
            metadata(b"#!lua\n"),
            Err("Library name was not given".into())
        );
        assert_eq!(
            metadata(b"#!lua name=a name=b\n"),
            Err("Invalid metadata value, name argument was given multiple times".into())
        );
        assert_eq!(
            metadata(b"#!lua foo=bar\n"),
            Err("Invalid metadata value given: foo=bar".into())
        );
        assert!(valid_name(b"my_lib1"));
        assert!(!valid_name(b"my-lib"));
        assert!(!valid_name(b""));
    }
}
