//! Whether a user may run a request (Redis's `ACLCheckAllUserCommandPerm`): some
//! selector must allow the command, every key it names (with the access the command's
//! key specs declare) and every channel it publishes or subscribes to.

use super::catalog::SPECS;
use super::key_flags::{
    ACCESS, DELETE, INCOMPLETE, INSERT, NOT_KEY, OW, RO, RW, UPDATE, VARIABLE_FLAGS,
};
use super::rules::{Selector, User, READ, WRITE};
use super::{Begin, Find};
use crate::resp::Args;

/// Why a request was refused, with the argument position of the key or channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The command or subcommand.
    Command,
    /// The key at this argument.
    Key(usize),
    /// The channel at this argument.
    Channel(usize),
}

impl Denied {
    /// Redis's ordering of `ACL_DENIED_*` values, used to pick the error to report.
    fn rank(self) -> u8 {
        match self {
            Denied::Command => 1,
            Denied::Key(_) => 2,
            Denied::Channel(_) => 4,
        }
    }

    fn pos(self) -> usize {
        match self {
            Denied::Command => 0,
            Denied::Key(p) | Denied::Channel(p) => p,
        }
    }

    /// The argument a key or channel denial names (for the ACL log), if any.
    pub fn arg_pos(self) -> Option<usize> {
        match self {
            Denied::Command => None,
            Denied::Key(p) | Denied::Channel(p) => Some(p),
        }
    }
}

/// Checks a request for catalog entry `id` (its words in `args`, the command name
/// first). With several selectors, the error reported is the worst one, and among
/// equals the one at the latest argument, as Redis picks it.
pub fn check(user: &User, id: usize, args: &Args) -> Result<(), Denied> {
    let mut keys: Option<Vec<(usize, u16)>> = None;
    let mut worst = Denied::Command;
    for s in &user.selectors {
        match check_selector(s, id, args, &mut keys) {
            Ok(()) => return Ok(()),
            Err(d) => {
                if d.rank() > worst.rank() || (d.rank() == worst.rank() && d.pos() > worst.pos()) {
                    worst = d;
                }
            }
        }
    }
    Err(worst)
}

fn check_selector(
    s: &Selector,
    id: usize,
    args: &Args,
    keys: &mut Option<Vec<(usize, u16)>>,
) -> Result<(), Denied> {
    let spec = &SPECS[id];
    if !s.allcommands && !spec.no_auth() && !s.bit(id) {
        let idx = if spec.parent == super::NO_PARENT {
            1
        } else {
            2
        };
        let allowed = args.len() >= 2
            && args.len() > idx
            && s.firstargs_of(id)
                .is_some_and(|a| a.iter().any(|f| f.eq_ignore_ascii_case(&args[idx])));
        if !allowed {
            return Err(Denied::Command);
        }
    }
    if !s.allkeys && has_keys(id) {
        let keys = keys.get_or_insert_with(|| keys_of(id, args));
        for &(pos, flags) in keys.iter() {
            if !key_allowed(s, &args[pos], flags) {
                return Err(Denied::Key(pos));
            }
        }
    }
    if !s.allchannels {
        for (pos, pattern) in channels_of(spec.name, args) {
            if !channel_allowed(&s.channels, &args[pos], pattern) {
                return Err(Denied::Channel(pos));
            }
        }
    }
    Ok(())
}

/// Whether the selector's patterns let the command use `key` as its flags say.
fn key_allowed(s: &Selector, key: &[u8], flags: u16) -> bool {
    let mut need = 0;
    if flags & ACCESS != 0 {
        need |= READ;
    }
    if flags & (INSERT | DELETE | UPDATE) != 0 {
        need |= WRITE;
    }
    s.patterns
        .iter()
        .any(|(f, p)| f & need == need && crate::util::glob::matches(p, key, false))
}

/// Whether a channel (or, for PSUBSCRIBE, a pattern, compared literally) is among the
/// allowed channel patterns.
fn channel_allowed(channels: &[Vec<u8>], channel: &[u8], is_pattern: bool) -> bool {
    channels.iter().any(|p| {
        if is_pattern {
            p == channel
        } else {
            crate::util::glob::matches(p, channel, false)
        }
    })
}

/// Whether some selector both allows the request and may read every key (`allkeys`,
/// or a `*` pattern with read access), as Redis's
/// `ACLUserCheckCmdWithUnrestrictedKeyAccess` for `CMD_KEY_ACCESS`.
pub fn unrestricted_key_access(user: &User, id: usize, args: &Args) -> bool {
    let mut keys = None;
    user.selectors.iter().any(|s| {
        check_selector(s, id, args, &mut keys).is_ok()
            && (s.allkeys || s.patterns.iter().any(|(f, p)| f & READ != 0 && p == b"*"))
    })
}

/// Whether the command can name keys (Redis's `doesCommandHaveKeys`).
pub fn has_keys(id: usize) -> bool {
    SPECS[id].keys.iter().any(|k| k.flags & NOT_KEY == 0)
        || matches!(SPECS[id].name, "sort" | "sort_ro" | "migrate")
}

