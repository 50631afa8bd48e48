//! A tally document over Automerge, and the one transaction API every write goes through.
//!
//! [`Document::transact`] is the single place where a change is made: it sets
//! the change's author (the writer's public key), its stated time and message,
//! runs the typed writer, and returns the committed [`Change`] so the caller can
//! sign and store exactly that change. No other code in tally commits to an
//! Automerge document.

use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{
    ActorId, Author, Automerge, Change, ChangeHash, ROOT, ReadDoc, ScalarValue, Value,
};

use crate::layout::{DocId, META_DOC, META_SCHEMA, SCHEMA_VERSION};
use crate::records::RecordError;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("document says it is `{found}`, expected `{expected}`")]
    WrongDocument { expected: DocId, found: String },
    #[error("{0}: a sync message may not carry changes (they must come signed)")]
    UnsignedChanges(DocId),
    #[error("`{0}` is not a district-month document")]
    NotAMonth(DocId),
    #[error("`{0}` is not a roster shard")]
    NotARoster(DocId),
    #[error("document {doc} has schema version {found}; this tally knows up to {SCHEMA_VERSION}")]
    NewerSchema { doc: DocId, found: i64 },
    #[error("date {date} is outside {doc}")]
    DateOutsideMonth { date: crate::Date, doc: DocId },
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("review refused: {0}")]
    BadReview(String),
    #[error("refused: {0}")]
    BadPosting(String),
}

/// Who makes a change and when, as the author states it. Stored in the change
/// (and so covered by its hash and signature); never read from a clock here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeMeta {
    /// The author's public key bytes (the officer's ed25519 key).
    pub author: Vec<u8>,
    /// Seconds since the Unix epoch, as stated by the author's machine.
    pub time: i64,
    /// A short description, e.g. `import attendance.csv`.
    pub message: String,
    /// The registry heads the author had when writing (month documents): the
    /// change's place in the registry's history, so that a change made after
    /// its author's revocation was recorded can be told from one made before.
    pub registry_heads: Vec<ChangeHash>,
}

/// What tally writes in an Automerge change's message: the author's note and
/// the registry heads it was written against.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeNote {
    pub msg: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reg: Vec<String>,
}

impl ChangeNote {
    fn encode(meta: &ChangeMeta) -> String {
        let note = ChangeNote {
            msg: meta.message.clone(),
            reg: meta.registry_heads.iter().map(|h| h.to_string()).collect(),
        };
        serde_json::to_string(&note).expect("a note always serializes")
    }

    /// Reads the note of a change; a change without one has an empty note.
    pub fn of(message: Option<&str>) -> Result<ChangeNote, String> {
        match message {
            None => Ok(ChangeNote::default()),
            Some(m) => serde_json::from_str(m)
                .map_err(|e| format!("change message is not a tally note: {e}")),
        }
    }

    /// The registry heads, parsed.
    pub fn registry_heads(&self) -> Result<Vec<ChangeHash>, String> {
        self.reg
            .iter()
            .map(|h| {
                h.parse::<ChangeHash>()
                    .map_err(|_| format!("`{h}` is not a change hash"))
            })
            .collect()
    }
}

/// Actors are bound to their author: an actor id starts with the first
/// [`ACTOR_PREFIX`] bytes of the author's key, so one officer can never write
/// under (and collide with) another's actor.
pub const ACTOR_PREFIX: usize = 8;

/// Whether `actor` may carry changes of `author`.
pub fn actor_matches_author(actor: &ActorId, author: &[u8]) -> bool {
    author.len() >= ACTOR_PREFIX
        && actor.to_bytes().len() == 16
        && actor.to_bytes()[..ACTOR_PREFIX] == author[..ACTOR_PREFIX]
}

/// One Automerge document with its identity.
///
/// Not `Clone`: a copy would write with the same actor and sequence numbers as
/// the original. [`Document::fork`] makes an independent replica.
#[derive(Debug)]
pub struct Document {
    id: DocId,
    am: Automerge,
}

/// The writes of one transaction: a thin layer over Automerge that skips
/// writes which would not change anything, so that repeating an import is a
/// no-op and produces no change at all.
pub struct Tx<'a> {
    tx: Transaction<'a>,
    author: Vec<u8>,
}

