//! The simulated prison: keys, certificates and the registry's first
//! changes, derived from the seed so a run replays exactly.

use crdt_schema::{
    ChangeMeta, DistrictId, DocId, Document, Inmate, InmateNo, KeyHex, ProcedureId,
    ProcedureVersion, RegistryDoc, RegistryKey, RosterDoc, RuleSet, Year,
};
use keys::{
    CertBody, Certificate, DeviceBody, DeviceCert, Revocation, RevocationBody, Role, SecretKey,
};
use node::validate::SignedChange;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// Seconds since the epoch of 2026-10-01 00:00 CST: the simulated month.
pub const MONTH_START: i64 = 1_790_784_000 - 8 * 3600;
pub const MONTH: &str = "2026-10";
pub const INMATES_PER_DISTRICT: u32 = 4;
pub const PROCEDURE: &str = "P1";

/// What a node is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Honest,
    /// Sends changes whose signature is not their author's.
    Forger,
    /// A certified officer of one district writing another district's records.
    OutOfDistrict,
    /// Sends valid changes of one document as another's.
    Replayer,
    /// An officer whose key is revoked mid-month, writing on.
    Revoked,
    /// Sends undecodable messages.
    Garbage,
    /// Sends many changes nobody can judge (unknown keys), to grow others' memory.
    Flooder,
}

impl Behaviour {
    pub fn is_honest(self) -> bool {
        self == Behaviour::Honest
    }
}

/// One node's identity in the prison.
pub struct Staff {
    pub key: SecretKey,
    /// The key's seed, so the simulation can hand out copies.
    pub seed: [u8; 32],
    pub cert: Certificate,
    pub district: DistrictId,
}

impl Staff {
    pub fn key_copy(&self) -> SecretKey {
        SecretKey::from_seed(&self.seed)
    }
}

pub struct SimPrison {
    pub authority: SecretKey,
    pub admin: SecretKey,
    pub districts: Vec<DistrictId>,
    /// Per node: its officer (node 0, the records office, has the admin's).
    pub staff: Vec<Staff>,
    pub behaviour: Vec<Behaviour>,
    /// The registry's first change (signed by the admin): the prison, its
    /// officers, districts, procedure, rule set, and every node's device
    /// enrolled (so each signs checkpoints the others keep).
    pub genesis: SignedChange,
    /// The roster's first change: every inmate's admission, in the shard of
    /// its year (`roster/2020`), anchored at the genesis.
    pub roster: (DocId, SignedChange),
    pub registry: RegistryDoc,
    /// Per node, the seed of its device key (what its checkpoints are signed with).
    device_seeds: Vec<[u8; 32]>,
}

fn key_seed(seed: u64, what: &str, i: usize) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(what.as_bytes());
    h.update((i as u64).to_le_bytes());
    h.finalize().into()
}

fn key(seed: u64, what: &str, i: usize) -> SecretKey {
    SecretKey::from_seed(&key_seed(seed, what, i))
}

pub fn inmate(district: usize, i: u32) -> InmateNo {
    format!("9{district:03}{i:04}")
        .parse()
        .expect("valid inmate number")
}