/// The channels a request names, with whether each is a pattern: what PUBLISH,
/// SUBSCRIBE and PSUBSCRIBE (and the sharded forms) check; UNSUBSCRIBE checks none.
fn channels_of(name: &str, args: &Args) -> Vec<(usize, bool)> {
    match name {
        "subscribe" | "ssubscribe" => (1..args.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..args.len()).map(|i| (i, true)).collect(),
        "publish" | "spublish" if args.len() > 1 => vec![(1, false)],
        _ => Vec::new(),
    }
}

/// The keys a request names with their access flags (Redis's
/// `getKeysFromCommandWithSpecs`): from the key specs when they are complete and their
/// flags fixed, else from the command's own rules (SET, BITFIELD, SORT).
pub fn keys_of(id: usize, args: &Args) -> Vec<(usize, u16)> {
    let spec = &SPECS[id];
    let variable = spec.keys.iter().any(|k| k.flags & VARIABLE_FLAGS != 0);
    if !variable {
        if let Some(keys) = keys_by_specs(id, args) {
            return keys;
        }
    }
    let argc = args.len();
    let is = |i: usize, w: &str| args[i].eq_ignore_ascii_case(w.as_bytes());
    match spec.name {
        "set" if argc > 1 => {
            let get = (3..argc).any(|i| is(i, "get"));
            vec![(
                1,
                if get {
                    RW | ACCESS | UPDATE
                } else {
                    OW | UPDATE
                },
            )]
        }
        "bitfield" if argc > 1 => {
            let mut readonly = true;
            let mut i = 2;
            while i < argc {
                let rem = argc - i - 1;
                if is(i, "get") && rem >= 2 {
                    i += 3;
                } else if (is(i, "set") || is(i, "incrby")) && rem >= 3 {
                    readonly = false;
                    break;
                } else if is(i, "overflow") && rem >= 1 {
                    i += 2;
                } else {
                    readonly = false;
                    break;
                }
            }
            vec![(
                1,
                if readonly {
                    RO | ACCESS
                } else {
                    RW | ACCESS | UPDATE
                },
            )]
        }
        "sort" if argc > 1 => {
            let mut keys = vec![(1, RO | ACCESS)];
            let mut store = None;
            let mut i = 2;
            while i < argc {
                if is(i, "limit") {
                    i += 2;
                } else if is(i, "get") || is(i, "by") {
                    i += 1;
                } else if is(i, "store") && i + 1 < argc {
                    store = Some(i + 1);
                }
                i += 1;
            }
            keys.extend(store.map(|p| (p, OW | UPDATE)));
            keys
        }
        "sort_ro" if argc > 1 => vec![(1, RO | ACCESS)],
        // Redis's `migrateGetKeys`: the keys after KEYS (searched from the sixth
        // argument), else the third.
        "migrate" if argc > 5 => match (6..argc).find(|&i| is(i, "keys")) {
            Some(at) => (at + 1..argc).map(|i| (i, RW | ACCESS | DELETE)).collect(),
            None => vec![(3, RW | ACCESS | DELETE)],
        },
        _ => Vec::new(),
    }
}

