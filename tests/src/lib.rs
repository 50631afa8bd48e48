//! End-to-end tests across tally's crates: the real tally binary on real files (and, later, iroh endpoints on loopback).
