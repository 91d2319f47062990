//! Access control lists (Redis's acl.c): users, their rules, the permission check, the
//! ACL log and the ACL file.
//!
//! - [`catalog`]: every Redis 7.0.15 command and subcommand with its arity, flags,
//!   exact ACL categories, key specs and docs ([`spec`] is the shape of an entry),
//!   generated from Redis's command JSON files. Rules name commands from it, so an ACL
//!   file written for Redis loads here unchanged; the dispatcher, COMMAND INFO, DOCS
//!   and GETKEYS read it too.
//! - [`rules`]: users and selectors, the rule language of ACL SETUSER and ACL files,
//!   and how a user is described back (ACL LIST, ACL GETUSER).
//! - [`check`]: whether a user may run a request: the command bit, the keys (by the
//!   command's key specs, with `%R~`/`%W~` read/write patterns) and the channels.
//! - this file: the user table the server shares, the ACL log, and the ACL file.
//!
//! The permission check must cost nothing for the usual user: each user cell carries an
//! `unrestricted` flag (all commands, keys and channels, no other selector), and the
//! dispatcher tests only that flag for such users.

pub mod catalog;
pub mod check;
pub mod rules;
pub mod spec;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

pub use check::Denied;
pub use rules::{Selector, User};

pub use spec::{key_flags, Begin, Find, KeySpec, Spec, NO_PARENT};

/// The ACL categories, in Redis's order (COMMAND INFO and ACL CAT list them so); bit
/// `i` of a category mask is `CATEGORIES[i]`.
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// A category's bit, by name, ignoring case.
pub fn category_bit(name: &[u8]) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// The catalog index of a full command name (`get`, `CONFIG|GET`), as Redis's
/// `ACLLookupCommand`: at most one `|`, and the part after it must be a subcommand.
pub fn lookup(name: &[u8]) -> Option<usize> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<&'static str, usize>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        catalog::SPECS
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name, i))
            .collect()
    });
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    index.get(lower.as_str()).copied()
}

/// The subcommands of a catalog entry (contiguous, right after it).
pub fn subcommands(id: usize) -> impl Iterator<Item = usize> {
    (id + 1..catalog::SPECS.len()).take_while(move |&i| catalog::SPECS[i].parent == id)
}

/// The catalog index of one of our command table's entries (a command or a
/// subcommand), if Redis 7.0.15 has it.
pub fn id_of(cmd: &'static crate::command::Command) -> Option<usize> {
    cmd.spec().map(|_| cmd.id)
}

/// A command's category names, `@`-prefixed, in Redis's order (COMMAND INFO).
pub fn category_names(mask: u32) -> Vec<String> {
    CATEGORIES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, c)| format!("@{c}"))
        .collect()
}

/// One user as the server holds it: its rules, behind a lock ACL SETUSER takes, and
/// the flag the dispatcher tests first.
#[derive(Debug)]
pub struct UserCell {
    /// Unique for the server's life (clients name their user by it: a user deleted and
    /// created again is another user).
    pub id: u64,
    rules: RwLock<User>,
    /// All commands, keys and channels: nothing to check.
    unrestricted: AtomicBool,
}

impl UserCell {
    fn new(user: User) -> UserCell {
        // 0 is no user's: a client's `user_id` starts there, meaning the default user.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let unrestricted = user.is_unrestricted();
        UserCell {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            rules: RwLock::new(user),
            unrestricted: AtomicBool::new(unrestricted),
        }
    }

    /// A user that may run everything, whatever `default` may: the AOF loading client's
    /// (Redis's client without a user, which no check applies to).
    pub fn superuser() -> UserCell {
        UserCell::new(User::new_default())
    }

    /// The user's rules, for reading.
    pub fn read(&self) -> RwLockReadGuard<'_, User> {
        self.rules.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the user's rules.
    pub fn replace(&self, user: User) {
        let unrestricted = user.is_unrestricted();
        *self.rules.write().unwrap_or_else(|e| e.into_inner()) = user;
        self.unrestricted.store(unrestricted, Ordering::Release);
    }

    /// Whether the user may run everything (the dispatcher's one flag test).
    pub fn is_unrestricted(&self) -> bool {
        self.unrestricted.load(Ordering::Acquire)
    }

    /// The user's name.
    pub fn name(&self) -> Vec<u8> {
        self.read().name.clone()
    }
}

/// Why the ACL log has an entry (Redis's `ACL_DENIED_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The command or subcommand.
    Command,
    /// A key.
    Key,
    /// A channel.
    Channel,
    /// A failed AUTH or HELLO AUTH.
    Auth,
}

