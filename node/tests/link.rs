//! `tally link` against a real PostgreSQL server the test starts itself
//! (Debian's `postgresql` package: `initdb` and `pg_ctl` in a temporary
//! directory, as the `postgres` user when run as root, since the server
//! refuses root).

use std::path::Path;
use std::process::{Command, Output};

use link::postgres::Client;

#[path = "support/pg.rs"]
mod pg;
use pg::{DB_PASSWORD, Pg, run_ok};

const TALLY: &str = env!("CARGO_BIN_EXE_tally");

fn tally(data: &Path, args: &[&str], password: &str) -> Output {
    Command::new(TALLY)
        .arg("--data")
        .arg(data)
        .args(args)
        .env_remove("TALLY_DATA")
        .env_remove("TALLY_LINK_URL")
        .env("TALLY_PASSPHRASE", "tally-demo")
        .env("TALLY_LINK_PASSWORD", password)
        .output()
        .expect("tally runs")
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = tally(data, args, DB_PASSWORD);
    assert!(
        out.status.success(),
        "tally {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn count(c: &mut Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn sealed_months_are_linked_once_relinked_when_resealed_and_checked() {
    let pg = Pg::start();
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let d = data.as_path();
    let demo = tally(d, &["demo", "--inmates", "60"], DB_PASSWORD);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let url = pg.url();
    let link = ["link", "--month", "2026-10", "--url", url.as_str()];
    let check_args = [
        "link",
        "--month",
        "2026-10",
        "--url",
        url.as_str(),
        "--check",
    ];

    // The demo seals D01–D05 and leaves D06 open.
    let out = ok(d, &link);
    for n in 1..=5 {
        assert!(out.contains(&format!("D0{n}/2026-10: linked ")), "{out}");
    }
    assert!(out.contains("D06/2026-10: not sealed: not linked"), "{out}");
    let scores: serde_json::Value =
        serde_json::from_str(&ok(d, &["score", "--month", "2026-10", "--json"])).unwrap();
    let sealed: Vec<&serde_json::Value> = scores["districts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["district"] != "D06")
        .collect();
    let inmates: usize = sealed
        .iter()
        .map(|r| r["inmates"].as_array().unwrap().len())
        .sum();
    let mut c = pg.client();
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM tally_labor") as usize,
        inmates
    );
    // The view gives points with two decimals: labor_cp / 100.
    let rows = link::view_rows(&mut c, "2026-10").unwrap();
    for r in &sealed {
        for i in r["inmates"].as_array().unwrap() {
            let no = i["inmate_no"].as_str().unwrap();
            let cp = i["labor_cp"].as_i64().unwrap();
            let shown = format!(
                "{}{}.{:02}",
                if cp < 0 { "-" } else { "" },
                cp.abs() / 100,
                cp.abs() % 100
            );
            assert!(
                rows.iter()
                    .any(|(dist, n, p)| dist == r["district"].as_str().unwrap()
                        && n == no
                        && *p == shown),
                "{no}: {shown} in the view"
            );
        }
    }
    // Each month row names the posting its report was shown at.
    let row = c
        .query_one(
            "SELECT posted_from, posted_to, seal_forced FROM tally_months WHERE district = 'D01'",
            &[],
        )
        .unwrap();
    assert_eq!(
        (
            row.get::<_, Option<String>>(0),
            row.get::<_, Option<String>>(1),
            row.get::<_, String>(2)
        ),
        (
            Some("2026-10-31".to_string()),
            Some("2026-11-04".to_string()),
            String::new()
        ),
        "posted from the month's last day (a Saturday) for 3 working days: 2, 3, 4 November"
    );
    // The inmate moved from D01 to D02 on the 16th appears once, in D02.
    let moved: Vec<&(String, String, String)> =
        rows.iter().filter(|(_, n, _)| n == "5200000001").collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].0, "D02");

    // Linking again changes nothing.
    let out = ok(d, &link);
    assert_eq!(out.matches("unchanged (version 1)").count(), 5, "{out}");
    assert_eq!(count(&mut c, "SELECT count(*) FROM tally_labor_history"), 0);
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM tally_labor") as usize,
        inmates
    );
    let check = ok(d, &check_args);
    assert_eq!(check.matches("the database matches").count(), 5, "{check}");

    // An amendment in D03: not linked while the seal is stale; re-sealed,
    // linked as version 2 with the previous rows kept.
    let d03: &serde_json::Value = sealed.iter().find(|r| r["district"] == "D03").unwrap();
    let d03_rows = d03["inmates"].as_array().unwrap().len() as i64;
    let no = d03["inmates"][0]["inmate_no"].as_str().unwrap().to_string();
    let fix = home.path().join("fix.csv");
    std::fs::write(
        &fix,
        format!("date,inmate_no,procedure,quantity\n2026-10-05,{no},SHIRT-01,1\n"),
    )
    .unwrap();
    let _ = ok(d, &["import", "counts", fix.to_str().unwrap()]);
    let out = ok(d, &link);
    assert!(
        out.contains(
            "D03/2026-10: amended since its seal: its linked rows are marked sealed = false"
        ),
        "{out}"
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM tally_labor WHERE district = 'D03' AND sealed"
        ),
        0,
        "no reader takes the superseded rows for the sealed part"
    );
    // --check says the database holds a superseded version.
    let out = tally(d, &check_args, DB_PASSWORD);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("D03/2026-10: stale: version 1 was linked from report"),
        "{said}"
    );
    ok(d, &["seal", "--district", "D03", "--month", "2026-10"]);
    let out = ok(d, &link);
    assert!(out.contains("D03/2026-10: the report changed"), "{out}");
    assert!(out.contains("as version 2"), "{out}");
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM tally_labor_history"),
        d03_rows
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT CAST(max(version) AS bigint) FROM tally_labor WHERE district = 'D03'"
        ),
        2
    );

    // A wrong password: a clear error, nothing written.
    let before = count(&mut c, "SELECT count(*) FROM tally_link_log");
    let out = tally(d, &link, "wrong");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(
        err.contains(&format!("tally@127.0.0.1:{}/postgres", pg.port)),
        "{err}"
    );
    assert!(
        !err.contains(DB_PASSWORD) && !err.contains("wrong"),
        "no password shown: {err}"
    );
    assert_eq!(count(&mut c, "SELECT count(*) FROM tally_link_log"), before);

    // A row edited by hand is found by --check, named.
    let first: String = c
        .query_one(
            "SELECT inmate_no FROM tally_labor WHERE district = 'D01' ORDER BY inmate_no LIMIT 1",
            &[],
        )
        .unwrap()
        .get(0);
    let cp: i64 = c
        .query_one(
            "SELECT labor_cp FROM tally_labor WHERE district = 'D01' AND inmate_no = $1",
            &[&first],
        )
        .unwrap()
        .get(0);
    c.execute(
        "UPDATE tally_labor SET labor_cp = labor_cp + 100 WHERE district = 'D01' AND inmate_no = $1",
        &[&first],
    )
    .unwrap();
    let out = tally(d, &check_args, DB_PASSWORD);
    assert!(!out.status.success(), "a difference fails the check");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!(
            "D01/2026-10 {first}: labor_cp in the database {}, tally {cp}",
            cp + 100
        )),
        "{said}"
    );
    // An entry edited by hand is named too.
    c.execute(
        "UPDATE tally_labor SET labor_cp = labor_cp - 100 WHERE district = 'D01' AND inmate_no = $1",
        &[&first],
    )
    .unwrap();
    let (no, id): (String, String) = {
        let row = c
            .query_one(
                "SELECT inmate_no, entry_id FROM tally_entries ORDER BY district, inmate_no LIMIT 1",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    c.execute(
        "UPDATE tally_entries SET points_cp = points_cp * 2 WHERE inmate_no = $1 AND entry_id = $2",
        &[&no, &id],
    )
    .unwrap();
    let out = tally(d, &check_args, DB_PASSWORD);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("{no}: entry {id} in the database")) && said.contains("differs"),
        "{said}"
    );
    // A URL with a password in it is refused (it would be shown in logs).
    let out = tally(
        d,
        &[
            "link",
            "--month",
            "2026-10",
            "--url",
            &format!(
                "postgres://tally:{DB_PASSWORD}@127.0.0.1:{}/postgres",
                pg.port
            ),
        ],
        DB_PASSWORD,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("URL carries a password"));
}

