//! CPU benchmarks of pure-Lua scripts (benches/lua/*.lua), to compare with Redis's Lua:
//! `cargo test --release --lib script::lua::bench -- --ignored --nocapture`, and
//! `benches/lua_vs_redis.sh 7301` for the same files through `redis-cli eval`.

use super::{Lua, NoHost};
use std::time::Instant;

#[test]
#[ignore]
fn bench_scripts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/lua");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    if let Ok(only) = std::env::var("LUA_BENCH") {
        files.retain(|p| p.file_stem().unwrap().to_string_lossy() == only);
    }
    for path in files {
        let src = std::fs::read(&path).unwrap();
        let mut lua = Lua::new();
        super::ext::open(&mut lua);
        let f = lua.load(&src, "@user_script").unwrap();
        let t = Instant::now();
        let r = lua.call(&f, &[], &mut NoHost);
        let el = t.elapsed();
        let out = match r {
            Ok(r) => String::from_utf8_lossy(&lua.to_bytes(&r[0]).unwrap_or_default()).into_owned(),
            Err(e) => format!(
                "error: {}",
                String::from_utf8_lossy(&lua.to_bytes(&e.value).unwrap_or_default())
            ),
        };
        println!(
            "{:10} {:8.1} ms  -> {}",
            path.file_stem().unwrap().to_string_lossy(),
            el.as_secs_f64() * 1000.0,
            out
        );
    }
}
