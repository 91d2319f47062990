//! The shape of one entry of the command catalog ([`super::catalog`]): what Redis's
//! `struct redisCommand` declares about a command (arity, flags, key specs, docs,
//! arguments), with the small `const fn` builders the generated table is written in.

use crate::command::flags::NO_AUTH;

/// No parent: a top-level command in [`super::catalog::SPECS`].
pub const NO_PARENT: usize = usize::MAX;

/// One command or subcommand Redis 7.0.15 knows.
#[derive(Debug)]
pub struct Spec {
    /// The full name, lowercase: `get`, `config|get`.
    pub name: &'static str,
    /// The index of the container command, or [`NO_PARENT`].
    pub parent: usize,
    /// Redis's arity: `N` words exactly (the name included), `-N` at least N.
    pub arity: i32,
    /// [`crate::command::flags`] bits, hidden ones (`may_replicate`, `sentinel`...)
    /// included, `movablekeys` derived from the key specs.
    pub flags: u32,
    /// ACL category bits (see [`super::CATEGORIES`]), implicit ones included.
    pub categories: u32,
    /// The legacy first key, last key and step of COMMAND INFO.
    pub range: (i32, i32, i32),
    /// COMMAND DOCS's group (`string`, `sorted-set`...).
    pub group: &'static str,
    /// The version the command appeared in.
    pub since: &'static str,
    /// One line of what it does.
    pub summary: &'static str,
    /// Its time complexity, in words.
    pub complexity: Option<&'static str>,
    /// [`DOC_DEPRECATED`] and [`DOC_SYSCMD`] bits.
    pub doc_flags: u8,
    /// The version that deprecated it.
    pub deprecated_since: Option<&'static str>,
    /// What to use instead of a deprecated command.
    pub replaced_by: Option<&'static str>,
    /// `(version, change)` pairs.
    pub history: &'static [(&'static str, &'static str)],
    /// Hints for clients and proxies (`nondeterministic_output`...).
    pub tips: &'static [&'static str],
    /// The key specs, as Redis's JSON declares them.
    pub keys: &'static [KeySpec],
    /// The argument tree.
    pub args: &'static [Arg],
}

/// COMMAND DOCS `doc_flags`: the command is deprecated.
pub const DOC_DEPRECATED: u8 = 1;
/// COMMAND DOCS `doc_flags`: a system command, not for users.
pub const DOC_SYSCMD: u8 = 2;

impl Spec {
    /// Whether every user may run it (AUTH, HELLO, QUIT).
    pub fn no_auth(&self) -> bool {
        self.flags & NO_AUTH != 0
    }

    /// The word after the `|` of a subcommand's name, or the whole name.
    pub fn own_name(&self) -> &'static str {
        self.name.rsplit('|').next().unwrap_or(self.name)
    }
}

/// Where a key spec's keys start.
#[derive(Debug, Clone, Copy)]
pub enum Begin {
    /// At a fixed argument.
    Index(i32),
    /// After a keyword (as the JSON spells it), searched from `startfrom` (negative:
    /// from the end).
    Keyword(&'static str, i32),
    /// Only the command's own parsing knows.
    Unknown,
}

/// How many keys a spec covers from its start.
#[derive(Debug, Clone, Copy)]
pub enum Find {
    /// `(lastkey, keystep, limit)`.
    Range(i32, i32, i32),
    /// `(keynumidx, firstkey, keystep)`.
    Keynum(i32, i32, i32),
    /// Only the command's own parsing knows.
    Unknown,
}

/// One key spec: where its keys are and how the command uses them.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// [`key_flags`] bits.
    pub flags: u16,
    /// Where its keys start.
    pub begin: Begin,
    /// How many there are.
    pub find: Find,
    /// Redis's remark on the spec, shown by COMMAND INFO.
    pub notes: Option<&'static str>,
}