/// `tally node status --json` of `data`.
fn status(data: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(data, &["node", "status", "--json"])).expect("status is JSON")
}

/// Waits up to a minute for `f` to hold, saying what it waited for.
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !f() {
        assert!(
            std::time::Instant::now() < until,
            "waited a minute for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A `tally node run` on `data`, killed when dropped.
struct NodeProcess(std::process::Child);

impl NodeProcess {
    fn start(data: &Path) -> NodeProcess {
        let child = Command::new(TALLY)
            .arg("--data")
            .arg(data)
            .args(["node", "run", "--listen", "127.0.0.1:0", "--no-mdns"])
            .env_remove("TALLY_LINK_PASSWORD")
            .env_remove("TALLY_LINK_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node runs");
        NodeProcess(child)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn linked(st: &serde_json::Value) -> Vec<(String, i64, bool)> {
    st["link"]["linked"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v["version"].as_i64().unwrap_or(0),
                        v["sealed"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_node_links_sealed_months_by_itself_and_retries_when_the_server_stops_mid_link() {
    let pg = Pg::start();
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let d = data.as_path();
    ok(d, &["demo", "--inmates", "60"]);
    // The password from a file beside node.toml (a relative path is read
    // from the settings file's folder), never from the environment here.
    std::fs::write(d.join("link-password"), format!("{DB_PASSWORD}\n")).unwrap();
    std::fs::write(
        d.join("node.toml"),
        format!(
            "mdns = false\n\n[link]\nurl = \"{}\"\npassword_file = \"link-password\"\n",
            pg.url()
        ),
    )
    .unwrap();

    // The tables exist, and a second session holds the log table so the
    // node's first transaction stops at its last statement, every row of
    // the district-month written but not committed.
    let mut c = pg.client();
    link::ensure_schema(&mut c).unwrap();
    let mut holder = pg.client();
    holder
        .batch_execute("BEGIN; LOCK TABLE tally_link_log IN EXCLUSIVE MODE")
        .unwrap();
    let _node = NodeProcess::start(d);
    wait_for("the node's link to wait on the lock", || {
        count(
            &mut c,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
        ) > 0
    });
    let status_now = status(d);
    assert_eq!(
        status_now["link"]["target"],
        format!("tally@127.0.0.1:{}/postgres", pg.port)
    );
    // The server stops mid-link (fast: open transactions are rolled back).
    drop(c);
    pg.ctl("stop");
    drop(holder);
    wait_for("the node to report the database down", || {
        let st = status(d);
        st["link"]["last_error"].is_string()
            && st["link"]["waiting"]
                .as_array()
                .is_some_and(|w| w.len() == 5)
    });
    let st = status(d);
    let err = st["link"]["last_error"].as_str().unwrap();
    assert!(
        !err.contains(DB_PASSWORD),
        "no password in the status: {err}"
    );
    let text = ok(d, &["node", "status"]);
    assert!(
        text.contains("0 sealed district-month(s) linked, 5 waiting"),
        "{text}"
    );
    assert!(text.contains("waiting D01/2026-10"), "{text}");
    assert!(text.contains("last error: "), "{text}");

    // A seal while the database is down is not held up by it.
    ok(d, &["seal", "--district", "D06", "--month", "2026-10"]);
    wait_for("D06 to wait too", || {
        status(d)["link"]["waiting"]
            .as_array()
            .is_some_and(|w| w.iter().any(|x| x == "D06/2026-10"))
    });

    // Back: the node tries again by itself and links all six, once each.
    pg.ctl("start");
    wait_for("the node to link every sealed month", || {
        let st = status(d);
        linked(&st).len() == 6
            && st["link"]["waiting"]
                .as_array()
                .is_some_and(|w| w.is_empty())
            && st["link"]["last_error"].is_null()
    });
    let mut c = pg.client();
    assert_eq!(count(&mut c, "SELECT count(*) FROM tally_months"), 6);
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM tally_link_log WHERE action = 'linked' AND version = 1"
        ),
        6,
        "one committed link per district-month: the cut-off attempt left no line"
    );
    assert_eq!(count(&mut c, "SELECT count(*) FROM tally_link_log"), 6);
    // Every row there, none twice: what the check reads back matches.
    let url = pg.url();
    let check = ok(
        d,
        &[
            "link",
            "--month",
            "2026-10",
            "--url",
            url.as_str(),
            "--check",
        ],
    );
    assert_eq!(check.matches("the database matches").count(), 6, "{check}");

    // An amendment: the node marks the rows unsealed; the re-seal is linked
    // as version 2, the previous rows kept.
    let before: Vec<String> = c
        .query(
            "SELECT inmate_no FROM tally_labor WHERE district = 'D03' ORDER BY inmate_no",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let fix = home.path().join("fix.csv");
    std::fs::write(
        &fix,
        format!(
            "date,inmate_no,procedure,quantity\n2026-10-05,{},SHIRT-01,1\n",
            before[0]
        ),
    )
    .unwrap();
    ok(d, &["import", "counts", fix.to_str().unwrap()]);
    wait_for("the node to mark D03's rows unsealed", || {
        linked(&status(d)).contains(&("D03/2026-10".to_string(), 1, false))
    });
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM tally_labor WHERE district = 'D03' AND sealed"
        ),
        0
    );
    ok(d, &["seal", "--district", "D03", "--month", "2026-10"]);
    wait_for("the node to link D03's re-seal", || {
        linked(&status(d)).contains(&("D03/2026-10".to_string(), 2, true))
    });
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM tally_labor_history WHERE district = 'D03'"
        ),
        before.len() as i64
    );
    let text = ok(d, &["node", "status"]);
    assert!(
        text.contains("6 sealed district-month(s) linked, 0 waiting"),
        "{text}"
    );
    assert!(
        text.contains("linked  D03/2026-10  version 2  sealed"),
        "{text}"
    );
}

fn openssl(args: &[&str], dir: &Path) {
    let mut c = Command::new("openssl");
    c.args(args).current_dir(dir);
    run_ok(c, &format!("openssl {}", args[0]));
}

/// A CA (`NAME-ca.pem`) and, signed by it, a certificate for 127.0.0.1
/// (`NAME.pem`, `NAME.key`), made with the openssl command.
fn certificates(dir: &Path, name: &str) {
    let ca = format!("{name}-ca");
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
            "-subj",
            &format!("/CN=tally test CA {name}"),
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
        ],
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
        dir,
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-out",
            &format!("{name}.pem"),
        ],
        dir,
    );
}