impl Tx<'_> {
    /// The author this transaction writes as.
    pub(crate) fn author(&self) -> &[u8] {
        &self.author
    }

    /// Writes `value` at `key` unless the key already holds exactly that value
    /// and nothing else (a key in conflict is always written, which resolves
    /// the conflict). Returns whether anything was written.
    pub(crate) fn put(&mut self, key: &str, value: ScalarValue) -> Result<bool, SchemaError> {
        let current = self.tx.get_all(ROOT, key)?;
        if let [(Value::Scalar(v), _)] = current.as_slice()
            && v.as_ref() == &value
        {
            return Ok(false);
        }
        self.tx.put(ROOT, key, value)?;
        Ok(true)
    }

    /// Deletes `key` if present. Returns whether anything was deleted.
    pub(crate) fn delete(&mut self, key: &str) -> Result<bool, SchemaError> {
        if self.tx.get(ROOT, key)?.is_none() {
            return Ok(false);
        }
        self.tx.delete(ROOT, key)?;
        Ok(true)
    }

    pub(crate) fn get_str(&self, key: &str) -> Result<Option<String>, SchemaError> {
        Ok(match self.tx.get(ROOT, key)? {
            Some((Value::Scalar(v), _)) => match v.as_ref() {
                ScalarValue::Str(s) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        })
    }
}

impl Document {
    pub fn new(id: DocId) -> Document {
        Document {
            id,
            am: Automerge::new(),
        }
    }

    /// Loads a saved document and checks that it is the one expected.
    pub fn load(id: DocId, bytes: &[u8]) -> Result<Document, SchemaError> {
        Document::from_automerge(id, Automerge::load(bytes)?)
    }

    /// Wraps an Automerge document after checking its identity and schema.
    pub fn from_automerge(id: DocId, am: Automerge) -> Result<Document, SchemaError> {
        let doc = Document { id, am };
        doc.check_identity()?;
        Ok(doc)
    }

    /// A document's `meta/doc` must name the document it is stored as, and its
    /// schema must not be newer than this program's.
    pub fn check_identity(&self) -> Result<(), SchemaError> {
        for (value, _) in self.am.get_all(ROOT, META_DOC)? {
            let found = match &value {
                Value::Scalar(s) => match s.as_ref() {
                    ScalarValue::Str(s) => s.to_string(),
                    other => other.to_string(),
                },
                Value::Object(t) => format!("{t:?}"),
            };
            if found != self.id.to_string() {
                return Err(SchemaError::WrongDocument {
                    expected: self.id.clone(),
                    found,
                });
            }
        }
        for (value, _) in self.am.get_all(ROOT, META_SCHEMA)? {
            if let Value::Scalar(s) = &value
                && let ScalarValue::Int(v) = s.as_ref()
                && *v > SCHEMA_VERSION
            {
                return Err(SchemaError::NewerSchema {
                    doc: self.id.clone(),
                    found: *v,
                });
            }
        }
        Ok(())
    }

    /// An independent replica of this document with a fresh actor, as another
    /// machine would hold it.
    pub fn fork(&self) -> Document {
        Document {
            id: self.id.clone(),
            am: self.am.fork(),
        }
    }

    pub fn id(&self) -> &DocId {
        &self.id
    }

    /// Read access to the underlying Automerge document.
    pub fn automerge(&self) -> &Automerge {
        &self.am
    }

    pub fn heads(&self) -> Vec<ChangeHash> {
        self.am.get_heads()
    }

    /// The next message of Automerge's sync protocol for a peer. Used by the
    /// sync layer for heads, needs and Bloom filters only: the changes it
    /// selects are sent separately, signed, and the message's own change
    /// list is cleared by the caller.
    pub fn generate_sync_message(
        &self,
        state: &mut automerge::sync::State,
    ) -> Option<automerge::sync::Message> {
        use automerge::sync::SyncDoc;
        self.am.generate_sync_message(state)
    }

