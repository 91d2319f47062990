//! Scripting: EVAL, EVALSHA, SCRIPT and FUNCTION, on the Lua interpreter in [`lua`].

pub mod lua;
