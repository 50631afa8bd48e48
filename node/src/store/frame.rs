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
/// Bytes one scan may checksum looking for intact records past bad ones.
const RESYNC_BUDGET: usize = 64 * 1024 * 1024;

/// Something wrong found while scanning a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameIssue {
    /// The file does not start with the log magic.
    BadMagic,
    /// The file ends inside a record (an unacknowledged write cut short):
    /// `offset` is where the torn record starts, `len` how many bytes remain.
    TornTail { offset: u64, len: u64 },
    /// Bytes that are no intact record, with intact records after them (a
    /// bad block): skipped.
    Corrupt { offset: u64, len: u64 },
    /// The header is damaged, but intact records follow: read.
    DamagedHeader,
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
            FrameIssue::DamagedHeader => {
                write!(
                    f,
                    "damaged header (bad block?); the records after it are read"
                )
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
        // A header a bad block damaged, with records after it, is still
        // this file's: its records are read (and the next append goes after
        // them). Without a single intact record it is not tally's at all.
        let rest = scan_records(bytes, magic.len());
        if bytes.len() > magic.len() && !rest.records.is_empty() {
            scan = rest;
            scan.issues.insert(0, FrameIssue::DamagedHeader);
        } else {
            scan.issues.push(FrameIssue::BadMagic);
        }
        return scan;
    }
    scan_records(bytes, magic.len())
}

/// Whether an intact record starts at `at`: its length fits and its
/// checksum matches.
fn record_at(bytes: &[u8], at: usize) -> Option<usize> {
    let rest = bytes.len().checked_sub(at)?;
    if rest < 8 {
        return None;
    }
    let len = u32_at(bytes, at) as usize;
    if len > MAX_RECORD || rest - 8 < len {
        return None;
    }
    (crc32fast::hash(&bytes[at + 8..at + 8 + len]) == u32_at(bytes, at + 4)).then_some(len)
}

