//! Hash commands (Redis's t_hash.c).

use super::Command;

pub const COMMANDS: &[Command] = &[];