/// Where a denial happened (Redis's `ACL_LOG_CTX_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A request of its own.
    Toplevel,
    /// Queued in MULTI, or run by EXEC.
    Multi,
    /// Called by a script.
    Lua,
}

/// One ACL LOG entry.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// How many times it happened (like events within a minute count in one entry).
    pub count: u64,
    /// What was refused.
    pub reason: Reason,
    /// Where: top level, in EXEC, in a script.
    pub context: Context,
    /// The command's full name, the key, the channel, or AUTH/HELLO as sent.
    pub object: Vec<u8>,
    /// The user refused (for a failed login, the name tried).
    pub username: Vec<u8>,
    /// Unix ms of the last time it happened.
    pub ctime_ms: u64,
    /// The client's CLIENT LIST line, the last time.
    pub client_info: String,
}

/// How long after an entry a like event still counts in it (Redis's
/// `ACL_LOG_GROUPING_MAX_TIME_DELTA`).
const LOG_GROUPING_MS: u64 = 60_000;

/// The server's users, the ACL log and the settings they follow.
#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<Vec<u8>, Arc<UserCell>>>,
    /// The default user, which every connection starts as; ACL LOAD changes its rules
    /// in place (as Redis copies into `DefaultUser`).
    default: Arc<UserCell>,
    /// Whether a new connection must authenticate (the default user is off or has no
    /// `nopass`), mirrored for the dispatcher.
    auth_required: AtomicBool,
    log: Mutex<VecDeque<LogEntry>>,
    /// `acllog-max-len`.
    pub log_max_len: AtomicUsize,
    /// `acl-pubsub-default allchannels`: new selectors start with all channels.
    pub pubsub_all: AtomicBool,
    /// The `requirepass` last applied to the default user, to apply only a change.
    requirepass: Mutex<Option<String>>,
}

impl Default for Acl {
    fn default() -> Acl {
        let default = Arc::new(UserCell::new(User::new_default()));
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), Arc::clone(&default));
        Acl {
            users: RwLock::new(users),
            default,
            auth_required: AtomicBool::new(false),
            log: Mutex::default(),
            log_max_len: AtomicUsize::new(128),
            pubsub_all: AtomicBool::new(false),
            requirepass: Mutex::default(),
        }
    }
}

impl Acl {
    /// The default user.
    pub fn default_user(&self) -> &Arc<UserCell> {
        &self.default
    }

    /// Whether a client that has not authenticated must (Redis's `authRequired`).
    pub fn auth_required(&self) -> bool {
        self.auth_required.load(Ordering::Relaxed)
    }

    fn refresh_auth_required(&self) {
        let u = self.default.read();
        self.auth_required
            .store(!u.nopass || !u.enabled, Ordering::Relaxed);
    }

