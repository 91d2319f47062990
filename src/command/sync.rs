//! SYNC, PSYNC and REPLCONF, just far enough for `redis-cli --rdb <file>` to download a
//! snapshot: redlite cannot feed replicas, so SYNC sends an RDB of the dataset as the
//! initial transfer Redis sends (`$<length>`, then the bytes, then a CRLF Redis does not
//! send) and closes the connection.

use super::{is, CmdError, CmdResult, Command, Ctx, Handler};
use crate::persist::save::{write_to, Format};
use crate::resp::Args;

/// The commands of this file.
pub const COMMANDS: &[Command] = &[
    Command::new("sync", Handler::Plain(sync)),
    Command::new("psync", Handler::Plain(sync)),
    Command::new("replconf", Handler::Plain(replconf)),
];

/// ```text
/// SYNC
/// PSYNC replicationid offset
/// ```
/// The dataset as an RDB bulk transfer (PSYNC first answers `+FULLRESYNC <id> 0`), then
/// the connection is closed: there is no replication stream to follow.
fn sync(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let rdb = {
        let ks = ctx.server.store.read();
        let functions = ctx.server.scripts.library_codes();
        write_to(
            &ks,
            &functions,
            Vec::new(),
            Format::Rdb(ctx.server.rdb_options()),
        )
        .map_err(|e| CmdError::err(format!("can't write the RDB snapshot: {e}")))?
    };
    if is(&args[0], "psync") {
        ctx.out
            .raw(format!("+FULLRESYNC {} 0\r\n", ctx.server.run_id).as_bytes());
    }
    // Redis sends no CRLF after the payload (its replication stream follows); the
    // connection closes here instead, and a CRLF makes the reply a complete bulk
    // string for any client (`redis-cli --rdb` reads exactly the payload).
    ctx.out.bulk(&rdb);
    ctx.client.close_after_reply = true;
    ctx.server.log.notice(
        "Replica asked for a snapshot (SYNC/PSYNC): sent the RDB and closed the connection (redlite does not replicate)",
    );
    Ok(())
}

/// ```text
/// REPLCONF option value [option value ...]
/// ```
/// OK for the options `redis-cli --rdb` and replicas send (`listening-port`,
/// `ip-address`, `capa`, `rdb-only`; `ack` and `getack` answer nothing, as in Redis);
/// `rdb-filter-only` with a filter is refused, as redlite always sends everything.
fn replconf(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    for j in (1..args.len()).step_by(2) {
        let (opt, value) = (&args[j], &args[j + 1]);
        if is(opt, "ack") || is(opt, "getack") {
            return Ok(());
        }
        let known = ["listening-port", "ip-address", "capa", "rdb-only"]
            .iter()
            .any(|k| is(opt, k));
        if is(opt, "rdb-filter-only") && !value.is_empty() {
            return Err(CmdError::err(
                "redlite cannot filter the RDB it sends (rdb-filter-only)",
            ));
        }
        if !known && !is(opt, "rdb-filter-only") {
            return Err(CmdError::err(format!(
                "Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    ctx.out.ok();
    Ok(())
}
