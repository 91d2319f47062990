//! Reading what a server propagated, from its AOF directory: the commands of its
//! incremental files (`appendonlydir/*.incr.aof`), for comparing two servers'
//! propagation streams command by command.

use std::path::Path;

/// The commands of every `*.incr.aof` file under `dir/appendonlydir`, in file order
/// (by sequence number), each as its words. Panics on a malformed file.
pub fn incr_commands(dir: &Path) -> Vec<Vec<String>> {
    let aof_dir = dir.join("appendonlydir");
    let mut files: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(&aof_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", aof_dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            let seq = name
                .strip_suffix(".incr.aof")?
                .rsplit('.')
                .next()?
                .parse()
                .ok()?;
            Some((seq, p))
        })
        .collect();
    files.sort();
    let mut commands = Vec::new();
    for (_, path) in files {
        let bytes = std::fs::read(&path).unwrap();
        commands.extend(parse_commands(&bytes));
    }
    commands
}

/// Splits a RESP stream of multibulk commands into their words.
pub fn parse_commands(mut bytes: &[u8]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let line = |bytes: &mut &[u8]| -> Vec<u8> {
        let end = bytes
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a CRLF-terminated line");
        let l = bytes[..end].to_vec();
        *bytes = &bytes[end + 2..];
        l
    };
    while !bytes.is_empty() {
        let header = line(&mut bytes);
        assert_eq!(header[0], b'*', "a multibulk header");
        let n: usize = std::str::from_utf8(&header[1..]).unwrap().parse().unwrap();
        let mut words = Vec::new();
        for _ in 0..n {
            let len = line(&mut bytes);
            assert_eq!(len[0], b'$', "a bulk header");
            let len: usize = std::str::from_utf8(&len[1..]).unwrap().parse().unwrap();
            words.push(String::from_utf8_lossy(&bytes[..len]).into_owned());
            bytes = &bytes[len + 2..];
        }
        out.push(words);
    }
    out
}

/// Whether two propagated commands agree: word for word, except absolute expiry times
/// each server computed from its own clock (`SET ... PXAT t`, `PEXPIREAT k t`, and a
/// stream's delivery time `XCLAIM ... TIME t`), which may be `tolerance_ms` apart.
pub fn same_command(a: &[String], b: &[String], tolerance_ms: i64) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let time_at = |words: &[String]| -> Option<usize> {
        let name = words.first()?.to_ascii_uppercase();
        match name.as_str() {
            "PEXPIREAT" => Some(2),
            // A stream delivery time: `XCLAIM ... TIME t`.
            "XCLAIM" => words
                .iter()
                .position(|w| w.eq_ignore_ascii_case("time"))
                .map(|i| i + 1),
            "SET" => words
                .iter()
                .position(|w| w.eq_ignore_ascii_case("pxat"))
                .map(|i| i + 1),
            _ => None,
        }
    };
    a.iter().zip(b).enumerate().all(|(i, (x, y))| {
        x == y
            || (time_at(a) == Some(i)
                && time_at(b) == Some(i)
                && match (x.parse::<i64>(), y.parse::<i64>()) {
                    (Ok(p), Ok(q)) => (p - q).abs() <= tolerance_ms,
                    _ => false,
                })
    })
}
