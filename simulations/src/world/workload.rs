//! The honest workload: each district's daily records written by its first
//! officer (and, some days, the same records by another at the same time),
//! the day's confirmation by a second officer, and the records office's
//! revocations. Every write goes through the node's own write path
//! ([`Protocol::write`]) and is acknowledged only if it is accepted there.

use crdt_schema::{
    Attendance, ChangeMeta, DocId, Document, KeyHex, MonthDoc, MonthWriter, RegistryDoc,
    RegistryKey, SchemaError, day_digest,
};
use keys::SecretKey;
use node::validate::SignedChange;
use rand::RngExt;

use super::{Event, Protocol, World, month, month_doc};
use crate::prison::{INMATES_PER_DISTRICT, MONTH_START, PROCEDURE, inmate};

impl<P: Protocol> World<P> {
    /// The stated time of `node` at the current simulated time (its clock skewed).
    pub(crate) fn stated(&self, node: usize) -> i64 {
        MONTH_START + (self.now / 1000) as i64 + self.net.faults.skew_s[node]
    }

    /// A change of `doc` written at `node` as `key` (not yet judged).
    pub(crate) fn make_change(
        &mut self,
        node: usize,
        key: &SecretKey,
        doc: &DocId,
        f: impl FnOnce(&mut MonthWriter<'_, '_>) -> Result<(), SchemaError>,
    ) -> Option<SignedChange> {
        let mut base =
            P::document(&self.nodes[node], doc).unwrap_or_else(|| Document::new(doc.clone()));
        // The actor from the seed, not from the OS: a run replays exactly.
        base.set_actor_suffix(key.public().as_bytes(), self.rng.random());
        let mut m = MonthDoc::from_document(base).ok()?;
        let meta = ChangeMeta {
            author: key.public().as_bytes().to_vec(),
            time: self.stated(node),
            message: "sim".into(),
            registry_heads: P::registry_heads(&self.nodes[node]),
        };
        let (_, c) = m.write(&meta, f).ok()?;
        Some(P::seal(key, doc, c?))
    }

    /// An honest local write: acknowledged if the node accepts it, then
    /// offered to its peers.
    pub(crate) fn write_local(&mut self, node: usize, sc: SignedChange, doc: DocId) {
        self.stats.writes += 1;
        let h = sc.hash();
        if P::write(self, node, &doc, sc) {
            self.acknowledged[node].insert((doc, h));
            self.offer(node);
        }
    }

    /// The day's attendance and counts of every inmate of `node`'s district.
    fn daily(&mut self, node: usize, day: u64, counts: u64) -> Option<(DocId, SignedChange)> {
        let d = self.prison.staff[node].district.clone();
        let di = self.prison.districts.iter().position(|x| *x == d)?;
        let date = month().day(day as u8 + 1)?;
        let doc = month_doc(&d);
        let key = self.prison.staff[node].key_copy();
        let sc = self.make_change(node, &key, &doc, |w| {
            for i in 0..INMATES_PER_DISTRICT {
                w.put_attendance(
                    &inmate(di, i),
                    date,
                    &Attendance::from_fields("work", "480", "").expect("att"),
                )?;
                w.put_count(
                    &inmate(di, i),
                    date,
                    &PROCEDURE.parse().expect("procedure"),
                    counts + u64::from(i),
                )?;
            }
            Ok(())
        })?;
        Some((doc, sc))
    }

    /// The district's first officer records the day.
    pub(crate) fn daily_write(&mut self, node: usize, day: u64) {
        if !self.online(node) && !self.prison.behaviour[node].is_honest() {
            return;
        }
        let q = self.rng.random_range(400..560);
        if self.prison.behaviour[node].is_honest()
            && let Some((doc, sc)) = self.daily(node, day, q)
        {
            self.write_local(node, sc, doc);
        }
    }

    /// Another officer writes the same records at the same time, other values.
    pub(crate) fn concurrent_write(&mut self, node: usize, day: u64) {
        if self.prison.behaviour[node].is_honest()
            && let Some((doc, sc)) = self.daily(node, day, 900)
        {
            self.write_local(node, sc, doc);
        }
    }

    /// A second officer confirms every inmate's day as the node holds it.
    pub(crate) fn confirm(&mut self, node: usize, day: u64) {
        if !self.prison.behaviour[node].is_honest() {
            return;
        }
        let d = self.prison.staff[node].district.clone();
        let doc = month_doc(&d);
        let Some(existing) = P::document(&self.nodes[node], &doc) else {
            return;
        };
        let facts = MonthDoc::from_document(existing).expect("month").facts();
        let dd = day as u8 + 1;
        let Some(date) = month().day(dd) else { return };
        let to_confirm: Vec<_> = facts
            .inmates
            .iter()
            .filter(|(_, r)| r.record_days().contains(&dd))
            .map(|(no, r)| (no.clone(), day_digest(r, dd)))
            .collect();
        if to_confirm.is_empty() {
            return;
        }
        let key = self.prison.staff[node].key_copy();
        if let Some(sc) = self.make_change(node, &key, &doc, |w| {
            for (no, dg) in &to_confirm {
                w.put_confirmation(no, date, dg)?;
            }
            Ok(())
        }) {
            self.write_local(node, sc, doc);
        }
    }

    /// The records office (node 0) revokes `node`'s officer.
    pub(crate) fn revoke(&mut self, node: usize) {
        let rev = self.prison.revocation(node);
        let mut base = P::document(&self.nodes[0], &DocId::Registry).expect("registry");
        base.set_actor_suffix(self.prison.admin.public().as_bytes(), self.rng.random());
        let mut reg = RegistryDoc::from_document(base).expect("registry");
        let meta = ChangeMeta {
            author: self.prison.admin.public().as_bytes().to_vec(),
            time: self.stated(0),
            message: "revoke".into(),
            registry_heads: vec![],
        };
        let (_, c) = reg
            .write(&meta, |w| {
                w.put_trust(
                    &RegistryKey::Revocation(KeyHex::from_bytes(rev.body.public_key.as_bytes())),
                    &rev.to_json(),
                )
                .map(|_| ())
            })
            .expect("revocation");
        let sc = P::seal(&self.prison.admin, &DocId::Registry, c.expect("change"));
        self.revocations.insert(node, sc.hash());
        self.log(
            0,
            Event::Revoked {
                node,
                change: sc.hash(),
            },
        );
        self.write_local(0, sc, DocId::Registry);
    }
}
