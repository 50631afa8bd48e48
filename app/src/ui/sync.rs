//! 同步: this PC's node, its peers, and what has crossed.

use eframe::egui::{self, RichText};

use super::Lang;
use super::look::{OVER, SHORT, table};
use crate::clock::unix_now;
use crate::sync::SyncStatus;

fn ago(lang: Lang, t: u64) -> String {
    if t == 0 {
        return lang.t("从未", "never").to_string();
    }
    let s = u64::try_from(unix_now()).unwrap_or(0).saturating_sub(t);
    match s {
        0..60 => format!("{s} {}", lang.t("秒前", "s ago")),
        60..3600 => format!("{} {}", s / 60, lang.t("分钟前", "min ago")),
        _ => format!("{} {}", s / 3600, lang.t("小时前", "h ago")),
    }
}

/// 同步: this PC's node, its peers, last contact, what crossed.
pub(super) fn sync_screen(ui: &mut egui::Ui, lang: Lang, sync: Option<&SyncStatus>) {
    let Some(st) = sync else {
        ui.label(lang.t(
            "本机未运行同步节点（以 --no-sync 启动）",
            "No sync node runs in this app (started with --no-sync)",
        ));
        return;
    };
    if let Some(e) = &st.error {
        ui.colored_label(
            SHORT,
            format!(
                "{} {}",
                lang.t("同步节点未运行：", "Sync node not running:"),
                super::words::sync_failure(lang, e)
            ),
        );
        return;
    }
    let Some(id) = &st.id else {
        ui.spinner();
        return;
    };
    if let Some(pid) = st.by_service {
        ui.label(format!(
            "{}{}",
            lang.t(
                "本机的 tally 服务正在同步此数据目录（本程序不另起节点）",
                "This PC's tally service syncs this data directory (the app starts no node of its own)"
            ),
            pid.map(|p| format!(" — pid {p}")).unwrap_or_default()
        ));
    }
    ui.label(format!("{} {id}", lang.t("本机节点", "This node")));
    ui.label(format!(
        "{} {}",
        lang.t("监听", "Listening on"),
        st.listening.join(", ")
    ));
    ui.label(format!(
        "{} {}",
        st.heads.len(),
        lang.t(
            "个文档（登记册与各监区月度）",
            "documents (registry and district-months)"
        )
    ));
    // A first sync, or catching up after days apart: how much is level.
    let (level, known) = level_documents(st);
    if level < known {
        ui.add(
            egui::ProgressBar::new(level as f32 / known.max(1) as f32)
                .desired_width(320.0)
                .text(format!(
                    "{level}/{known} {}",
                    lang.t(
                        "个文档已与相连节点一致",
                        "documents level with connected peers"
                    )
                )),
        );
    }
    if let Some(l) = &st.link {
        ui.separator();
        link_status(ui, lang, l);
    }
    ui.separator();
    if st.peers.is_empty() {
        ui.label(lang.t("尚未连接任何节点", "No peer contacted yet"));
        return;
    }
    let headers = [
        lang.t("节点", "Peer"),
        lang.t("状态", "State"),
        lang.t("最近联系", "Last contact"),
        lang.t("待发送", "Not yet sent"),
        lang.t("待接收", "Not yet received"),
        lang.t("已发送", "Sent"),
        lang.t("已接收", "Received"),
        lang.t("最近错误", "Last error"),
    ];
    table(ui, "peers", &headers, |ui| {
        for (peer, p) in &st.peers {
            ui.label(RichText::new(peer.chars().take(16).collect::<String>()).monospace());
            if p.connected {
                ui.colored_label(OVER, lang.t("已连接", "connected"));
            } else {
                ui.colored_label(SHORT, lang.t("未连接", "disconnected"));
            }
            ui.label(ago(lang, p.last_message.max(p.since)));
            let (to_send, to_receive) = pending(lang, p);
            ui.label(to_send);
            ui.label(to_receive);
            ui.label(format!("{} B", p.sent_change_bytes));
            ui.label(format!("{} B", p.received_change_bytes));
            ui.label(p.last_error.clone().unwrap_or_default());
            ui.end_row();
        }
    });
    // Which documents stand apart, peer by peer.
    for (peer, p) in st.peers.iter().filter(|(_, p)| !p.lag.is_empty()) {
        egui::CollapsingHeader::new(format!(
            "{} {} · {} {}",
            lang.t("与", "Apart from"),
            peer.chars().take(16).collect::<String>(),
            p.lag.len(),
            lang.t("个文档未同步", "documents")
        ))
        .id_salt(("lag", peer))
        .show(ui, |ui| {
            for (doc, lag) in &p.lag {
                ui.label(format!(
                    "{doc}: {} {} · {} {}",
                    lang.t("待发送", "to send"),
                    lag.to_send
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "?".into()),
                    lang.t("待接收", "to receive"),
                    if lag.to_receive > 0 {
                        lang.t("有", "yes")
                    } else {
                        lang.t("无", "no")
                    }
                ));
            }
        });
    }
}

