//! Replication's commands: SYNC, PSYNC and REPLCONF (what replicas send us), REPLICAOF
//! and SLAVEOF, WAIT and FAILOVER. The work is in [`crate::replication`].

use super::{Command, Handler};
use crate::replication::{failover, master, replica};

/// The commands of this file.
pub const COMMANDS: &[Command] = &[
    Command::new("sync", Handler::Plain(master::sync)),
    Command::new("psync", Handler::Plain(master::sync)),
    Command::new("replconf", Handler::Plain(master::replconf)),
    Command::new("replicaof", Handler::Plain(replica::replicaof)),
    Command::new("slaveof", Handler::Plain(replica::replicaof)),
    Command::new("wait", Handler::Plain(master::wait)),
    Command::new("failover", Handler::Plain(failover::failover)),
];
