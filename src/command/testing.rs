//! Commands that exist only in unit-test builds, to exercise failure handling.

use super::Command;

pub const COMMANDS: &[Command] = &[];
