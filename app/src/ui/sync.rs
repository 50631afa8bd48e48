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
                "{} {e}",
                lang.t("同步节点未运行：", "Sync node not running:")
            ),
        );
        return;
    }
    let Some(id) = &st.id else {
        ui.spinner();
        return;
    };
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
    ui.separator();
    if st.peers.is_empty() {
        ui.label(lang.t("尚未连接任何节点", "No peer contacted yet"));
        return;
    }
    let headers = [
        lang.t("节点", "Peer"),
        lang.t("状态", "State"),
        lang.t("最近联系", "Last contact"),
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
            ui.label(format!("{} B", p.sent_change_bytes));
            ui.label(format!("{} B", p.received_change_bytes));
            ui.label(p.last_error.clone().unwrap_or_default());
            ui.end_row();
        }
    });
}
