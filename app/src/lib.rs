//! The eframe/egui officer app (tally-app): daily entry, the board, monthly scores, approvals; embeds a node.
