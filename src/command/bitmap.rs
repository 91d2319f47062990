//! Bitmap commands (Redis's bitops.c): bits kept in strings.

use super::Command;

pub const COMMANDS: &[Command] = &[];
