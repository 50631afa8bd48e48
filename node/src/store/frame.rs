//! Record framing for the append-only logs and the snapshot files.
//!
//! A log file is a magic header followed by records, each
//! `length (u32 LE) | CRC-32 of payload (u32 LE) | payload`. A crash can leave
//! at most a torn last record (the append was never acknowledged); a bad disk
//! block can corrupt one in the middle. Scanning reports both and keeps every
//! intact record, so one bad byte never costs more than the record it is in.

/// First bytes of every log file.
pub const LOG_MAGIC: &[u8; 8] = b"TALLYLG1";
/// First bytes of every snapshot file.
pub const SNAP_MAGIC: &[u8; 8] = b"TALLYSN1";
/// Largest record accepted; anything longer is a corrupt length field.
pub const MAX_RECORD: usize = 256 * 1024 * 1024;

/// Something wrong found while scanning a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameIssue {
    /// The file does not start with the log magic.
    BadMagic,
    /// The file ends inside a record (an unacknowledged write cut short):
    /// `offset` is where the torn record starts, `len` how many bytes remain.
    TornTail { offset: u64, len: u64 },
    /// A complete record whose checksum does not match: skipped.
    Corrupt { offset: u64, len: u64 },
}

impl std::fmt::Display for FrameIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameIssue::BadMagic => write!(f, "not a tally log (bad header)"),
            FrameIssue::TornTail { offset, len } => {
                write!(
                    f,
                    "torn last record at byte {offset} ({len} bytes), ignored"
                )
            }
            FrameIssue::Corrupt { offset, len } => {
                write!(f, "corrupt record at byte {offset} ({len} bytes), skipped")
            }
        }
    }
}

/// The result of scanning a log: where the intact payloads are, issues, and
/// the length of the file up to the end of the last record that can be framed
/// (where the next append must start).
#[derive(Debug, Default)]
pub struct Scan {
    /// Byte ranges of the intact payloads (nothing is copied).
    pub records: Vec<std::ops::Range<usize>>,
    pub issues: Vec<FrameIssue>,
    pub valid_len: u64,
}

pub fn encode(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Scans a whole log file's bytes. An empty file is an empty log.
pub fn scan(bytes: &[u8]) -> Scan {
    scan_with(bytes, LOG_MAGIC)
}

/// Scans records framed after `magic` (logs, bundles).
pub fn scan_with(bytes: &[u8], magic: &[u8]) -> Scan {
    let mut scan = Scan::default();
    if bytes.is_empty() {
        return scan;
    }
    if bytes.len() < magic.len() || &bytes[..magic.len()] != magic {
        scan.issues.push(FrameIssue::BadMagic);
        return scan;
    }
    let mut at = magic.len();
    scan.valid_len = at as u64;
    while at < bytes.len() {
        let rest = bytes.len() - at;
        let torn = FrameIssue::TornTail {
            offset: at as u64,
            len: rest as u64,
        };
        if rest < 8 {
            scan.issues.push(torn);
            break;
        }
        let len = u32_at(bytes, at) as usize;
        let crc = u32_at(bytes, at + 4);
        if len > MAX_RECORD || rest - 8 < len {
            scan.issues.push(torn);
            break;
        }
        let payload = &bytes[at + 8..at + 8 + len];
        if crc32fast::hash(payload) == crc {
            scan.records.push(at + 8..at + 8 + len);
        } else {
            scan.issues.push(FrameIssue::Corrupt {
                offset: at as u64,
                len: (8 + len) as u64,
            });
        }
        at += 8 + len;
        scan.valid_len = at as u64;
    }
    scan
}

/// A snapshot file: magic, CRC-32 of the body, body.
pub fn encode_snapshot(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(SNAP_MAGIC);
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// The body of a snapshot file, if it is intact.
pub fn decode_snapshot(bytes: &[u8]) -> Result<&[u8], &'static str> {
    if bytes.len() < 12 || &bytes[..8] != SNAP_MAGIC {
        return Err("not a tally snapshot (bad header)");
    }
    let body = &bytes[12..];
    if crc32fast::hash(body) != u32_at(bytes, 8) {
        return Err("snapshot checksum mismatch");
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(records: &[&[u8]]) -> Vec<u8> {
        let mut out = LOG_MAGIC.to_vec();
        for r in records {
            encode(r, &mut out);
        }
        out
    }

    #[test]
    fn round_trip() {
        let bytes = log(&[b"one", b"", b"three"]);
        let s = scan(&bytes);
        let got: Vec<&[u8]> = s.records.iter().map(|r| &bytes[r.clone()]).collect();
        assert_eq!(got, vec![&b"one"[..], b"", b"three"]);
        assert!(s.issues.is_empty());
        assert_eq!(s.valid_len, bytes.len() as u64);
    }

    #[test]
    fn every_truncation_keeps_the_whole_records_before_it() {
        let bytes = log(&[b"alpha", b"beta", b"gamma"]);
        let ends = [8 + 8 + 5, 8 + 8 + 5 + 8 + 4, bytes.len()];
        for cut in LOG_MAGIC.len()..=bytes.len() {
            let s = scan(&bytes[..cut]);
            let whole = ends.iter().filter(|&&e| e <= cut).count();
            assert_eq!(s.records.len(), whole, "cut at {cut}");
            let expect_torn = !ends.contains(&cut) && cut != LOG_MAGIC.len();
            assert_eq!(
                s.issues
                    .iter()
                    .any(|i| matches!(i, FrameIssue::TornTail { .. })),
                expect_torn,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_flipped_payload_byte_skips_only_that_record() {
        let mut bytes = log(&[b"alpha", b"beta", b"gamma"]);
        let at = 8 + 8 + 5 + 8 + 1; // inside "beta"
        bytes[at] ^= 0x40;
        let s = scan(&bytes);
        let got: Vec<&[u8]> = s.records.iter().map(|r| &bytes[r.clone()]).collect();
        assert_eq!(got, vec![&b"alpha"[..], b"gamma"]);
        assert!(matches!(s.issues.as_slice(), [FrameIssue::Corrupt { .. }]));
    }

    #[test]
    fn snapshots_detect_corruption() {
        let mut s = encode_snapshot(b"document");
        assert_eq!(decode_snapshot(&s), Ok(&b"document"[..]));
        s[14] ^= 1;
        assert!(decode_snapshot(&s).is_err());
        assert!(decode_snapshot(b"short").is_err());
    }
}
