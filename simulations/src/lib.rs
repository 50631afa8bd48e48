//! Seeded, deterministic many-node simulations of tally's sync core: partitions, offline devices, hostile peers; benchmarks.