    /// Lets a peer's sync message update `state`. A message that carries
    /// changes is refused: changes enter a document only through
    /// [`Document::apply_changes`], after validation.
    pub fn receive_sync_message(
        &mut self,
        state: &mut automerge::sync::State,
        message: automerge::sync::Message,
    ) -> Result<(), SchemaError> {
        use automerge::sync::SyncDoc;
        if !message.changes.is_empty() {
            return Err(SchemaError::UnsignedChanges(self.id.clone()));
        }
        self.am.receive_sync_message(state, message)?;
        Ok(())
    }

    /// The compacted form of the whole document (Automerge's save format).
    pub fn save(&self) -> Vec<u8> {
        self.am.save()
    }

    /// Applies changes received from storage or a peer. Callers in tally pass
    /// only changes that already passed validation (signature, authorization).
    pub fn apply_changes(&mut self, changes: Vec<Change>) -> Result<(), SchemaError> {
        self.am.apply_changes(changes)?;
        self.check_identity()
    }

    /// [`Document::apply_changes`] without the identity check afterwards, for
    /// changes the validator passed: it checked every value they write,
    /// `meta/doc` and `meta/schema` included (`schema::decode_*`), so the
    /// check could not fail — and reading the root map back after each
    /// admission is a measurable share of sync time.
    pub fn apply_validated_changes(&mut self, changes: Vec<Change>) -> Result<(), SchemaError> {
        self.am.apply_changes(changes)?;
        Ok(())
    }

    /// Makes the next transactions by `author` write as the actor `author`'s
    /// prefix + `suffix` instead of a random one. For seeded simulations,
    /// which must replay exactly; a suffix must never be reused on another
    /// copy of the document, or two changes would share an actor and sequence.
    pub fn set_actor_suffix(&mut self, author: &[u8], suffix: [u8; ACTOR_PREFIX]) {
        let mut bytes = author
            .iter()
            .copied()
            .take(ACTOR_PREFIX)
            .collect::<Vec<u8>>();
        bytes.resize(ACTOR_PREFIX, 0);
        bytes.extend_from_slice(&suffix);
        // A new author resets the actor: set the author first.
        self.am.set_author(Some(Author::from(author.to_vec())));
        self.am.set_actor(ActorId::from(bytes));
    }

    /// Runs `f` in one transaction authored by `meta.author` and commits it.
    /// Returns `f`'s result and the change, or `None` when nothing changed.
    /// On error nothing is committed.
    pub fn transact<T>(
        &mut self,
        meta: &ChangeMeta,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, SchemaError>,
    ) -> Result<(T, Option<Change>), SchemaError> {
        self.am.set_author(Some(Author::from(meta.author.clone())));
        if !actor_matches_author(self.am.get_actor(), &meta.author) {
            // The author prefix, then eight bytes of Automerge's own random actor.
            let mut bytes = meta
                .author
                .iter()
                .copied()
                .take(ACTOR_PREFIX)
                .collect::<Vec<u8>>();
            bytes.resize(ACTOR_PREFIX, 0);
            bytes.extend_from_slice(&ActorId::random().to_bytes()[..ACTOR_PREFIX]);
            self.am.set_actor(ActorId::from(bytes));
        }
        let doc_name = self.id.to_string();
        let (out, hash) = {
            let mut tx = Tx {
                tx: self.am.transaction(),
                author: meta.author.clone(),
            };
            let had_schema = tx.tx.get(ROOT, META_SCHEMA)?.is_some();
            let result = f(&mut tx).and_then(|out| {
                // Stamp the document's identity with its first real write, so
                // an empty transaction stays empty.
                if tx.tx.pending_ops() > 0 && !had_schema {
                    tx.put(META_SCHEMA, ScalarValue::Int(SCHEMA_VERSION))?;
                    tx.put(META_DOC, ScalarValue::Str(doc_name.as_str().into()))?;
                }
                Ok(out)
            });
            match result {
                Ok(out) => {
                    let opts = CommitOptions::default()
                        .with_time(meta.time)
                        .with_message(ChangeNote::encode(meta));
                    (out, tx.tx.commit_with(opts).0)
                }
                Err(e) => {
                    tx.tx.rollback();
                    return Err(e);
                }
            }
        };
        let change = hash.and_then(|h| self.am.get_change_by_hash(&h));
        Ok((out, change))
    }
}
