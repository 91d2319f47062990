//! Replication's commands: SYNC, PSYNC and REPLCONF (what replicas send us), REPLICAOF
//! and SLAVEOF, and WAIT. The work is in [`crate::replication`].

use super::docs::doc;
use super::flags::*;
use super::{Command, Handler};
use crate::replication::{master, replica};

/// The commands of this file.
pub const COMMANDS: &[Command] = &[
    Command::new(
        "sync",
        1,
        ADMIN | NO_MULTI | NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(master::sync),
        doc(
            "server",
            "1.0.0",
            "Internal command used for replication",
            "",
        ),
    ),
    Command::new(
        "psync",
        -3,
        ADMIN | NO_MULTI | NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(master::sync),
        doc(
            "server",
            "2.8.0",
            "Internal command used for replication",
            "replicationid offset",
        ),
    ),
    Command::new(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        (0, 0, 0),
        Handler::Plain(master::replconf),
        doc(
            "server",
            "3.0.0",
            "An internal command for configuring the replication stream",
            "",
        ),
    ),
    Command::new(
        "replicaof",
        3,
        ADMIN | NOSCRIPT | STALE,
        (0, 0, 0),
        Handler::Plain(replica::replicaof),
        doc(
            "server",
            "5.0.0",
            "Make the server a replica of another instance, or promote it as master.",
            "host port",
        ),
    ),
    Command::new(
        "slaveof",
        3,
        ADMIN | NOSCRIPT | STALE,
        (0, 0, 0),
        Handler::Plain(replica::replicaof),
        doc(
            "server",
            "1.0.0",
            "Make the server a replica of another instance, or promote it as master.",
            "host port",
        ),
    ),
    Command::new(
        "wait",
        3,
        NOSCRIPT,
        (0, 0, 0),
        Handler::Plain(master::wait),
        doc(
            "generic",
            "3.0.0",
            "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
            "numreplicas timeout",
        ),
    ),
];