/// The month-end link: where to, what is linked, what waits, the last error.
fn link_status(ui: &mut egui::Ui, lang: Lang, l: &node::net::LinkStatus) {
    ui.label(
        RichText::new(format!(
            "{} {}",
            lang.t("计分考核数据库", "Scoring database"),
            l.target
        ))
        .strong(),
    );
    let sealed = l.linked.values().filter(|m| m.sealed).count();
    ui.label(format!(
        "{} {sealed} · {} {}",
        lang.t("已关联的封存监区月度", "Sealed district-months linked"),
        lang.t("等待关联", "waiting"),
        l.waiting.len()
    ));
    if let Some(e) = &l.last_error {
        ui.colored_label(
            SHORT,
            format!("{} {e}", lang.t("最近错误：", "Last error:")),
        );
        if let Some(at) = l.next_attempt {
            let s = at.saturating_sub(u64::try_from(unix_now()).unwrap_or(0));
            ui.label(format!(
                "{} {s} {}",
                lang.t("将于", "Next attempt in"),
                lang.t("秒后重试", "s")
            ));
        }
    } else if l.last_success > 0 {
        ui.label(format!(
            "{} {}",
            lang.t("最近一次关联成功", "Last linked"),
            ago(lang, l.last_success)
        ));
    }
    if l.linked.is_empty() && l.waiting.is_empty() {
        return;
    }
    let headers = [
        lang.t("监区月度", "District-month"),
        lang.t("关联状态", "Link state"),
        lang.t("版本", "Version"),
        lang.t("报告摘要", "Report digest"),
    ];
    table(ui, "link", &headers, |ui| {
        for at in &l.waiting {
            ui.label(at);
            ui.colored_label(SHORT, lang.t("等待关联", "waiting"));
            ui.label(
                l.linked
                    .get(at)
                    .map(|m| m.version.to_string())
                    .unwrap_or_default(),
            );
            ui.label("");
            ui.end_row();
        }
        for (at, m) in l.linked.iter().filter(|(at, _)| !l.waiting.contains(at)) {
            ui.label(at);
            if m.sealed {
                ui.colored_label(OVER, lang.t("已关联（封存）", "linked (sealed)"));
            } else {
                ui.colored_label(
                    SHORT,
                    lang.t(
                        "封存后已修改（库中标记为未封存）",
                        "amended since its seal (marked unsealed there)",
                    ),
                );
            }
            ui.label(m.version.to_string());
            ui.label(RichText::new(m.digest.chars().take(16).collect::<String>()).monospace());
            ui.end_row();
        }
    });
}

/// "Not yet sent" (changes, summed over documents) and "not yet received"
/// (documents where the peer holds changes this PC lacks), as of the peer's
/// last message; while disconnected they are what stood apart then.
fn pending(lang: Lang, p: &node::net::PeerStatus) -> (String, String) {
    let mut changes = 0usize;
    let mut unknown = false;
    let mut behind = 0usize;
    for lag in p.lag.values() {
        match lag.to_send {
            Some(n) => changes += n,
            None => unknown = true,
        }
        if lag.to_receive > 0 {
            behind += 1;
        }
    }
    let send = if unknown {
        format!("≥{changes} {}", lang.t("条更改", "changes"))
    } else if changes == 0 {
        lang.t("无", "none").to_string()
    } else {
        format!("{changes} {}", lang.t("条更改", "changes"))
    };
    let receive = if behind == 0 {
        lang.t("无", "none").to_string()
    } else {
        format!("{behind} {}", lang.t("个文档", "documents"))
    };
    (send, receive)
}

/// Documents level with every connected peer, of all documents known here
/// or named by a peer.
pub(super) fn level_documents(st: &SyncStatus) -> (usize, usize) {
    let mut known: std::collections::BTreeSet<String> =
        st.heads.keys().map(ToString::to_string).collect();
    let mut apart = std::collections::BTreeSet::new();
    for p in st.peers.values().filter(|p| p.connected) {
        for doc in p.lag.keys() {
            known.insert(doc.clone());
            apart.insert(doc.clone());
        }
    }
    (known.len() - apart.len(), known.len())
}

/// 关于: which build this is (what an IT officer reports), and what draws it.
pub(super) fn about(ui: &mut egui::Ui, lang: Lang, renderer: Option<&str>) {
    ui.separator();
    ui.collapsing(lang.t("关于本程序", "About"), |ui| {
        ui.label(format!("tally-app {}", node::about::VERSION));
        for line in node::about::details().lines() {
            ui.label(line);
        }
        if let Some(r) = renderer {
            ui.label(format!("{} {r}", lang.t("渲染", "renderer")));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;

    /// The 同步 screen of a node whose database is down: where it links,
    /// what is linked (one amended since), what waits, the error.
    #[test]
    fn the_sync_screen_shows_the_link() {
        let mut linked = std::collections::BTreeMap::new();
        linked.insert(
            "D01/2026-10".to_string(),
            node::net::LinkedMonth {
                version: 2,
                sealed: true,
                digest: "ab".repeat(32),
            },
        );
        linked.insert(
            "D03/2026-10".to_string(),
            node::net::LinkedMonth {
                version: 1,
                sealed: false,
                digest: "cd".repeat(32),
            },
        );
        let st = SyncStatus {
            id: Some("e".repeat(64)),
            link: Some(node::net::LinkStatus {
                target: "tally@db:5432/jifen (TLS)".into(),
                linked,
                waiting: vec!["D02/2026-10".into()],
                last_error: Some("cannot connect to the scoring database".into()),
                next_attempt: Some(u64::MAX / 2),
                ..Default::default()
            }),
            ..SyncStatus::default()
        };
        let mut h = Harness::builder()
            .with_size([1280.0, 800.0])
            .with_context_setup(crate::fonts::install)
            .build_ui(|ui| sync_screen(ui, Lang::Zh, Some(&st)));
        h.run();
        h.get_by_label("计分考核数据库 tally@db:5432/jifen (TLS)");
        h.get_by_label("已关联的封存监区月度 1 · 等待关联 1");
        h.get_by_label("最近错误： cannot connect to the scoring database");
        assert_eq!(h.query_all_by_label("D02/2026-10").count(), 1);
        h.get_by_label("已关联（封存）");
        h.get_by_label("封存后已修改（库中标记为未封存）");
    }
}
