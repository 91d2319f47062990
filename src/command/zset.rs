//! Sorted set commands (Redis's t_zset.c).

use super::Command;

pub const COMMANDS: &[Command] = &[];