impl SimPrison {
    /// A prison of `nodes` nodes in `districts` districts, `hostile` of them
    /// misbehaving (each with one of the hostile behaviours, in turn).
    pub fn build(seed: u64, nodes: usize, districts: usize, hostile: usize) -> SimPrison {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let authority = key(seed, "authority", 0);
        let admin = key(seed, "admin", 0);
        let districts: Vec<DistrictId> = (0..districts)
            .map(|d| format!("D{d:02}").parse().expect("valid district"))
            .collect();
        let from = "2026-01-01".parse().expect("date");
        let to = "2026-12-31".parse().expect("date");
        let cert = |k: &SecretKey, no: &str, role: Role, d: Option<&DistrictId>| {
            Certificate::issue(
                &authority,
                CertBody {
                    officer_no: no.into(),
                    name: "模拟警官".into(),
                    district: d.cloned(),
                    role,
                    public_key: k.public(),
                    valid_from: from,
                    valid_to: to,
                },
            )
            .expect("valid certificate")
        };
        let admin_cert = cert(&admin, "ADMIN", Role::Admin, None);
        let mut staff = vec![Staff {
            key: key(seed, "admin", 0),
            seed: key_seed(seed, "admin", 0),
            cert: admin_cert.clone(),
            district: districts[0].clone(),
        }];
        for n in 1..nodes {
            let d = &districts[(n - 1) % districts.len()];
            let k = key(seed, "officer", n);
            let c = cert(&k, &format!("N{n:03}"), Role::Officer, Some(d));
            staff.push(Staff {
                key: k,
                seed: key_seed(seed, "officer", n),
                cert: c,
                district: d.clone(),
            });
        }
        // Hostile nodes among the officers, never the records office.
        let mut behaviour = vec![Behaviour::Honest; nodes];
        let kinds = [
            Behaviour::Forger,
            Behaviour::OutOfDistrict,
            Behaviour::Replayer,
            Behaviour::Revoked,
            Behaviour::Garbage,
            Behaviour::Flooder,
        ];
        let mut candidates: Vec<usize> = (1..nodes).collect();
        for k in 0..hostile.min(nodes.saturating_sub(1)) {
            let i = rng.random_range(0..candidates.len());
            behaviour[candidates.swap_remove(i)] = kinds[k % kinds.len()];
        }
        let mut base = Document::new(DocId::Registry);
        base.set_actor_suffix(admin.public().as_bytes(), rng.random());
        let mut registry = RegistryDoc::from_document(base).expect("an empty registry");
        let meta = ChangeMeta {
            author: admin.public().as_bytes().to_vec(),
            time: MONTH_START - 86_400,
            message: "genesis".into(),
            registry_heads: vec![],
        };
        let (_, change) = registry
            .write(&meta, |w| {
                w.set_prison("模拟监狱")?;
                for s in &staff {
                    w.put_trust(
                        &RegistryKey::Officer(KeyHex::from_bytes(s.key.public().as_bytes())),
                        &s.cert.to_json(),
                    )?;
                }
                for (i, d) in districts.iter().enumerate() {
                    w.put_district(d, &format!("模拟{i}监区"))?;
                }
                w.put_procedure_version(
                    &PROCEDURE.parse::<ProcedureId>().expect("procedure"),
                    "2026-01-01".parse().expect("date"),
                    &ProcedureVersion {
                        product: "X".parse().expect("product"),
                        name: "工序".into(),
                        std_ms: 60_000,
                    },
                )?;
                for n in 0..nodes {
                    let device = key(seed, "device", n).public();
                    let cert = DeviceCert::issue(
                        &authority,
                        DeviceBody {
                            endpoint_id: device,
                            label: format!("模拟设备{n}"),
                            enrolled: from,
                        },
                    )
                    .expect("device certificate");
                    w.put_trust(
                        &RegistryKey::Device(KeyHex::from_bytes(device.as_bytes())),
                        &cert.to_json(),
                    )?;
                }
                w.put_rule_set(&RuleSet::standard("2021-10".parse().expect("month")))
            })
            .expect("genesis");
        let genesis = SignedChange::sign(&admin, &DocId::Registry, change.expect("a change"));
        let year = Year::new(2020).expect("year");
        let roster_doc = DocId::Roster { year };
        let mut shard = Document::new(roster_doc.clone());
        shard.set_actor_suffix(admin.public().as_bytes(), rng.random());
        let mut shard = RosterDoc::from_document(shard).expect("an empty shard");
        let (_, change) = shard
            .write(
                &ChangeMeta {
                    registry_heads: vec![genesis.hash()],
                    message: "roster".into(),
                    ..meta.clone()
                },
                |w| {
                    for (i, d) in districts.iter().enumerate() {
                        for j in 0..INMATES_PER_DISTRICT {
                            w.admit(
                                &inmate(i, j),
                                &Inmate {
                                    name: format!("模拟{i}-{j}"),
                                    district: d.clone(),
                                    admitted: "2020-01-01".parse().expect("date"),
                                    released: None,
                                },
                            )?;
                        }
                    }
                    Ok(())
                },
            )
            .expect("the roster");
        let roster = (
            roster_doc.clone(),
            SignedChange::sign(&admin, &roster_doc, change.expect("a change")),
        );
        SimPrison {
            authority,
            admin,
            districts,
            staff,
            behaviour,
            genesis,
            roster,
            registry,
            device_seeds: (0..nodes).map(|n| key_seed(seed, "device", n)).collect(),
        }
    }

    /// Node `n`'s device key.
    pub fn device(&self, n: usize) -> SecretKey {
        SecretKey::from_seed(&self.device_seeds[n])
    }

    /// The authority's revocation of node `n`'s officer.
    pub fn revocation(&self, n: usize) -> Revocation {
        Revocation::issue(
            &self.authority,
            RevocationBody {
                officer_no: self.staff[n].cert.body.officer_no.clone(),
                public_key: self.staff[n].key.public(),
                date: "2026-10-15".parse().expect("date"),
            },
        )
        .expect("revocation")
    }
}
