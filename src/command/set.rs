//! Set commands (Redis's t_set.c).

use super::Command;

pub const COMMANDS: &[Command] = &[];
