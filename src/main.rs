//! `redlite-server [config-file] [--option value ...]`: parse the arguments, then run.

use redlite::state::{REDIS_VERSION, REDLITE_VERSION};

fn main() {
    // First, before any thread exists: the allocator's settings are read at startup.
    redlite::process::tune_allocator();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-v" | "--version") => {
            println!(
                "redlite server v={REDLITE_VERSION} (Redis {REDIS_VERSION} compatible) bits=64"
            );
            return;
        }
        Some("-h" | "--help") => {
            println!("Usage: redlite-server [/path/to/redlite.conf] [--option value ...]");
            println!("       redlite-server -v or --version");
            println!("       redlite-server -h or --help");
            println!();
            println!("Options are redis-server's: --port, --bind, --dir, --dbfilename, --save,");
            println!("--maxclients, --databases, --hz, --timeout, --loglevel, --logfile, ...");
            return;
        }
        _ => {}
    }
    let config = match redlite::config::Config::from_args(args) {
        Ok(config) => config,
        Err(e) => {
            // redis-server prints a blank line before a fatal config error.
            eprintln!();
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = redlite::server::run(config) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
