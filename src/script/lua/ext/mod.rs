//! cjson, cmsgpack, bit and struct (stub until the libraries land).

use super::Lua;

/// Adds the libraries to a state.
pub fn open(_lua: &mut Lua) {}