/// The records from `start` on. A record whose checksum or length is wrong
/// is skipped up to the next intact record (found by its own checksum), so a
/// bad block costs the records it touches and no more; only when no intact
/// record follows is the rest a torn tail, which the next append may cut.
fn scan_records(bytes: &[u8], start: usize) -> Scan {
    let mut scan = Scan {
        valid_len: start as u64,
        ..Scan::default()
    };
    let mut at = start;
    // Bytes checksummed looking for the next intact record after a bad one.
    let mut budget = RESYNC_BUDGET;
    while at < bytes.len() {
        if let Some(len) = record_at(bytes, at) {
            scan.records.push(at + 8..at + 8 + len);
            at += 8 + len;
            scan.valid_len = at as u64;
            continue;
        }
        // Not an intact record: the next one that is, if any. (A random
        // length rarely fits what remains, so few checksums are computed;
        // past a budget of checksummed bytes — a large file of garbage —
        // the rest is taken as corrupt and kept, never cut.)
        let mut next = None;
        for p in at + 1..bytes.len() {
            let fits = bytes.len() - p >= 8 && {
                let len = u32_at(bytes, p) as usize;
                len <= MAX_RECORD && bytes.len() - p - 8 >= len
            };
            if !fits {
                continue;
            }
            budget = budget.saturating_sub(u32_at(bytes, p) as usize + 1);
            if budget == 0 {
                scan.issues.push(FrameIssue::Corrupt {
                    offset: at as u64,
                    len: (bytes.len() - at) as u64,
                });
                scan.valid_len = bytes.len() as u64;
                return scan;
            }
            if record_at(bytes, p).is_some() {
                next = Some(p);
                break;
            }
        }
        match next {
            Some(next) => {
                scan.issues.push(FrameIssue::Corrupt {
                    offset: at as u64,
                    len: (next - at) as u64,
                });
                at = next;
                scan.valid_len = at as u64;
            }
            None => {
                // A whole record whose checksum fails, at the end: corrupt
                // (acknowledged once, so kept and appended after); anything
                // shorter than its length says is a write cut short.
                let rest = bytes.len() - at;
                let len = (rest >= 8).then(|| u32_at(bytes, at) as usize);
                match len.filter(|&len| len <= MAX_RECORD && rest - 8 >= len) {
                    Some(len) => {
                        scan.issues.push(FrameIssue::Corrupt {
                            offset: at as u64,
                            len: (8 + len) as u64,
                        });
                        at += 8 + len;
                        scan.valid_len = at as u64;
                    }
                    None => {
                        scan.issues.push(FrameIssue::TornTail {
                            offset: at as u64,
                            len: rest as u64,
                        });
                        break;
                    }
                }
            }
        }
    }
    scan
}

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
    fn a_bad_length_field_costs_its_record_not_every_record_after_it() {
        let mut bytes = log(&[b"alpha", b"beta", b"gamma", b"delta"]);
        // The length of "beta" made huge: it once read as a torn tail, and
        // the next append (after the last intact record) overwrote "gamma"
        // and "delta", acknowledged long before.
        bytes[8 + 8 + 5 + 3] = 0x7f;
        let s = scan(&bytes);
        let got: Vec<&[u8]> = s.records.iter().map(|r| &bytes[r.clone()]).collect();
        assert_eq!(got, vec![&b"alpha"[..], b"gamma", b"delta"]);
        assert_eq!(
            s.issues,
            [FrameIssue::Corrupt {
                offset: 8 + 8 + 5,
                len: 8 + 4
            }]
        );
        assert_eq!(s.valid_len, bytes.len() as u64, "appends go after delta");
    }

    #[test]
    fn a_bad_block_anywhere_costs_only_the_records_it_touches() {
        // Records of assorted lengths; a burst of 1 to 40 bytes flipped at
        // every offset past the header: every record the burst does not
        // touch is read, and appends never go before the last of them.
        let payloads: Vec<Vec<u8>> = (0..12u8)
            .map(|i| {
                (0..(3 + 7 * i as usize % 29))
                    .map(|j| i ^ j as u8)
                    .collect()
            })
            .collect();
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let clean = log(&refs);
        let ranges = scan(&clean).records;
        for burst in [1usize, 4, 9, 40] {
            for at in LOG_MAGIC.len()..clean.len() {
                let mut bytes = clean.clone();
                let end = (at + burst).min(bytes.len());
                for b in &mut bytes[at..end] {
                    *b ^= 0xA5;
                }
                let s = scan(&bytes);
                let got: Vec<&[u8]> = s.records.iter().map(|r| &bytes[r.clone()]).collect();
                for (r, p) in ranges.iter().zip(&payloads) {
                    // A record's frame starts 8 bytes before its payload.
                    let touched = at < r.end && end > r.start - 8;
                    if !touched {
                        assert!(got.contains(&p.as_slice()), "burst {burst} at {at}");
                    }
                }
                let last_intact = ranges
                    .iter()
                    .rev()
                    .find(|r| !(at < r.end && end > r.start - 8))
                    .map_or(0, |r| r.end as u64);
                assert!(s.valid_len >= last_intact, "burst {burst} at {at}");
            }
        }
    }

    #[test]
    fn a_large_file_of_garbage_is_scanned_in_bounded_work_and_never_cut() {
        // 64 MiB of bytes whose every length field "fits": a search for the
        // next record at each offset would checksum terabytes.
        let mut bytes = log(&[b"alpha"]);
        let mut garbage = vec![0u8; 64 * 1024 * 1024];
        for (i, chunk) in garbage.chunks_mut(4).enumerate() {
            chunk.copy_from_slice(&((i % 4096) as u32 + 1).to_le_bytes());
        }
        bytes.extend(garbage);
        let started = std::time::Instant::now();
        let s = scan(&bytes);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.valid_len, bytes.len() as u64, "the garbage kept, not cut");
    }

    #[test]
    fn a_damaged_header_keeps_the_records_after_it() {
        let mut bytes = log(&[b"alpha", b"beta"]);
        bytes[2] ^= 0x10;
        let s = scan(&bytes);
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.issues, [FrameIssue::DamagedHeader]);
        // Not a log at all: refused as foreign.
        let s = scan(b"#!/bin/sh\necho hello\n");
        assert_eq!(s.issues, [FrameIssue::BadMagic]);
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
