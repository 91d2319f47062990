//! Users and selectors, the rule language (ACL SETUSER, `user` lines of the config
//! and ACL files) and how a user is described back (ACL LIST, ACL GETUSER, ACL SAVE).
//!
//! ```text
//! on off nopass resetpass >pass <pass #hash !hash reset (selector) clearselectors
//! +cmd -cmd +cmd|sub -cmd|sub +cmd|firstarg +@cat -@cat allcommands nocommands
//! ~pattern %R~pattern %W~pattern %RW~pattern allkeys resetkeys
//! &pattern allchannels resetchannels skip-sanitize-payload sanitize-payload
//! ```

use super::catalog::SPECS;
use super::{category_bit, lookup, subcommands, CATEGORIES, NO_PARENT};

/// Bits of one command bitmap: every catalog entry, plus the "future commands" bit
/// that only `+@all` sets (Redis's reserved last bit), which decides whether a
/// description starts from `+@all` or `-@all`.
const WORDS: usize = (SPECS.len() + 1).div_ceil(64);
const FUTURE: usize = SPECS.len();

/// Key pattern permission to read (Redis's `ACL_READ_PERMISSION`).
pub const READ: u8 = 1;
/// Key pattern permission to write (Redis's `ACL_WRITE_PERMISSION`).
pub const WRITE: u8 = 2;

/// Why a rule was refused (Redis sets `errno`); [`RuleError::message`] words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// ENOENT: no such command or category.
    Unknown,
    /// EINVAL.
    Syntax,
    /// EEXIST: a key pattern after `allkeys`.
    AfterAllKeys,
    /// EISDIR: a channel pattern after `allchannels`.
    AfterAllChannels,
    /// ENODEV: removing a password the user does not have.
    NoSuchPassword,
    /// EBADMSG.
    BadHash,
    /// ECHILD: `+cmd|sub|arg`.
    SubcommandFirstArg,
}

impl RuleError {
    /// Redis's `ACLSetUserStringError`.
    pub fn message(self) -> &'static str {
        match self {
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::AfterAllKeys => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::AfterAllChannels => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// Whether a name or pattern has whitespace or a NUL (Redis's `ACLStringHasSpaces`).
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | 0))
}

/// One set of permissions: commands, keys and channels. A user has its root selector
/// and may have more, written `(...)`; a request is allowed if one selector allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// Every key (`allkeys`, `~*`).
    pub allkeys: bool,
    /// Every channel (`allchannels`, `&*`).
    pub allchannels: bool,
    /// Every command, even one added later (`allcommands`, `+@all`, until a command is
    /// taken away).
    pub allcommands: bool,
    /// One bit per catalog entry, plus the "future commands" bit.
    allowed: [u64; WORDS],
    /// First arguments allowed for a command otherwise denied (`+select|0`), by
    /// command, in the order added.
    pub firstargs: Vec<(usize, Vec<Vec<u8>>)>,
    /// Key patterns with their [`READ`]/[`WRITE`] permissions, in the order added.
    pub patterns: Vec<(u8, Vec<u8>)>,
    /// Channel patterns, in the order added.
    pub channels: Vec<Vec<u8>>,
}

