//! A throwaway PostgreSQL server: `initdb` into a directory, the server on a
//! Unix socket there (no TCP), as the `postgres` user when run as root (root
//! may not run PostgreSQL), torn down on drop.
//!
//! One starter for the receipt-store tests (`consentry-tower/tests/
//! receipt_stores.rs`) and `cargo xtask bench receipts`, which include this
//! file with `#[path]`: std only, so it needs no dependency of either.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What to do when PostgreSQL is not installed.
pub const NOT_INSTALLED: &str = "PostgreSQL is not installed (fix: apt-get install postgresql)";

/// A running server and its directory.
pub struct Postgres {
    /// Data directory and socket directory (`.s.PGSQL.5432`).
    pub dir: PathBuf,
    server: Child,
    /// How the server was started, to start it again (the receipt-store
    /// tests do; the benchmark, which includes this file too, does not).
    #[allow(dead_code)]
    command: Vec<std::ffi::OsString>,
    #[allow(dead_code)]
    who: Option<(u32, u32)>,
}

/// The newest Debian PostgreSQL's binaries, if any.
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    versions.sort();
    versions.into_iter().rev().map(|v| v.join("bin")).find(|b| b.join("initdb").is_file())
}

/// uid and gid to run the server as when we are root.
pub fn run_as() -> Option<(u32, u32)> {
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postgres:"))?;
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
}

impl Postgres {
    /// Starts a server in `dir` (emptied first). `settings` are extra
    /// `-c name=value` pairs; `wrapper` runs the server under another
    /// program (the benchmark pins it to a CPU with `taskset -c 0`).
    pub fn start(dir: &Path, settings: &[&str], wrapper: &[&str]) -> Result<Self, String> {
        let bin = bin_dir().ok_or(NOT_INSTALLED)?;
        let who = run_as();
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Some((uid, gid)) = who {
            let chown = Command::new("chown").arg(format!("{uid}:{gid}")).arg(dir).status();
            if !chown.is_ok_and(|s| s.success()) {
                return Err(format!("cannot chown {} to the postgres user", dir.display()));
            }
        }
        let as_user = |cmd: &mut Command| {
            if let Some((uid, gid)) = who {
                cmd.uid(uid).gid(gid);
            }
        };
        let data = dir.join("data");
        let mut init = Command::new(bin.join("initdb"));
        init.args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_user(&mut init);
        let init = init.output().map_err(|e| format!("initdb: {e}"))?;
        if !init.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&init.stderr)));
        }
        let mut command: Vec<std::ffi::OsString> = wrapper.iter().map(Into::into).collect();
        command.push(bin.join("postgres").into());
        command.extend([
            "-D".into(),
            data.into(),
            "-k".into(),
            dir.into(),
            "-c".into(),
            "listen_addresses=".into(),
        ]);
        for setting in settings {
            command.extend(["-c".into(), (*setting).into()]);
        }
        let server = spawn(&command, who)?;
        let pg = Self { dir: dir.to_path_buf(), server, command, who };
        pg.wait_for_socket()?;
        Ok(pg)
    }

    fn wait_for_socket(&self) -> Result<(), String> {
        // `.s.PGSQL.<port>`, whatever port the settings chose.
        let socket = || {
            std::fs::read_dir(&self.dir).ok().is_some_and(|entries| {
                entries.filter_map(Result::ok).any(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.starts_with(".s.PGSQL.") && !name.ends_with(".lock")
                })
            })
        };
        for _ in 0..200 {
            if socket() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err("PostgreSQL did not start within 10 s".into())
    }

    /// Stops the server at once (as a crash or an outage would), keeping
    /// its data: PostgreSQL's immediate shutdown (SIGQUIT), which ends
    /// every backend before the postmaster exits — a SIGKILL of the
    /// postmaster alone would leave backends answering on open connections.
    #[allow(dead_code)]
    pub fn stop(&mut self) {
        let quit = Command::new("kill").args(["-QUIT", &self.server.id().to_string()]).status();
        if !quit.is_ok_and(|s| s.success()) {
            let _ = self.server.kill();
        }
        let _ = self.server.wait();
        // A killed server leaves its socket behind; the next one makes its own.
        let _ = std::fs::remove_file(self.dir.join(".s.PGSQL.5432"));
    }

    /// Starts the server again on the same data, after [`stop`](Self::stop).
    #[allow(dead_code)]
    pub fn restart(&mut self) -> Result<(), String> {
        self.server = spawn(&self.command, self.who)?;
        self.wait_for_socket()
    }

    /// The connection string (libpq key=value) for this server.
    pub fn config(&self) -> String {
        format!("host={} user=postgres dbname=postgres", self.dir.display())
    }
}

fn spawn(command: &[std::ffi::OsString], who: Option<(u32, u32)>) -> Result<Child, String> {
    let (program, args) = command.split_first().ok_or("no command")?;
    let mut server = Command::new(program);
    server.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    if let Some((uid, gid)) = who {
        server.uid(uid).gid(gid);
    }
    server.spawn().map_err(|e| format!("postgres: {e}"))
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGTERM would be gentler, but std only sends SIGKILL; the data is throwaway.
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
