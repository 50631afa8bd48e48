//! What judging a change needs to know of the document it would enter: which
//! changes it already holds (dependencies, ancestry) and which author each
//! actor belongs to. An Automerge document answers directly; [`Staged`]
//! answers for a document plus changes accepted but not yet applied, so a
//! long history can be judged change by change and applied in one batch
//! (applying changes one at a time costs time proportional to the document
//! each time).

use std::collections::BTreeMap;

use crdt_schema::automerge::{ActorId, Automerge, Change, ChangeHash};

pub trait History {
    /// The dependencies of change `h`, or `None` if the document lacks it.
    fn deps(&self, h: &ChangeHash) -> Option<Vec<ChangeHash>>;
    /// The author an actor's first change named.
    fn actor_author(&self, actor: &ActorId) -> Option<Vec<u8>>;

    fn contains(&self, h: &ChangeHash) -> bool {
        self.deps(h).is_some()
    }
}

impl History for Automerge {
    fn deps(&self, h: &ChangeHash) -> Option<Vec<ChangeHash>> {
        self.get_change_meta_by_hash(h).map(|m| m.deps)
    }

    fn actor_author(&self, actor: &ActorId) -> Option<Vec<u8>> {
        self.get_author_for_actor(actor)
            .map(|a| a.as_bytes().to_vec())
    }
}

/// A document and the changes accepted on top of it, not yet applied.
pub struct Staged<'a> {
    base: &'a Automerge,
    deps: BTreeMap<ChangeHash, Vec<ChangeHash>>,
    authors: BTreeMap<ActorId, Vec<u8>>,
}

impl<'a> Staged<'a> {
    pub fn new(base: &'a Automerge) -> Staged<'a> {
        Staged {
            base,
            deps: BTreeMap::new(),
            authors: BTreeMap::new(),
        }
    }

    /// Records an accepted change by `author`.
    pub fn add(&mut self, change: &Change, author: Vec<u8>) {
        self.deps.insert(change.hash(), change.deps().to_vec());
        self.authors
            .entry(change.actor_id().clone())
            .or_insert(author);
    }
}

impl History for Staged<'_> {
    fn deps(&self, h: &ChangeHash) -> Option<Vec<ChangeHash>> {
        self.deps.get(h).cloned().or_else(|| self.base.deps(h))
    }

    fn actor_author(&self, actor: &ActorId) -> Option<Vec<u8>> {
        self.authors
            .get(actor)
            .cloned()
            .or_else(|| self.base.actor_author(actor))
    }
}
