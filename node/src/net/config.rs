//! The node's configuration (`DATA/node.toml`, overridable by flags), its
//! device key (`DATA/node.key`) and peer addresses.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use iroh::{EndpointId, SecretKey};
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// A peer given as `ENDPOINT_ID@HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddr {
    pub id: EndpointId,
    pub addr: SocketAddr,
}

impl FromStr for PeerAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<PeerAddr, String> {
        let (id, addr) = s
            .split_once('@')
            .ok_or_else(|| format!("`{s}` is not ENDPOINT_ID@HOST:PORT"))?;
        let id: EndpointId = id
            .parse()
            .map_err(|e| format!("`{id}` is not an endpoint id: {e}"))?;
        let addr = std::net::ToSocketAddrs::to_socket_addrs(addr)
            .map_err(|e| format!("`{addr}`: {e}"))?
            .next()
            .ok_or_else(|| format!("`{addr}` resolves to no address"))?;
        Ok(PeerAddr { id, addr })
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.addr)
    }
}

impl Serialize for PeerAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PeerAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// `DATA/node.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Address to listen on, e.g. `0.0.0.0:7700`.
    pub listen: Option<SocketAddr>,
    /// Peers to connect to.
    #[serde(default)]
    pub peers: Vec<PeerAddr>,
    /// Find enrolled peers on the LAN by mDNS.
    #[serde(default = "yes")]
    pub mdns: bool,
    /// The month-end link to the scoring database: when set, the node
    /// links every sealed district-month by itself.
    #[serde(default)]
    pub link: Option<LinkSettings>,
}

/// node.toml's `[link]`:
///
/// ```toml
/// [link]
/// url = "postgres://tally@dbhost:5432/jifen?sslmode=require"
/// password_file = "/etc/tally/link-password"   # else TALLY_LINK_PASSWORD
/// ca_file = "/etc/tally/db-ca.pem"              # the CA of the server's certificate
/// ```
///
/// Relative paths are read from the folder of the settings file. The
/// password is never in the URL (refused there) and never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSettings {
    pub url: String,
    pub password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            listen: None,
            peers: Vec::new(),
            mdns: true,
            link: None,
        }
    }
}

pub fn config_path(data: &Path) -> PathBuf {
    data.join("node.toml")
}

impl NodeConfig {
    /// Reads `DATA/node.toml`; a missing file is the default configuration.
    pub fn read(data: &Path) -> Result<NodeConfig, StoreError> {
        match NodeConfig::read_file(&config_path(data)) {
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Ok(NodeConfig::default())
            }
            other => other,
        }
    }

    /// The settings of `--config FILE` when given (the file must exist: a
    /// packaged node is started with `/etc/tally/node.toml`), else
    /// [`NodeConfig::read`].
    pub fn load(data: &Path, file: Option<&Path>) -> Result<NodeConfig, StoreError> {
        match file {
            Some(f) => NodeConfig::read_file(f),
            None => NodeConfig::read(data),
        }
    }

    fn read_file(path: &Path) -> Result<NodeConfig, StoreError> {
        match std::fs::read_to_string(path) {
            Ok(t) => {
                let mut c: NodeConfig = toml::from_str(&t).map_err(|e| StoreError::BadConfig {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
                if let (Some(l), Some(dir)) = (c.link.as_mut(), path.parent()) {
                    for p in [&mut l.password_file, &mut l.ca_file].into_iter().flatten() {
                        if p.is_relative() {
                            *p = dir.join(&*p);
                        }
                    }
                }
                Ok(c)
            }
            Err(source) => Err(StoreError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

pub fn key_path(data: &Path) -> PathBuf {
    data.join("node.key")
}

/// This node's device key if it has been made, without making it.
pub fn node_key_if_made(data: &Path) -> Result<Option<SecretKey>, StoreError> {
    if key_path(data).exists() {
        node_key(data).map(Some)
    } else {
        Ok(None)
    }
}

/// This node's device key: created on first use, kept in `DATA/node.key`
/// (readable only by its owner). It is not encrypted: the daemon must start
/// unattended, and the key only identifies the device; what it may do is
/// decided by the authority's enrolment, revocable at any time.
pub fn node_key(data: &Path) -> Result<SecretKey, StoreError> {
    let path = key_path(data);
    let bad = |reason: String| StoreError::BadConfig {
        path: path.clone(),
        reason,
    };
    let read = |text: &str| -> Result<SecretKey, StoreError> {
        let bytes = hex::decode(text.trim()).map_err(|e| bad(e.to_string()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| bad("not a 32-byte key".into()))?;
        Ok(SecretKey::from_bytes(&arr))
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => read(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use rand::TryRng;
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            rand::rngs::SysRng
                .try_fill_bytes(seed.as_mut())
                .map_err(|e| bad(format!("system random number generator: {e}")))?;
            match platform::write_new_private(&path, hex::encode(seed.as_ref()).as_bytes()) {
                Ok(()) => Ok(SecretKey::from_bytes(&seed)),
                // Another process (the service and `tally node id`, say)
                // made it at the same moment: theirs is the device's key.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).map_err(|source| StoreError::Io {
                        path: path.clone(),
                        source,
                    })?;
                    read(&text)
                }
                Err(source) => Err(StoreError::Io { path, source }),
            }
        }
        Err(source) => Err(StoreError::Io { path, source }),
    }
}
