//! Officer, authority and device keys for tally (filled by the signed-changes issue).