    /// A user by name.
    pub fn get(&self, name: &[u8]) -> Option<Arc<UserCell>> {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Every user, sorted by name (as Redis's radix tree walks them).
    pub fn users(&self) -> Vec<Arc<UserCell>> {
        self.users
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// A fresh selector's channel flag, from `acl-pubsub-default`.
    pub fn new_user(&self, name: &[u8]) -> User {
        User::new(name, self.pubsub_all.load(Ordering::Relaxed))
    }

    /// Stores a user (new or changed) under its name.
    pub fn put(&self, user: User) -> Arc<UserCell> {
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        let cell = match users.get(&user.name) {
            Some(cell) => {
                cell.replace(user);
                Arc::clone(cell)
            }
            None => {
                let cell = Arc::new(UserCell::new(user));
                users.insert(cell.name(), Arc::clone(&cell));
                cell
            }
        };
        drop(users);
        self.refresh_auth_required();
        cell
    }

    /// Removes a user; returns its cell if it existed.
    pub fn remove(&self, name: &[u8]) -> Option<Arc<UserCell>> {
        self.users
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
    }

    /// Replaces every user at once (ACL LOAD, startup); the default user keeps its cell.
    /// Returns the cells that are gone (their clients must be disconnected).
    pub fn replace_all(&self, mut new: BTreeMap<Vec<u8>, User>) -> Vec<Arc<UserCell>> {
        let default = new
            .remove(&b"default"[..])
            .unwrap_or_else(User::new_default);
        self.default.replace(default);
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        let old = std::mem::take(&mut *users);
        users.insert(b"default".to_vec(), Arc::clone(&self.default));
        for (name, user) in new {
            users.insert(name, Arc::new(UserCell::new(user)));
        }
        drop(users);
        self.refresh_auth_required();
        old.into_values()
            .filter(|c| !Arc::ptr_eq(c, &self.default))
            .collect()
    }

    /// Applies the settings ACL follows: `requirepass` (see
    /// [`Acl::apply_requirepass`]), `acl-pubsub-default` and `acllog-max-len`.
    pub fn configure(&self, config: &crate::config::Config) {
        self.apply_requirepass(&config.requirepass);
        let all = config.value("acl-pubsub-default").as_deref() == Some(&b"allchannels"[..]);
        self.pubsub_all.store(all, Ordering::Relaxed);
        let max = config
            .value("acllog-max-len")
            .and_then(|v| crate::util::num::parse_i64(&v))
            .map_or(128, |n| n.max(0) as usize);
        self.log_max_len.store(max, Ordering::Relaxed);
    }

    /// Applies `requirepass` to the default user if it changed since last applied (as
    /// Redis's `ACLUpdateDefaultUserPassword`: `resetpass`, then the password or
    /// `nopass`).
    pub fn apply_requirepass(&self, requirepass: &str) {
        let mut last = self.requirepass.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_deref() == Some(requirepass) {
            return;
        }
        *last = Some(requirepass.to_string());
        let mut user = self.default.read().clone();
        let _ = user.apply(b"resetpass", false);
        if requirepass.is_empty() {
            let _ = user.apply(b"nopass", false);
        } else {
            let mut op = b">".to_vec();
            op.extend_from_slice(requirepass.as_bytes());
            let _ = user.apply(&op, false);
        }
        self.default.replace(user);
        self.refresh_auth_required();
    }

    /// Checks a user name and password (Redis's `ACLCheckUserCredentials`): the user's
    /// cell if it exists, is on, and the password is one of its own (any, if `nopass`).
    pub fn check_credentials(&self, name: &[u8], password: &[u8]) -> Option<Arc<UserCell>> {
        let cell = self.get(name)?;
        let ok = cell.read().password_ok(password);
        ok.then_some(cell)
    }

    /// Adds an ACL LOG entry, or counts a like one from the last minute (among the ten
    /// newest) again, as Redis's `addACLLogEntry`.
    pub fn log(&self, mut entry: LogEntry) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let found = log.iter().take(10).position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && e.ctime_ms.abs_diff(entry.ctime_ms) <= LOG_GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        if let Some(i) = found {
            if let Some(mut old) = log.remove(i) {
                old.count += 1;
                old.ctime_ms = entry.ctime_ms;
                old.client_info = std::mem::take(&mut entry.client_info);
                log.push_front(old);
            }
            return;
        }
        log.push_front(entry);
        let max = self.log_max_len.load(Ordering::Relaxed);
        log.truncate(max);
    }

    /// The newest `count` entries of the ACL log.
    pub fn log_entries(&self, count: usize) -> Vec<LogEntry> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().take(count).cloned().collect()
    }

    /// Empties the ACL log (ACL LOG RESET).
    pub fn log_reset(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The ACL file's text (ACL SAVE): one `user` line per user, sorted by name.
    pub fn file_text(&self) -> String {
        let mut text = String::new();
        for cell in self.users() {
            let u = cell.read();
            text.push_str("user ");
            text.push_str(&String::from_utf8_lossy(&u.name));
            text.push(' ');
            text.push_str(&u.describe());
            text.push('\n');
        }
        text
    }
}

/// Parses an ACL file's text (Redis's `ACLLoadFromFile`, without applying it): the
/// users it defines, or the one-line description of every problem found. `filename`
/// is how the messages name the file.
pub fn parse_file(
    text: &[u8],
    filename: &str,
    pubsub_all: bool,
) -> Result<BTreeMap<Vec<u8>, User>, String> {
    let mut errors = String::new();
    let mut users: BTreeMap<Vec<u8>, User> = BTreeMap::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let linenum = i + 1;
        let line = trim(line, b" \t\r\n");
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        if argv[0] != b"user" || argv.len() < 2 {
            errors.push_str(&format!(
                "{filename}:{linenum} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = argv[1];
        if rules::has_spaces(name) {
            errors.push_str(&format!(
                "'{filename}:{linenum}: username '{}' contains invalid characters. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        if users.contains_key(name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {linenum}. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        let mut user = User::new(name, pubsub_all);
        let ops = match rules::merge_selectors(&argv[2..]) {
            Ok(ops) => ops,
            Err(_) => {
                errors.push_str(&format!(
                    "{filename}:{linenum}: Unmatched parenthesis in selector definition."
                ));
                Vec::new()
            }
        };
        let mut syntax_error = false;
        for op in &ops {
            let op = trim(op, b"\t\r\n");
            if let Err(e) = user.apply(op, pubsub_all) {
                if e == rules::RuleError::Unknown {
                    errors.push_str(&format!(
                        "{filename}:{linenum}: Error in applying operation '{}': {}. ",
                        String::from_utf8_lossy(op),
                        e.message()
                    ));
                } else if !syntax_error {
                    errors.push_str(&format!("{filename}:{linenum}: {}. ", e.message()));
                    syntax_error = true;
                }
            }
        }
        users.insert(name.to_vec(), user);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        Err(errors)
    }
}

/// `s` without the bytes of `set` at either end (Redis's `sdstrim`).
fn trim<'a>(s: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|b| !set.contains(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !set.contains(b))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Reads and parses the ACL file (`Error loading ACLs, opening file ...` when it
/// cannot be read).
pub fn load_file(path: &str, pubsub_all: bool) -> Result<BTreeMap<Vec<u8>, User>, String> {
    let text = std::fs::read(path).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{path}': {}",
            crate::persist::aof::manifest::strerror(&e)
        )
    })?;
    parse_file(&text, path, pubsub_all)
}

/// Writes the ACL file as ACL SAVE does: a temporary file beside it, then a rename.
pub fn save_file(path: &str, text: &str) -> std::io::Result<()> {
    let tmp = format!(
        "{path}.tmp-{}-{}",
        std::process::id(),
        crate::util::now_ms()
    );
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Checks a config file's `user` line as Redis does while reading the file
/// (`ACLAppendUserForLoading`): a second line for one user, or a rule that is wrong
/// for any reason but an unknown command (modules may add those later), is refused.
/// The message names `argv[j]` for the `j`th rule, as Redis's does.
pub fn check_user_line(argv: &[Vec<u8>], duplicate: bool) -> Result<(), String> {
    let declaration = |at: usize, why: &str| {
        format!(
            "Error in user declaration '{}': {why}",
            String::from_utf8_lossy(argv.get(at).map_or(&[][..], Vec::as_slice))
        )
    };
    if duplicate {
        return Err(declaration(
            1,
            "Duplicate user found. A user can only be defined once in config files",
        ));
    }
    let words: Vec<&[u8]> = argv[2..].iter().map(Vec::as_slice).collect();
    let ops = rules::merge_selectors(&words).map_err(|_| declaration(0, "Syntax error"))?;
    let mut fake = User::new(b"fake", false);
    for (j, op) in ops.iter().enumerate() {
        match fake.apply(op, false) {
            Err(e) if e != rules::RuleError::Unknown => return Err(declaration(j, e.message())),
            _ => {}
        }
    }
    Ok(())
}

/// The users to load at startup (Redis's `ACLLoadUsersAtStartup`): those of the config
/// file's `user` lines, or of the ACL file, never both. On an error, the lines Redis
/// logs before it exits.
pub fn startup_users(
    acl: &Acl,
    user_lines: &[Vec<Vec<u8>>],
    aclfile: &str,
) -> Result<(), Vec<String>> {
    let pubsub_all = acl.pubsub_all.load(Ordering::Relaxed);
    if !aclfile.is_empty() && !user_lines.is_empty() {
        return Err(vec!["Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into()]);
    }
    if !user_lines.is_empty() {
        let mut users = configured_users(user_lines, pubsub_all).map_err(|why| {
            vec![
                why,
                "Critical error while loading ACLs. Exiting.".to_string(),
            ]
        })?;
        users
            .entry(b"default".to_vec())
            .or_insert_with(|| acl.default_user().read().clone());
        acl.replace_all(users);
    }
    if !aclfile.is_empty() {
        let users = load_file(aclfile, pubsub_all)
            .map_err(|e| vec![format!("Aborting Redis startup because of ACL errors: {e}")])?;
        acl.replace_all(users);
    }
    Ok(())
}

/// Loads the users of `user` config lines (Redis's `ACLLoadConfiguredUsers`): each is
/// created (the default user reset first) and its rules applied; an error names the
/// rule, as Redis logs it.
pub fn configured_users(
    lines: &[Vec<Vec<u8>>],
    pubsub_all: bool,
) -> Result<BTreeMap<Vec<u8>, User>, String> {
    let mut users = BTreeMap::new();
    for words in lines {
        let Some((name, ops)) = words.split_first() else {
            continue;
        };
        if rules::has_spaces(name) {
            return Err("Spaces not allowed in ACL usernames".into());
        }
        let mut user = User::new(name, pubsub_all);
        if name == b"default" {
            // The default user exists already: Redis resets it, then applies the rules.
            let _ = user.apply(b"reset", pubsub_all);
        }
        let ops = rules::merge_selectors(&ops.iter().map(Vec::as_slice).collect::<Vec<_>>())
            .map_err(|at| format!("Unmatched parenthesis in acl selector starting at '{at}'."))?;
        for op in &ops {
            if let Err(e) = user.apply(op, pubsub_all) {
                return Err(format!(
                    "Error loading ACL rule '{}' for the user named '{}': {}",
                    String::from_utf8_lossy(op),
                    String::from_utf8_lossy(name),
                    e.message()
                ));
            }
        }
        users.insert(name.clone(), user);
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_with_subcommands_after_their_parent() {
        let specs = catalog::SPECS;
        for (i, s) in specs.iter().enumerate() {
            if s.parent != NO_PARENT {
                assert!(s.parent < i);
                assert!(s.name.starts_with(&format!("{}|", specs[s.parent].name)));
            }
        }
        assert_eq!(
            lookup(b"CONFIG|GET").map(|i| specs[i].name),
            Some("config|get")
        );
        assert_eq!(lookup(b"get").map(|i| specs[i].name), Some("get"));
        assert!(lookup(b"get|x").is_none());
        let config = lookup(b"config").unwrap();
        assert!(subcommands(config).any(|i| specs[i].name == "config|set"));
    }

    #[test]
    fn every_command_of_ours_is_in_the_catalog() {
        let test_only: Vec<&str> = crate::command::testing::COMMANDS
            .iter()
            .map(|c| c.name)
            .collect();
        let mut missing = Vec::new();
        for c in crate::command::all() {
            if test_only.contains(&c.name) {
                continue;
            }
            if id_of(c).is_none() {
                missing.push(c.name.to_string());
            }
            for s in c.subcommands {
                if id_of(s).is_none() {
                    missing.push(format!("{}|{}", c.name, s.name));
                }
            }
        }
        // CLIENT SETINFO is Redis 7.2's; redlite serves it, Redis 7.0.15's ACLs do not
        // know it (see `command::acl::denial`).
        assert_eq!(missing, ["client|setinfo"]);
        let get = crate::command::lookup(b"get").unwrap();
        assert_eq!(id_of(get), lookup(b"get"));
    }

    #[test]
    fn category_names_follow_redis_order() {
        let get = &catalog::SPECS[lookup(b"get").unwrap()];
        assert_eq!(
            category_names(get.categories),
            ["@read", "@string", "@fast"]
        );
        assert_eq!(category_bit(b"SortedSet"), Some(1 << 4));
        assert_eq!(category_bit(b"all"), None);
    }

    #[test]
    fn acl_file_errors_are_collected_line_by_line() {
        let text =
            b"user alice on >pw ~* +@all\n\nbogus line\nuser alice on\nuser bob +nosuch ~a\n";
        let err = parse_file(text, "users.acl", false).unwrap_err();
        assert_eq!(
            err,
            "users.acl:3 should start with user keyword followed by the username. \
             WARNING: Duplicate user 'alice' found on line 4. \
             users.acl:5: Error in applying operation '+nosuch': Unknown command or category name in ACL. \
             WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
        let ok = parse_file(b"user alice on nopass ~k* +get\r\n", "f", false).unwrap();
        assert_eq!(
            ok[&b"alice"[..]].describe(),
            "on nopass ~k* resetchannels -@all +get"
        );
    }

    #[test]
    fn the_log_groups_like_entries() {
        let acl = Acl::default();
        let entry = |object: &str, t| LogEntry {
            count: 1,
            reason: Reason::Key,
            context: Context::Toplevel,
            object: object.as_bytes().to_vec(),
            username: b"u".to_vec(),
            ctime_ms: t,
            client_info: format!("t={t}"),
        };
        acl.log(entry("a", 1000));
        acl.log(entry("b", 1000));
        acl.log(entry("a", 2000));
        acl.log(entry("a", 200_000));
        let log = acl.log_entries(10);
        assert_eq!(log.len(), 3);
        assert_eq!((log[1].count, log[1].client_info.as_str()), (2, "t=2000"));
        acl.log_max_len.store(1, Ordering::Relaxed);
        acl.log(entry("c", 1));
        assert_eq!(acl.log_entries(10).len(), 1);
    }
}