impl Selector {
    /// An empty selector: no commands, keys or channels (all channels under
    /// `acl-pubsub-default allchannels`).
    pub fn new(allchannels: bool) -> Selector {
        Selector {
            allkeys: false,
            allchannels,
            allcommands: false,
            allowed: [0; WORDS],
            firstargs: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    /// Whether the command bit is set.
    pub fn bit(&self, id: usize) -> bool {
        self.allowed[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if on {
            self.allowed[id / 64] |= 1 << (id % 64);
        } else {
            self.allowed[id / 64] &= !(1 << (id % 64));
            self.allcommands = false;
        }
    }

    /// Allows or denies a command, and a container's subcommands with it (Redis's
    /// `ACLChangeSelectorPerm`).
    fn change(&mut self, id: usize, on: bool) {
        self.set_bit(id, on);
        self.firstargs.retain(|(c, _)| *c != id);
        for sub in subcommands(id) {
            self.set_bit(sub, on);
        }
    }

    fn set_category(&mut self, mask: u32, on: bool) {
        for (id, spec) in SPECS.iter().enumerate() {
            if spec.categories & mask != 0 {
                self.change(id, on);
            }
        }
    }

    /// The allowed first arguments of a command.
    pub fn firstargs_of(&self, id: usize) -> Option<&[Vec<u8>]> {
        self.firstargs
            .iter()
            .find(|(c, _)| *c == id)
            .map(|(_, a)| a.as_slice())
    }

    /// Applies one selector rule (Redis's `ACLSetSelector`).
    pub fn apply(&mut self, op: &[u8]) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if op.is_empty() {
            // An empty word inside `( ... )` (`""`): Redis finds no rule in it.
            return Err(RuleError::Syntax);
        }
        if is("allkeys") || op == b"~*" {
            self.allkeys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.patterns.clear();
        } else if is("allchannels") || op == b"&*" {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.allowed = [u64::MAX; WORDS];
            self.allcommands = true;
            self.firstargs.clear();
        } else if is("nocommands") || is("-@all") {
            self.allowed = [0; WORDS];
            self.allcommands = false;
            self.firstargs.clear();
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.allkeys {
                return Err(RuleError::AfterAllKeys);
            }
            let (flags, offset) = if op[0] == b'%' {
                let mut flags = 0;
                let mut offset = 1;
                while offset < op.len() {
                    match op[offset].to_ascii_uppercase() {
                        b'R' if flags & READ == 0 => flags |= READ,
                        b'W' if flags & WRITE == 0 => flags |= WRITE,
                        b'~' => {
                            offset += 1;
                            break;
                        }
                        _ => return Err(RuleError::Syntax),
                    }
                    offset += 1;
                }
                // `%~x` would be a pattern that grants nothing and that Redis cannot
                // describe back; refuse it.
                if flags == 0 {
                    return Err(RuleError::Syntax);
                }
                (flags, offset)
            } else {
                (READ | WRITE, 1)
            };
            let pattern = &op[offset..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            match self.patterns.iter_mut().find(|(_, p)| p == pattern) {
                Some((f, _)) => *f |= flags,
                None => self.patterns.push((flags, pattern.to_vec())),
            }
            self.allkeys = false;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::AfterAllChannels);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.allchannels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            self.allow_command(&op[1..])?;
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let id = lookup(&op[1..]).ok_or(RuleError::Unknown)?;
            self.change(id, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let mask = category_bit(&op[2..]).ok_or(RuleError::Unknown)?;
            self.set_category(mask, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `+name`: a command, a subcommand, or a first argument of a command without
    /// subcommands.
    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let id = lookup(name).ok_or(RuleError::Unknown)?;
            self.change(id, true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let id = lookup(base).ok_or(RuleError::Unknown)?;
        if SPECS[id].parent != NO_PARENT {
            return Err(RuleError::SubcommandFirstArg);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if subcommands(id).next().is_some() {
            let sub_id = lookup(name).ok_or(RuleError::Unknown)?;
            self.change(sub_id, true);
        } else {
            match self.firstargs.iter_mut().find(|(c, _)| *c == id) {
                Some((_, args)) => {
                    if !args.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                        args.push(sub.to_vec());
                    }
                }
                None => self.firstargs.push((id, vec![sub.to_vec()])),
            }
        }
        Ok(())
    }

    /// The command rules that rebuild this selector's bitmap (Redis's
    /// `ACLDescribeSelectorCommandRules`): `+@all` or `-@all`, then the categories that
    /// fit best, then single commands. Single commands come in catalog order (Redis
    /// uses its command dictionary's order, which varies from run to run).
    pub fn describe_commands(&self) -> String {
        let additive = !self.bit(FUTURE);
        let mut rules = String::new();
        let mut fake = Selector::new(false);
        if additive {
            rules.push_str("-@all ");
            let _ = fake.apply(b"-@all");
        } else {
            rules.push_str("+@all ");
            let _ = fake.apply(b"+@all");
        }
        let mut temp = Selector::new(false);
        temp.allowed = self.allowed;
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (u64::MAX, 0);
            for (j, _) in CATEGORIES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (mut on, mut off) = (0u64, 0u64);
                for (id, spec) in SPECS.iter().enumerate() {
                    if spec.categories & (1 << j) != 0 {
                        if temp.bit(id) {
                            on += 1;
                        } else {
                            off += 1;
                        }
                    }
                }
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(j) = best else { break };
            fake.set_category(1 << j, additive);
            temp.set_category(1 << j, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(CATEGORIES[j]);
            rules.push(' ');
            applied[j] = true;
        }
        for (id, spec) in SPECS.iter().enumerate() {
            let userbit = self.bit(id);
            if userbit != fake.bit(id) {
                rules.push(if userbit { '+' } else { '-' });
                rules.push_str(spec.name);
                rules.push(' ');
                fake.change(id, userbit);
            }
            if !userbit {
                for arg in self.firstargs_of(id).unwrap_or(&[]) {
                    rules.push('+');
                    rules.push_str(spec.name);
                    rules.push('|');
                    rules.push_str(&String::from_utf8_lossy(arg));
                    rules.push(' ');
                }
            }
        }
        rules.pop();
        rules
    }

    /// The key patterns as ACL GETUSER shows them (`~*` for all keys).
    pub fn describe_keys(&self) -> String {
        if self.allkeys {
            return "~*".into();
        }
        let parts: Vec<String> = self.patterns.iter().map(pattern_string).collect();
        parts.join(" ")
    }

    /// The channel patterns as ACL GETUSER shows them (`&*` for all channels).
    pub fn describe_channels(&self) -> String {
        if self.allchannels {
            return "&*".into();
        }
        let parts: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        parts.join(" ")
    }

    /// The whole selector as ACL LIST shows it (Redis's `ACLDescribeSelector`).
    pub fn describe(&self) -> String {
        let mut res = String::new();
        if self.allkeys {
            res.push_str("~* ");
        } else {
            for p in &self.patterns {
                res.push_str(&pattern_string(p));
                res.push(' ');
            }
        }
        if self.allchannels {
            res.push_str("&* ");
        } else {
            res.push_str("resetchannels ");
            for c in &self.channels {
                res.push('&');
                res.push_str(&String::from_utf8_lossy(c));
                res.push(' ');
            }
        }
        res.push_str(&self.describe_commands());
        res
    }
}

/// `~p`, `%R~p` or `%W~p` (Redis's `sdsCatPatternString`).
fn pattern_string((flags, pattern): &(u8, Vec<u8>)) -> String {
    let prefix = match *flags {
        READ => "%R~",
        WRITE => "%W~",
        _ => "~",
    };
    format!("{prefix}{}", String::from_utf8_lossy(pattern))
}

/// One user: flags, password hashes and selectors (the first is the root one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its name (no spaces).
    pub name: Vec<u8>,
    /// `on`: one may log in as it.
    pub enabled: bool,
    /// `nopass`: any password will do.
    pub nopass: bool,
    /// `skip-sanitize-payload` (Some(true)), `sanitize-payload` (Some(false)), or
    /// neither yet.
    pub skip_sanitize: Option<bool>,
    /// SHA-256 hashes of the passwords, as lowercase hex.
    pub passwords: Vec<String>,
    /// The root selector, then the `(...)` ones.
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user: off, no password, no permissions.
    pub fn new(name: &[u8], pubsub_all: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            skip_sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(pubsub_all)],
        }
    }

    /// The default user as Redis creates it: `+@all ~* &* on nopass`.
    pub fn new_default() -> User {
        let mut u = User::new(b"default", false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(op.as_bytes(), false);
        }
        u
    }

    /// The root selector.
    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// Whether nothing needs checking: one selector with every command, key and
    /// channel (the default user's usual state).
    pub fn is_unrestricted(&self) -> bool {
        let r = self.root();
        self.selectors.len() == 1 && r.allcommands && r.allkeys && r.allchannels
    }

    /// Applies one rule (Redis's `ACLSetUser`); `pubsub_all` is `acl-pubsub-default`.
    pub fn apply(&mut self, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if op.is_empty() {
            return Ok(());
        }
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.skip_sanitize = Some(true);
        } else if is("sanitize-payload") {
            self.skip_sanitize = Some(false);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                hex_sha256(&op[1..])
            } else {
                checked_hash(&op[1..])?
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                hex_sha256(&op[1..])
            } else {
                checked_hash(&op[1..])?
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut selector = Selector::new(pubsub_all);
            let inner = &op[1..op.len() - 1];
            for word in crate::config::split_args(inner).unwrap_or_default() {
                selector.apply(&word)?;
            }
            self.selectors.push(selector);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            for op in ["resetpass", "resetkeys", "resetchannels"] {
                let _ = self.apply(op.as_bytes(), pubsub_all);
            }
            if pubsub_all {
                let _ = self.apply(b"allchannels", pubsub_all);
            }
            for op in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                let _ = self.apply(op.as_bytes(), pubsub_all);
            }
        } else {
            self.selectors[0].apply(op)?;
        }
        Ok(())
    }

    /// Whether `password` lets one log in as this user: it is on, and `nopass` or the
    /// password's hash is one of its own (compared in constant time).
    pub fn password_ok(&self, password: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let hash = hex_sha256(password);
        let mut ok = false;
        for p in &self.passwords {
            let diff = p
                .bytes()
                .zip(hash.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            ok |= diff == 0;
        }
        ok
    }

    /// The flag names ACL GETUSER lists, in Redis's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        match self.skip_sanitize {
            Some(true) => flags.push("skip-sanitize-payload"),
            Some(false) => flags.push("sanitize-payload"),
            None => {}
        }
        flags
    }

