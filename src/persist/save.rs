//! Writing the dump safely, and loading it at startup.
//!
//! A save writes `temp-<pid>.rdb` in the dump's directory, fsyncs it, renames it over the
//! dump, then fsyncs the directory, so that a crash at any moment leaves either the old
//! file or the new one, never a torn one. Leftover temp files from a crash are removed at
//! the next startup.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::dump::{self, LoadStats};
use crate::log::Logger;
use crate::server::Server;
use crate::store::{Keyspace, Limits, Store};
use crate::util::now_ms;

/// Writes `ks` to `path` atomically (see the module docs).
pub fn write_dump(ks: &Keyspace, path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let result = write_file(ks, &tmp).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable. The new dump is already in place, so a failure
    // here does not make the save fail (Redis only logs it too).
    let _ = File::open(&dir).and_then(|d| d.sync_all());
    Ok(())
}

fn write_file(ks: &Keyspace, tmp: &Path) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(tmp)?;
    let now = now_ms();
    let mut w = dump::Writer::new(file)?;
    for (index, db) in ks.dbs().iter().enumerate() {
        let live = |e: &crate::store::Entry| e.expires_at().is_none_or(|at| at > now);
        let count = db.iter().filter(|e| live(e)).count();
        if count == 0 {
            continue;
        }
        w.begin_db(index as u32, count as u64)?;
        for entry in db.iter().filter(|e| live(e)) {
            w.entry(entry.key(), entry.value(), entry.expires_at())?;
        }
    }
    let file = w.finish()?;
    file.sync_all()
}

/// SAVE: writes the dump and records the outcome for LASTSAVE and INFO. The caller holds
/// the keyspace lock, so the dump is a consistent snapshot.
pub fn save(server: &Server, ks: &Keyspace) -> io::Result<()> {
    let _one_at_a_time = server
        .persist
        .saving
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let path = server.dump_path();
    let result = write_dump(ks, &path);
    match &result {
        Ok(()) => {
            server.log.notice("DB saved on disk");
            server
                .persist
                .last_save
                .store(now_ms() / 1000, Ordering::Relaxed);
            server.persist.saves.fetch_add(1, Ordering::Relaxed);
            server.persist.last_save_ok.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            server.log.warning(&format!(
                "Failed opening the temp RDB file temp-{}.rdb (in server root dir {}) for saving: {e}",
                std::process::id(),
                std::env::current_dir().unwrap_or_default().display()
            ));
            server.persist.last_save_ok.store(false, Ordering::Relaxed);
        }
    }
    result
}

/// SAVE under the read lock (readers carry on, writers wait), then clears the dirty
/// counter of what was saved.
pub fn save_store(server: &Server, store: &Store) -> io::Result<()> {
    let saved_dirty = {
        let ks = store.read();
        save(server, &ks)?;
        ks.dirty
    };
    let mut ks = store.write();
    ks.dirty = ks.dirty.saturating_sub(saved_dirty);
    Ok(())
}

/// Loads the dump at `path` into a fresh keyspace of `databases` databases. `Ok(None)`
/// means there is no file. Any other failure is an error naming what is wrong; the file
/// is left untouched.
pub fn load(
    path: &Path,
    databases: usize,
    limits: &Limits,
) -> Result<Option<(Keyspace, LoadStats)>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut ks = Keyspace::new(databases);
    let mut bad_db = None;
    let stats = dump::read(file, now_ms(), limits, |db, key, value, expires| {
        match ks.dbs().get(db as usize) {
            Some(_) => ks.db_mut(db as usize).load(key, value, expires),
            None => bad_db = Some(db),
        }
    })
    .map_err(|e| e.to_string())?;
    if let Some(db) = bad_db {
        return Err(format!(
            "the dump uses DB {db}, but only {databases} databases are configured"
        ));
    }
    Ok(Some((ks, stats)))
}

/// Removes `temp-<pid>.rdb` files left by a save that crashed.
pub fn cleanup_temp_files(log: &Logger) {
    let Ok(entries) = fs::read_dir(".") else {
        return;
    };
    let own = format!("temp-{}.rdb", std::process::id());
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_temp = name.starts_with("temp-")
            && name.ends_with(".rdb")
            && name[5..name.len() - 4].bytes().all(|b| b.is_ascii_digit());
        if is_temp && name != own && fs::remove_file(entry.path()).is_ok() {
            log.notice(&format!("Removed leftover temp file {name}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Value;
    use std::collections::VecDeque;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("redlite-save-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn save_then_load_round_trips_every_db() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("dump.rdb");
        let mut ks = Keyspace::new(16);
        ks.db_mut(0).set(b"s", Value::Str(b"hello".to_vec()));
        ks.db_mut(3).set(
            b"l",
            Value::List(VecDeque::from(vec![b"a".to_vec(), b"".to_vec()])),
        );
        ks.db_mut(3).set(b"ttl", Value::Str(b"x".to_vec()));
        ks.db_mut(3).set_expiry(b"ttl", now_ms() + 100_000, 0);
        ks.db_mut(5).set(b"gone", Value::Str(b"x".to_vec()));
        ks.db_mut(5).set_expiry(b"gone", 1, 0);
        write_dump(&ks, &path).unwrap();
        assert!(!dir
            .join(format!("temp-{}.rdb", std::process::id()))
            .exists());

        let (loaded, stats) = load(&path, 16, &Limits::default()).unwrap().unwrap();
        assert_eq!(stats.keys_loaded, 3);
        assert_eq!(
            loaded.db(0).get(b"s", 0).unwrap().str(),
            Some(&b"hello"[..])
        );
        assert_eq!(loaded.db(3).len(), 2);
        assert!(loaded.db(3).get(b"ttl", 0).unwrap().expires_at().is_some());
        assert_eq!(loaded.db(5).len(), 0, "expired keys are not saved");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_is_none_and_bad_file_is_an_error_left_untouched() {
        let dir = temp_dir("bad");
        assert!(load(&dir.join("nope.rdb"), 16, &Limits::default())
            .unwrap()
            .is_none());
        let bad = dir.join("dump.rdb");
        fs::write(&bad, b"REDIS0009garbage").unwrap();
        let err = load(&bad, 16, &Limits::default()).unwrap_err();
        assert!(err.contains("magic"), "{err}");
        assert_eq!(fs::read(&bad).unwrap(), b"REDIS0009garbage");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_db_beyond_databases_is_refused() {
        let dir = temp_dir("dbs");
        let path = dir.join("dump.rdb");
        let mut ks = Keyspace::new(16);
        ks.db_mut(9).set(b"k", Value::Str(b"v".to_vec()));
        write_dump(&ks, &path).unwrap();
        let err = load(&path, 4, &Limits::default()).unwrap_err();
        assert!(err.contains("DB 9"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
