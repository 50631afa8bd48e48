//! A PostgreSQL server the tests and benchmarks start themselves (Debian's
//! `postgresql` package: `initdb` and `pg_ctl` in a temporary directory,
//! as the `postgres` user when run as root, since the server refuses root).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use link::postgres::{Client, NoTls};

pub const DB_PASSWORD: &str = "pg-secret";

/// A PostgreSQL server on a loopback port, stopped when dropped.
pub struct Pg {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// Server options beyond the port and socket (TLS settings).
    options: String,
}

pub fn pg_bin(name: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from(name))
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args…`, as the `postgres` user when we are root.
pub fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

pub fn run_ok(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pg {
    pub fn start() -> Pg {
        Pg::start_with(|_| String::new())
    }

    /// Initialises the cluster, lets `setup` change it (files in its
    /// folder, which it is given) and return server options, then starts it.
    pub fn start_with(setup: impl FnOnce(&Path) -> String) -> Pg {
        let dir = tempfile::Builder::new()
            .prefix("tally-pg")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let pw = dir.path().join("pw");
        std::fs::write(&pw, DB_PASSWORD).unwrap();
        if is_root() {
            let mut c = Command::new("chown");
            c.args(["-R", "postgres:postgres"]).arg(dir.path());
            run_ok(c, "chown");
        }
        let data = dir.path().join("data");
        let mut c = as_postgres(&pg_bin("initdb"));
        c.arg("-D")
            .arg(&data)
            .args([
                "-U",
                "tally",
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", pw.display()));
        run_ok(c, "initdb");
        let options = setup(dir.path());
        if is_root() {
            let mut c = Command::new("chown");
            c.args(["-R", "postgres:postgres"]).arg(dir.path());
            run_ok(c, "chown");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = Pg { dir, port, options };
        pg.ctl("start");
        pg
    }

    pub fn ctl(&self, action: &str) {
        let mut c = as_postgres(&pg_bin("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-w", "-m", "fast", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 {}",
                self.port,
                self.dir.path().display(),
                self.options
            ))
            .arg(action);
        run_ok(c, &format!("pg_ctl {action}"));
    }

    pub fn url(&self) -> String {
        format!("postgres://tally@127.0.0.1:{}/postgres", self.port)
    }

    pub fn client(&self) -> Client {
        Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=tally password={DB_PASSWORD} dbname=postgres",
                self.port
            ),
            NoTls,
        )
        .expect("connect to the test server")
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let mut c = as_postgres(&pg_bin("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"]);
        let _ = c.output();
    }
}