/// Key spec flags (Redis's `CMD_KEY_*`), in COMMAND INFO's order.
pub mod key_flags {
    /// Read only: the value is read, not changed.
    pub const RO: u16 = 1 << 7;
    /// Read and write.
    pub const RW: u16 = 1 << 8;
    /// Overwrite: the value is replaced without being read.
    pub const OW: u16 = 1 << 9;
    /// Remove: the key is deleted.
    pub const RM: u16 = 1 << 10;
    /// The command reads the key's value.
    pub const ACCESS: u16 = 1;
    /// It changes data.
    pub const UPDATE: u16 = 8;
    /// It adds data.
    pub const INSERT: u16 = 2;
    /// It removes data.
    pub const DELETE: u16 = 4;
    /// Not a key (a name that only looks like one).
    pub const NOT_KEY: u16 = 16;
    /// The spec may miss keys: the command's own parsing must find them.
    pub const INCOMPLETE: u16 = 32;
    /// The flags depend on the arguments (SET with or without GET).
    pub const VARIABLE_FLAGS: u16 = 64;

    /// Flag names in COMMAND INFO's order.
    pub const NAMES: &[(u16, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// One argument of a command's documented syntax (COMMAND DOCS).
#[derive(Debug)]
pub struct Arg {
    /// Lowercase name.
    pub name: &'static str,
    /// An index into [`ARG_TYPES`].
    pub kind: u8,
    /// The key spec a `key` argument belongs to, or -1.
    pub key_spec: i32,
    /// The word that introduces it (`EX`), uppercase.
    pub token: Option<&'static str>,
    /// The version it appeared in.
    pub since: Option<&'static str>,
    /// The version that deprecated it.
    pub deprecated_since: Option<&'static str>,
    /// [`ARG_OPTIONAL`], [`ARG_MULTIPLE`], [`ARG_MULTIPLE_TOKEN`] bits.
    pub flags: u8,
    /// The alternatives of a `oneof`, the parts of a `block`.
    pub args: &'static [Arg],
}

/// Argument type names, as COMMAND DOCS spells them.
pub const ARG_TYPES: [&str; 9] = [
    "string",
    "integer",
    "double",
    "key",
    "pattern",
    "unix-time",
    "pure-token",
    "oneof",
    "block",
];
/// Argument type `string`.
pub const STRING: u8 = 0;
/// Argument type `integer`.
pub const INTEGER: u8 = 1;
/// Argument type `double`.
pub const DOUBLE: u8 = 2;
/// Argument type `key`.
pub const KEY: u8 = 3;
/// Argument type `pattern`.
pub const PATTERN: u8 = 4;
/// Argument type `unix-time`.
pub const UNIX_TIME: u8 = 5;
/// Argument type `pure-token`.
pub const PURE_TOKEN: u8 = 6;
/// Argument type `oneof`.
pub const ONEOF: u8 = 7;
/// Argument type `block`.
pub const BLOCK: u8 = 8;

/// The argument may be left out.
pub const ARG_OPTIONAL: u8 = 1;
/// The argument may repeat.
pub const ARG_MULTIPLE: u8 = 2;
/// Each repetition repeats the token too.
pub const ARG_MULTIPLE_TOKEN: u8 = 4;

/// A catalog entry with its required fields; the builder methods add the rest.
#[allow(clippy::too_many_arguments)]
pub const fn s(
    name: &'static str,
    parent: usize,
    arity: i32,
    flags: u32,
    categories: u32,
    range: (i32, i32, i32),
    group: &'static str,
    since: &'static str,
    summary: &'static str,
) -> Spec {
    Spec {
        name,
        parent,
        arity,
        flags,
        categories,
        range,
        group,
        since,
        summary,
        complexity: None,
        doc_flags: 0,
        deprecated_since: None,
        replaced_by: None,
        history: &[],
        tips: &[],
        keys: &[],
        args: &[],
    }
}

impl Spec {
    /// Sets the complexity.
    pub const fn complexity(mut self, text: &'static str) -> Spec {
        self.complexity = Some(text);
        self
    }

    /// Sets the doc flags.
    pub const fn doc_flags(mut self, flags: u8) -> Spec {
        self.doc_flags = flags;
        self
    }

    /// Sets the version that deprecated it.
    pub const fn deprecated(mut self, since: &'static str) -> Spec {
        self.deprecated_since = Some(since);
        self
    }

    /// Sets its replacement.
    pub const fn replaced_by(mut self, text: &'static str) -> Spec {
        self.replaced_by = Some(text);
        self
    }

    /// Sets its history.
    pub const fn history(mut self, history: &'static [(&'static str, &'static str)]) -> Spec {
        self.history = history;
        self
    }

    /// Sets its tips.
    pub const fn tips(mut self, tips: &'static [&'static str]) -> Spec {
        self.tips = tips;
        self
    }

    /// Sets its key specs.
    pub const fn keys(mut self, keys: &'static [KeySpec]) -> Spec {
        self.keys = keys;
        self
    }

    /// Sets its arguments.
    pub const fn args(mut self, args: &'static [Arg]) -> Spec {
        self.args = args;
        self
    }
}

/// A key spec.
pub const fn ks(flags: u16, begin: Begin, find: Find) -> KeySpec {
    KeySpec {
        flags,
        begin,
        find,
        notes: None,
    }
}

impl KeySpec {
    /// Sets its notes.
    pub const fn notes(mut self, notes: &'static str) -> KeySpec {
        self.notes = Some(notes);
        self
    }
}

/// An argument of type `kind` (one of the type constants above).
pub const fn a(name: &'static str, kind: u8) -> Arg {
    Arg {
        name,
        kind,
        key_spec: -1,
        token: None,
        since: None,
        deprecated_since: None,
        flags: 0,
        args: &[],
    }
}

impl Arg {
    /// Sets the key spec it belongs to.
    pub const fn key(mut self, index: i32) -> Arg {
        self.key_spec = index;
        self
    }

    /// Sets its token.
    pub const fn token(mut self, token: &'static str) -> Arg {
        self.token = Some(token);
        self
    }

    /// Sets the version it appeared in.
    pub const fn since(mut self, since: &'static str) -> Arg {
        self.since = Some(since);
        self
    }

    /// Sets the version that deprecated it.
    pub const fn deprecated(mut self, since: &'static str) -> Arg {
        self.deprecated_since = Some(since);
        self
    }

    /// Marks it optional.
    pub const fn optional(mut self) -> Arg {
        self.flags |= ARG_OPTIONAL;
        self
    }

    /// Marks it repeatable.
    pub const fn multiple(mut self) -> Arg {
        self.flags |= ARG_MULTIPLE;
        self
    }

    /// Marks its token as repeated with it.
    pub const fn multiple_token(mut self) -> Arg {
        self.flags |= ARG_MULTIPLE_TOKEN;
        self
    }

    /// Sets its sub-arguments.
    pub const fn args(mut self, args: &'static [Arg]) -> Arg {
        self.args = args;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::catalog::SPECS;

    /// Every `key_spec_index` of an argument tree, depth first.
    fn key_indexes(args: &[Arg], out: &mut Vec<i32>) {
        for a in args {
            if a.key_spec >= 0 {
                out.push(a.key_spec);
            }
            key_indexes(a.args, out);
        }
    }

    #[test]
    fn catalog_entries_are_consistent() {
        for (i, s) in SPECS.iter().enumerate() {
            assert_ne!(s.arity, 0, "{}", s.name);
            assert_eq!(s.name, s.name.to_ascii_lowercase());
            // Arguments name key specs that exist, and only `key` arguments do.
            let mut used = Vec::new();
            key_indexes(s.args, &mut used);
            assert!(
                used.iter().all(|&k| (k as usize) < s.keys.len()),
                "{}: {used:?} of {} specs",
                s.name,
                s.keys.len()
            );
            // A legacy key range exists only for commands with keys.
            assert_eq!(
                s.range.0 > 0,
                !s.keys.is_empty() && s.range.2 > 0,
                "{}",
                s.name
            );
            // Subcommands follow their container.
            if s.parent != NO_PARENT {
                assert!(s.parent < i && SPECS[s.parent].parent == NO_PARENT);
                assert_eq!(s.group, SPECS[s.parent].group, "{}", s.name);
            }
        }
    }

    #[test]
    fn spec_builders_fill_what_they_name() {
        let set = &SPECS[crate::acl::lookup(b"set").unwrap()];
        assert_eq!((set.arity, set.range), (-3, (1, 1, 1)));
        assert_eq!(
            set.keys[0].flags & key_flags::VARIABLE_FLAGS,
            key_flags::VARIABLE_FLAGS
        );
        assert!(set.keys[0].notes.is_some());
        let nx = &set.args[2].args[0];
        assert_eq!((nx.name, nx.kind, nx.token), ("nx", PURE_TOKEN, Some("NX")));
        assert_eq!(set.args[2].flags, ARG_OPTIONAL);
        assert_eq!(set.history.len(), 4);
    }
}