    /// The user's rules as one line (Redis's `ACLDescribeUser`), as ACL LIST and the
    /// ACL file show them after `user <name> `.
    pub fn describe(&self) -> String {
        let mut res = String::new();
        for f in self.flag_names() {
            res.push_str(f);
            res.push(' ');
        }
        for p in &self.passwords {
            res.push('#');
            res.push_str(p);
            res.push(' ');
        }
        for (i, s) in self.selectors.iter().enumerate() {
            if i == 0 {
                res.push_str(&s.describe());
            } else {
                res.push_str(&format!(" ({})", s.describe()));
            }
        }
        res
    }
}

/// A password's SHA-256 as lowercase hex (Redis's `ACLHashPassword`).
pub fn hex_sha256(password: &[u8]) -> String {
    crate::util::sha256::sha256(password)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `#hash` rule's hash: 64 lowercase hex digits.
fn checked_hash(hash: &[u8]) -> Result<String, RuleError> {
    if hash.len() != 64 || !hash.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(RuleError::BadHash);
    }
    Ok(String::from_utf8_lossy(hash).into_owned())
}

/// Joins a selector written over several arguments (`(~a`, `+get)`) into one, as
/// Redis's `ACLMergeSelectorArguments`; an unclosed `(` is an error naming the argument
/// it started at.
pub fn merge_selectors(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, op) in args.iter().enumerate() {
        if let Some((_, sel)) = &mut open {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                if let Some((_, sel)) = open.take() {
                    out.push(sel);
                }
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((i, op.to_vec()));
            continue;
        }
        // A lone `(` both opens and closes in Redis's test: it starts a selector.
        if op.len() == 1 && op[0] == b'(' {
            open = Some((i, op.to_vec()));
            continue;
        }
        out.push(op.to_vec());
    }
    match open {
        Some((i, _)) => Err(String::from_utf8_lossy(args[i]).into_owned()),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(ops: &str) -> User {
        let mut u = User::new(b"u", false);
        let words: Vec<&[u8]> = ops.split(' ').map(str::as_bytes).collect();
        for op in merge_selectors(&words).unwrap() {
            u.apply(&op, false).unwrap();
        }
        u
    }

    #[test]
    fn descriptions_rebuild_the_rules() {
        assert_eq!(user("").describe(), "off resetchannels -@all");
        assert_eq!(User::new_default().describe(), "on nopass ~* &* +@all");
        assert_eq!(
            user("on >pw ~k* %R~r* %W~w* &ch +@string -set").describe(),
            format!(
                "on #{} ~k* %R~r* %W~w* resetchannels &ch -@all +@string -set",
                hex_sha256(b"pw")
            )
        );
        assert_eq!(
            user("+@all -@dangerous").root().describe_commands(),
            "+@all -@dangerous"
        );
        assert_eq!(
            user("+config|get +select|0").root().describe_commands(),
            "-@all +config|get +select|0"
        );
        assert_eq!(
            user("+@all -config|set").root().describe_commands(),
            "+@all -config|set"
        );
        let u = user("on (~a +get) (%R~b +@read)");
        assert_eq!(u.selectors.len(), 3);
        assert_eq!(u.describe(), "on resetchannels -@all (~a resetchannels -@all +get) (%R~b resetchannels -@all +@read)");
        // Describing and parsing again gives the same user.
        let again = user(&u.describe());
        assert_eq!(again.describe(), u.describe());
    }

    #[test]
    fn rule_errors() {
        let mut u = User::new(b"u", false);
        let err = |u: &mut User, op: &str| u.apply(op.as_bytes(), false).unwrap_err();
        assert_eq!(err(&mut u, "+nosuch"), RuleError::Unknown);
        assert_eq!(err(&mut u, "+@nosuch"), RuleError::Unknown);
        assert_eq!(err(&mut u, "bogus"), RuleError::Syntax);
        assert_eq!(err(&mut u, "%X~a"), RuleError::Syntax);
        assert_eq!(err(&mut u, "~a b"), RuleError::Syntax);
        assert_eq!(err(&mut u, "#abc"), RuleError::BadHash);
        assert_eq!(err(&mut u, "<nope"), RuleError::NoSuchPassword);
        assert_eq!(err(&mut u, "+config|get|x"), RuleError::SubcommandFirstArg);
        assert_eq!(err(&mut u, "+config|nosuch"), RuleError::Unknown);
        assert_eq!(err(&mut u, "-select|0"), RuleError::Unknown);
        assert_eq!(err(&mut u, "+select|"), RuleError::Syntax);
        assert_eq!(err(&mut u, "( \"\" )"), RuleError::Syntax);
        assert_eq!(err(&mut u, "(\"a b\")"), RuleError::Syntax);
        u.apply(b"allkeys", false).unwrap();
        assert_eq!(err(&mut u, "~x"), RuleError::AfterAllKeys);
        u.apply(b"allchannels", false).unwrap();
        assert_eq!(err(&mut u, "&x"), RuleError::AfterAllChannels);
    }

    #[test]
    fn passwords() {
        let u = user("on >a >b <a");
        assert!(u.password_ok(b"b"));
        assert!(!u.password_ok(b"a"));
        assert!(!user(">b").password_ok(b"b"), "an off user cannot log in");
        assert!(user("on nopass").password_ok(b"anything"));
        let hashed = user(&format!("on #{}", hex_sha256(b"x")));
        assert!(hashed.password_ok(b"x"));
    }

    #[test]
    fn merging_selector_arguments() {
        let words: Vec<&[u8]> = vec![b"on", b"(~a", b"+get)", b"(+set)"];
        assert_eq!(
            merge_selectors(&words).unwrap(),
            vec![b"on".to_vec(), b"(~a +get)".to_vec(), b"(+set)".to_vec()]
        );
        let words: Vec<&[u8]> = vec![b"(~a", b"+get"];
        assert_eq!(merge_selectors(&words).unwrap_err(), "(~a");
    }

    #[test]
    fn key_patterns_merge_their_permissions() {
        let u = user("%R~a %W~a ~b");
        assert_eq!(u.root().describe_keys(), "~a ~b");
    }
}