#[test]
fn tls_where_the_url_asks_for_it_checked_against_the_ca() {
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path(), "server");
    certificates(certs.path(), "stranger");
    let pg = Pg::start_with(|dir| {
        for f in ["server.pem", "server.key"] {
            std::fs::copy(certs.path().join(f), dir.join(f)).unwrap();
        }
        // TLS only: a plain connection has no pg_hba.conf line.
        std::fs::write(
            dir.join("data").join("pg_hba.conf"),
            "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
        format!(
            "-c ssl=on -c ssl_cert_file={0}/server.pem -c ssl_key_file={0}/server.key",
            dir.display()
        )
    });
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let d = data.as_path();
    ok(d, &["demo", "--inmates", "30"]);
    let url = format!("{}?sslmode=require", pg.url());
    let ca = certs.path().join("server-ca.pem");
    let stranger = certs.path().join("stranger-ca.pem");
    let link = |extra: &[&str]| {
        let mut args = vec!["link", "--month", "2026-10", "--url", url.as_str()];
        args.extend_from_slice(extra);
        tally(d, &args, DB_PASSWORD)
    };

    // TLS asked for without a CA to check the server against: refused.
    let out = link(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no CA certificate was given"), "{err}");
    // A server whose certificate another CA signed: refused, nothing sent.
    let out = link(&["--ca-file", stranger.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect") && err.contains("certificate"),
        "{err}"
    );
    // Checked against its CA: linked, over TLS (the server has no plain line).
    let out = link(&["--ca-file", ca.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(said.matches(": linked ").count(), 5, "{said}");
    let out = link(&["--ca-file", ca.to_str().unwrap(), "--check"]);
    assert!(out.status.success());
    // The same URL without sslmode and no CA is plain, which this server refuses.
    let plain = pg.url();
    let out = tally(
        d,
        &["link", "--month", "2026-10", "--url", plain.as_str()],
        DB_PASSWORD,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no encryption"), "{err}");
    // A CA file that holds no certificate: named.
    let bogus = home.path().join("bogus.pem");
    std::fs::write(&bogus, "not a certificate").unwrap();
    let out = link(&["--ca-file", bogus.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no certificate"));
}

#[test]
fn version_1_tables_are_upgraded_and_each_month_row_carries_a_checkable_seal() {
    let pg = Pg::start();
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let d = data.as_path();
    ok(d, &["demo", "--inmates", "30"]);
    // Tables as the first tally link (schema version 1) made them.
    let mut c = pg.client();
    c.batch_execute(include_str!("support/schema-v1.sql"))
        .unwrap();
    c.execute("INSERT INTO tally_schema (version) VALUES (1)", &[])
        .unwrap();
    let url = pg.url();
    let out = ok(d, &["link", "--month", "2026-10", "--url", url.as_str()]);
    assert_eq!(out.matches(": linked ").count(), 5, "{out}");
    assert_eq!(
        count(
            &mut c,
            "SELECT CAST(max(version) AS bigint) FROM tally_schema"
        ),
        2
    );

    // A downstream reader checks the seal from the row alone: Ed25519 by
    // sealed_by over 'tally/change/v1' 0 'month/D/M' 0 <hash bytes> 0.
    let rows = c
        .query(
            "SELECT district, month, sealed_by, seal_change, seal_signature FROM tally_months ORDER BY district",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let (district, month): (String, String) = (row.get(0), row.get(1));
        let key: [u8; 32] = hex::decode(row.get::<_, String>(2))
            .unwrap()
            .try_into()
            .unwrap();
        let hash = hex::decode(row.get::<_, String>(3)).unwrap();
        let sig: [u8; 64] = hex::decode(row.get::<_, String>(4))
            .unwrap()
            .try_into()
            .unwrap();
        let mut message = b"tally/change/v1\0".to_vec();
        message.extend_from_slice(format!("month/{district}/{month}").as_bytes());
        message.push(0);
        message.extend_from_slice(&hash);
        message.push(0);
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
        assert!(
            key.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&sig))
                .is_ok(),
            "{district}/{month}: the seal signature checks"
        );
    }
    // D02 holds the inmate transferred in from D01: its row names what it read.
    let sources: String = c
        .query_one(
            "SELECT sources FROM tally_months WHERE district = 'D02'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(sources.starts_with("D01="), "{sources}");

    // A re-seal keeps the replaced month row and entries too (in the
    // district with the most entries).
    let (dist, entries): (String, i64) = {
        let row = c
            .query_one(
                "SELECT district, count(*) FROM tally_entries GROUP BY district \
                 ORDER BY count(*) DESC, district LIMIT 1",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert!(entries > 0, "the demo gives entries");
    let fix = home.path().join("fix.csv");
    let no: String = c
        .query_one(
            "SELECT inmate_no FROM tally_labor WHERE district = $1 ORDER BY inmate_no LIMIT 1",
            &[&dist],
        )
        .unwrap()
        .get(0);
    std::fs::write(
        &fix,
        format!("date,inmate_no,procedure,quantity\n2026-10-20,{no},SHIRT-01,1\n"),
    )
    .unwrap();
    ok(d, &["import", "counts", fix.to_str().unwrap()]);
    ok(d, &["seal", "--district", &dist, "--month", "2026-10"]);
    let out = ok(d, &["link", "--month", "2026-10", "--url", url.as_str()]);
    assert!(
        out.contains(&format!("{dist}/2026-10: the report changed")),
        "{out}"
    );
    let mut one = |sql: &str| -> i64 { c.query_one(sql, &[&dist]).unwrap().get(0) };
    assert_eq!(
        one("SELECT count(*) FROM tally_months_history WHERE district = $1 AND version = 1"),
        1
    );
    assert_eq!(
        one("SELECT count(*) FROM tally_entries_history WHERE district = $1"),
        entries
    );
    // The check compares the seal columns too.
    c.execute(
        "UPDATE tally_months SET seal_signature = repeat('0', 128) WHERE district = 'D04'",
        &[],
    )
    .unwrap();
    let out = tally(
        d,
        &[
            "link",
            "--month",
            "2026-10",
            "--url",
            url.as_str(),
            "--check",
        ],
        DB_PASSWORD,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("D04/2026-10: seal_signature in the database differs"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
