//! What the node benches share: a data directory holding the seeded demo
//! month (`tally demo`'s own code), and the time an author states.

use crdt_schema::{Date, DocId, Month};
use keys::SecretKey;
use node::demo::{self, DemoOptions};
use node::store::Store;
use node::{identity, prison};

/// Now, as an author states it (the admin's certificate starts the day of `init`).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A data directory holding the October 2026 demo month of `inmates`
/// inmates: the directory, its store, the authority key, the month's
/// documents.
pub fn demo_store(inmates: u32) -> (tempfile::TempDir, Store, SecretKey, Vec<DocId>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pass = "bench passphrase";
    let today: Date = node::validate::date_of(now()).expect("date");
    prison::init_prison(dir.path(), "基准监狱", pass, today, now()).expect("init");
    let store = Store::open(dir.path()).expect("open");
    let admin =
        identity::unlock_officer(&identity::admin_key_path(dir.path()), pass).expect("admin");
    let authority = identity::unlock_authority(dir.path(), pass).expect("authority");
    let month = Month::new(2026, 10).expect("month");
    let g = demo::generate(
        &store,
        &admin,
        &authority,
        now(),
        DemoOptions {
            inmates,
            month,
            seed: 1,
        },
    )
    .expect("demo");
    let ids = g
        .districts
        .iter()
        .map(|d| DocId::month(d.clone(), month))
        .collect();
    (dir, store, authority, ids)
}
