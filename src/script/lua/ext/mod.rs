//! The libraries Redis 7.0 adds to its Lua state: `cjson`, `cmsgpack`, `bit`, `struct`.

pub mod bit;
pub mod json;