/// Redis's `getKeysUsingKeySpecs`; `None` where a spec cannot say (the caller falls
/// back on the command's own rules).
fn keys_by_specs(id: usize, args: &Args) -> Option<Vec<(usize, u16)>> {
    let argc = args.len() as i64;
    let spec = &SPECS[id];
    let mut keys = Vec::new();
    for ks in spec.keys {
        if ks.flags & NOT_KEY != 0 {
            continue;
        }
        let first = match ks.begin {
            Begin::Index(pos) => i64::from(pos),
            Begin::Keyword(word, startfrom) => {
                let startfrom = i64::from(startfrom);
                let (start, end) = if startfrom > 0 {
                    (startfrom, argc - 1)
                } else {
                    (argc + startfrom, 1)
                };
                let mut found = 0;
                let mut i = start;
                loop {
                    if i == end || i >= argc || i < 1 {
                        break;
                    }
                    if args[i as usize].eq_ignore_ascii_case(word.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i = if start <= end { i + 1 } else { i - 1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            Begin::Unknown => return None,
        };
        let (first, last, step) = match ks.find {
            Find::Range(lastkey, step, limit) => {
                let (lastkey, limit) = (i64::from(lastkey), i64::from(limit));
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (first, last, i64::from(step))
            }
            Find::Keynum(keynumidx, firstkey, step) => {
                let at = first + i64::from(keynumidx);
                if at >= argc {
                    return None;
                }
                let n = crate::util::num::parse_i64(&args[at as usize]).filter(|&n| n >= 0)?;
                let first = first + i64::from(firstkey);
                (first, first + n - 1, i64::from(step))
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push((i as usize, ks.flags));
            i += step.max(1);
        }
        if ks.flags & INCOMPLETE != 0 {
            return None;
        }
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::lookup;

    fn keys(cmd: &str, args: &[&str]) -> Vec<(usize, u16)> {
        keys_of(lookup(cmd.as_bytes()).unwrap(), &Args::from_slices(args))
    }

    fn user(ops: &[&str]) -> User {
        let mut u = User::new(b"u", false);
        for op in ops {
            u.apply(op.as_bytes(), false).unwrap();
        }
        u
    }

    fn run(u: &User, args: &[&str]) -> Result<(), Denied> {
        let id = lookup(args[0].as_bytes()).unwrap();
        let id = crate::acl::subcommands(id)
            .find(|&s| {
                args.len() > 1
                    && SPECS[s]
                        .name
                        .ends_with(&format!("|{}", args[1].to_ascii_lowercase()))
            })
            .unwrap_or(id);
        check(u, id, &Args::from_slices(args))
    }

    #[test]
    fn keys_follow_the_key_specs() {
        assert_eq!(keys("get", &["get", "k"]), [(1, RO | ACCESS)]);
        let mset: Vec<usize> = keys("mset", &["mset", "a", "1", "b", "2"])
            .iter()
            .map(|k| k.0)
            .collect();
        assert_eq!(mset, [1, 3]);
        let lmove = keys("lmove", &["lmove", "s", "d", "left", "right"]);
        assert_eq!(lmove, [(1, RW | ACCESS | DELETE), (2, RW | INSERT)]);
        let eval: Vec<usize> = keys("eval", &["eval", "s", "2", "a", "b", "c"])
            .iter()
            .map(|k| k.0)
            .collect();
        assert_eq!(eval, [3, 4]);
        let xread: Vec<usize> = keys(
            "xread",
            &["xread", "count", "1", "streams", "a", "b", "0", "0"],
        )
        .iter()
        .map(|k| k.0)
        .collect();
        assert_eq!(xread, [4, 5]);
        assert_eq!(keys("set", &["set", "k", "v"]), [(1, OW | UPDATE)]);
        assert_eq!(
            keys("set", &["set", "k", "v", "GET"]),
            [(1, RW | ACCESS | UPDATE)]
        );
        assert_eq!(
            keys("sort", &["sort", "k", "by", "x", "store", "d"]),
            [(1, RO | ACCESS), (5, OW | UPDATE)]
        );
        assert_eq!(
            keys("bitfield", &["bitfield", "k", "get", "u8", "0"]),
            [(1, RO | ACCESS)]
        );
        assert!(keys("eval", &["eval", "s", "x"]).is_empty());
    }

    #[test]
    fn read_and_write_patterns() {
        let u = user(&["+@all", "%R~r*", "%W~w*", "~rw*"]);
        assert_eq!(run(&u, &["get", "r1"]), Ok(()));
        assert_eq!(run(&u, &["set", "r1", "v"]), Err(Denied::Key(1)));
        assert_eq!(run(&u, &["set", "w1", "v"]), Ok(()));
        assert_eq!(run(&u, &["get", "w1"]), Err(Denied::Key(1)));
        assert_eq!(
            run(&u, &["lmove", "r1", "w1", "left", "left"]),
            Err(Denied::Key(1))
        );
        assert_eq!(run(&u, &["lmove", "rw1", "w1", "left", "left"]), Ok(()));
        assert_eq!(run(&u, &["copy", "r1", "w1"]), Ok(()));
    }

    #[test]
    fn commands_subcommands_and_first_args() {
        let u = user(&["+get", "+config|get", "+select|0", "allkeys"]);
        assert_eq!(run(&u, &["get", "k"]), Ok(()));
        assert_eq!(run(&u, &["set", "k", "v"]), Err(Denied::Command));
        assert_eq!(run(&u, &["config", "get", "x"]), Ok(()));
        assert_eq!(run(&u, &["config", "set", "x", "y"]), Err(Denied::Command));
        assert_eq!(run(&u, &["select", "0"]), Ok(()));
        assert_eq!(run(&u, &["select", "1"]), Err(Denied::Command));
        assert_eq!(
            run(&u, &["auth", "a", "b"]),
            Ok(()),
            "no_auth commands pass"
        );
    }

    #[test]
    fn channels_and_selectors() {
        let mut u = user(&["+@all", "allkeys", "&news.*"]);
        assert_eq!(run(&u, &["publish", "news.a", "m"]), Ok(()));
        assert_eq!(run(&u, &["publish", "other", "m"]), Err(Denied::Channel(1)));
        assert_eq!(run(&u, &["psubscribe", "news.*"]), Ok(()));
        assert_eq!(run(&u, &["psubscribe", "news.a*"]), Err(Denied::Channel(1)));
        assert_eq!(
            run(&u, &["subscribe", "news.a", "x"]),
            Err(Denied::Channel(2))
        );
        u.apply(b"(+publish &other)", false).unwrap();
        assert_eq!(run(&u, &["publish", "other", "m"]), Ok(()));
        let v = user(&["+get", "~a", "(+set ~b)"]);
        assert_eq!(run(&v, &["get", "b"]), Err(Denied::Key(1)));
        assert_eq!(run(&v, &["set", "b", "1"]), Ok(()));
        assert_eq!(run(&v, &["set", "a", "1"]), Err(Denied::Key(1)));
    }
}
