//! The screens, drawn each frame from the app's state. No disk, no keys, no
//! waiting here: work is sent to the [`Backend`] and its replies are taken
//! at the start of each frame.

use std::path::PathBuf;

use crdt_schema::{Attendance, Date, DayType, DistrictId, ProcedureId};
use eframe::egui::{self, Color32, RichText};
use keys::Role;
use node::audit::AuditTrail;

use crate::backend::{Backend, DistrictView, Edit, Officer, Reply, Request};
use crate::sync::{SyncNode, SyncStatus};

/// The interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// The text in this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// How the app starts.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub data: PathBuf,
    pub lang: Lang,
    /// The date shown first (default: yesterday, the board's day).
    pub date: Option<Date>,
    /// Log in at start with this key file (passphrase from `TALLY_PASSPHRASE`).
    pub key_file: Option<PathBuf>,
    pub passphrase: Option<String>,
    /// Open on the big-screen board.
    pub big_screen: bool,
    /// Whether to run the embedded node.
    pub sync: SyncMode,
}

/// Whether and how the app runs its embedded node.
#[derive(Debug, Clone, Default)]
pub enum SyncMode {
    /// No node (tests, or a PC that only reads).
    #[default]
    Off,
    /// With `DATA/node.toml`'s settings, as `tally node run` would.
    FromConfig,
    /// With these settings.
    With(node::net::NodeOptions),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Entry,
    Board,
    Scores,
    Approvals,
    Sync,
}

/// One editable line of the daily entry grid (text as typed).
#[derive(Debug, Clone, Default)]
struct GridRow {
    day_type: Option<DayType>,
    minutes: String,
    procedure: Option<ProcedureId>,
    count: String,
    dirty: bool,
}

struct Main {
    officer: Officer,
    districts: Vec<(DistrictId, String)>,
    district: DistrictId,
    date: Date,
    date_text: String,
    tab: Tab,
    view: Option<DistrictView>,
    grid: Vec<GridRow>,
    audit: Option<AuditTrail>,
    big_screen: bool,
    board_page: usize,
    /// Shown under the tabs: (is an error, text).
    notice: Option<(bool, String)>,
    /// `egui` time of the last automatic reload.
    loaded_at: f64,
}

enum Screen {
    Login {
        key_file: String,
        passphrase: String,
        error: Option<String>,
    },
    Main(Box<Main>),
}

pub struct TallyApp {
    lang: Lang,
    backend: Backend,
    screen: Screen,
    start_date: Option<Date>,
    start_big_screen: bool,
    /// Where the title was drawn last frame (points), for the screenshot check.
    pub title_rect: Option<egui::Rect>,
    sync: Option<SyncNode>,
    /// The sync generation the loaded view reflects.
    seen_generation: u64,
}

fn yesterday() -> Date {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    node::validate::date_of(now - 86_400)
        .or_else(|| Date::from_ordinal(0))
        .expect("a date")
}

/// Colours of the board: short red, over green.
const SHORT: Color32 = Color32::from_rgb(200, 40, 40);
const OVER: Color32 = Color32::from_rgb(20, 140, 60);

fn day_type_label(lang: Lang, d: DayType) -> &'static str {
    match lang {
        Lang::Zh => d.label_zh(),
        Lang::En => d.as_str(),
    }
}

/// A count as typed: empty, or a whole number ≥ 0.
fn parse_count(s: &str) -> Result<Option<u64>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<u64>()
        .map(Some)
        .map_err(|_| "数量须为非负整数 / count must be a whole number ≥ 0")
}

/// Minutes as typed: empty (the rule set's default) or 0..=1440.
fn parse_minutes(s: &str) -> Result<Option<u32>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(m) if m <= 1440 => Ok(Some(m)),
        _ => Err("分钟须为 0–1440 / minutes must be 0–1440"),
    }
}

impl TallyApp {
    /// `wake` repaints the UI when the backend has a reply (eframe's
    /// `request_repaint`; tests pass a no-op and step).
    pub fn new(opts: Options, ctx: &egui::Context) -> TallyApp {
        crate::fonts::install(ctx);
        let c = ctx.clone();
        TallyApp::with_wake(opts, move || c.request_repaint())
    }

    /// The app with `wake` called whenever the backend has a reply (tests).
    pub fn with_wake(opts: Options, wake: impl Fn() + Send + Sync + 'static) -> TallyApp {
        let wake = std::sync::Arc::new(wake);
        let w = wake.clone();
        let mut backend = Backend::spawn(opts.data.clone(), move || w());
        let w = wake.clone();
        let sync = match &opts.sync {
            SyncMode::Off => None,
            SyncMode::FromConfig => Some(SyncNode::start(opts.data.clone(), None, move || w())),
            SyncMode::With(o) => Some(SyncNode::start(
                opts.data.clone(),
                Some(o.clone()),
                move || w(),
            )),
        };
        let mut key_file = String::new();
        if let (Some(k), Some(p)) = (&opts.key_file, &opts.passphrase) {
            key_file = k.display().to_string();
            backend.send(Request::Login {
                key_file: k.clone(),
                passphrase: p.clone(),
            });
        }
        TallyApp {
            lang: opts.lang,
            backend,
            screen: Screen::Login {
                key_file,
                passphrase: String::new(),
                error: None,
            },
            start_date: opts.date,
            start_big_screen: opts.big_screen,
            title_rect: None,
            sync,
            seen_generation: 0,
        }
    }

    /// The officer logged in, if any.
    pub fn officer(&self) -> Option<&Officer> {
        match &self.screen {
            Screen::Main(m) => Some(&m.officer),
            Screen::Login { .. } => None,
        }
    }

    /// The loaded view, if any.
    pub fn view(&self) -> Option<&DistrictView> {
        match &self.screen {
            Screen::Main(m) => m.view.as_ref(),
            Screen::Login { .. } => None,
        }
    }

    /// Whether the backend still owes replies.
    pub fn busy(&self) -> bool {
        self.backend.busy()
    }

    /// Sends a request as a screen would (tests and tools).
    pub fn request(&mut self, r: Request) {
        self.backend.send(r);
    }

    /// The message under the tabs: (is an error, text).
    pub fn notice(&self) -> Option<&(bool, String)> {
        match &self.screen {
            Screen::Main(m) => m.notice.as_ref(),
            Screen::Login { .. } => None,
        }
    }

    /// The login screen's error, if shown.
    pub fn login_error(&self) -> Option<&str> {
        match &self.screen {
            Screen::Login { error, .. } => error.as_deref(),
            Screen::Main(_) => None,
        }
    }

    fn take_replies(&mut self) {
        while let Some(reply) = self.backend.try_recv() {
            match reply {
                Reply::LoggedIn { officer, districts } => {
                    let district = officer
                        .district
                        .clone()
                        .or_else(|| districts.first().map(|(d, _)| d.clone()));
                    let Some(district) = district else {
                        self.screen = Screen::Login {
                            key_file: String::new(),
                            passphrase: String::new(),
                            error: Some(
                                "这个监狱还没有监区 / the prison has no districts yet".into(),
                            ),
                        };
                        continue;
                    };
                    let date = self.start_date.unwrap_or_else(yesterday);
                    let tab = if officer.writes_daily_records_of(&district) {
                        Tab::Entry
                    } else {
                        Tab::Board
                    };
                    self.backend.send(Request::Load {
                        district: district.clone(),
                        date,
                    });
                    self.screen = Screen::Main(Box::new(Main {
                        officer,
                        districts,
                        district,
                        date,
                        date_text: date.to_string(),
                        tab: if self.start_big_screen {
                            Tab::Board
                        } else {
                            tab
                        },
                        view: None,
                        grid: Vec::new(),
                        audit: None,
                        big_screen: self.start_big_screen,
                        board_page: 0,
                        notice: None,
                        loaded_at: 0.0,
                    }));
                }
                Reply::LoginFailed(e) => {
                    if let Screen::Login { error, .. } = &mut self.screen {
                        *error = Some(e);
                    }
                }
                Reply::Loaded(v) => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.grid = v
                            .rows
                            .iter()
                            .map(|r| {
                                let first = r.counts.first();
                                GridRow {
                                    day_type: r.attendance.as_ref().map(|a| a.day_type),
                                    minutes: r
                                        .attendance
                                        .as_ref()
                                        .and_then(|a| a.minutes)
                                        .map(|x| x.to_string())
                                        .unwrap_or_default(),
                                    procedure: first.map(|(p, _)| p.clone()),
                                    count: first.map(|(_, q)| q.to_string()).unwrap_or_default(),
                                    dirty: false,
                                }
                            })
                            .collect();
                        m.view = Some(*v);
                    }
                }
                Reply::Saved { changes } => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.notice = Some((
                            false,
                            format!("已保存并签名 / saved and signed ({changes} change)"),
                        ));
                        self.backend.send(Request::Load {
                            district: m.district.clone(),
                            date: m.date,
                        });
                    }
                }
                Reply::SaveFailed(e) | Reply::Failed(e) => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.notice = Some((true, e));
                    }
                }
                Reply::Audit(t) => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.audit = Some(*t);
                    }
                }
            }
        }
    }

    /// The embedded node's status, if it runs.
    pub fn sync_status(&self) -> Option<SyncStatus> {
        self.sync.as_ref().map(SyncNode::status)
    }

    /// Draws one frame.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        self.take_replies();
        let status = self.sync_status();
        // Peers brought changes: show them (the big screen refreshes itself).
        if let (Some(st), Screen::Main(m)) = (&status, &self.screen)
            && st.generation != self.seen_generation
        {
            self.seen_generation = st.generation;
            self.backend.send(Request::Load {
                district: m.district.clone(),
                date: m.date,
            });
        }
        let lang = self.lang;
        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                let title = ui.heading(lang.t("劳动改造计分", "Labor scores"));
                self.title_rect = Some(title.rect);
                if let Screen::Main(m) = &self.screen {
                    ui.separator();
                    ui.label(format!(
                        "{} {} · {}",
                        m.officer.officer_no,
                        m.officer.name,
                        role_label(lang, m.officer.role)
                    ));
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let other = match lang {
                        Lang::Zh => "English",
                        Lang::En => "中文",
                    };
                    if ui.button(other).clicked() {
                        self.lang = match lang {
                            Lang::Zh => Lang::En,
                            Lang::En => Lang::Zh,
                        };
                    }
                    if self.backend.busy() {
                        ui.spinner();
                    }
                });
            });
        });
        let mut requests = Vec::new();
        egui::CentralPanel::default().show(ui, |ui| match &mut self.screen {
            Screen::Login {
                key_file,
                passphrase,
                error,
            } => {
                if let Some(r) = login(ui, lang, key_file, passphrase, error.as_deref()) {
                    *error = None;
                    requests.push(r);
                }
            }
            Screen::Main(m) => requests.extend(main_screen(ui, lang, m, status.as_ref())),
        });
        for r in requests {
            self.backend.send(r);
        }
    }
}

fn role_label(lang: Lang, r: Role) -> &'static str {
    match r {
        Role::Officer => lang.t("民警", "officer"),
        Role::Chief => lang.t("监区长", "chief"),
        Role::LaborSection => lang.t("劳动改造科", "labor section"),
        Role::Records => lang.t("狱政档案", "records"),
        Role::Procurator => lang.t("驻监检察室", "procurator"),
        Role::Admin => lang.t("管理员", "admin"),
    }
}

fn login(
    ui: &mut egui::Ui,
    lang: Lang,
    key_file: &mut String,
    passphrase: &mut String,
    error: Option<&str>,
) -> Option<Request> {
    let mut submit = false;
    ui.add_space(24.0);
    ui.heading(lang.t("登录", "Log in"));
    egui::Grid::new("login").num_columns(2).show(ui, |ui| {
        let l = ui.label(lang.t("密钥文件", "Key file"));
        ui.add(egui::TextEdit::singleline(key_file).desired_width(420.0))
            .labelled_by(l.id);
        ui.end_row();
        let l = ui.label(lang.t("口令", "Passphrase"));
        let r = ui
            .add(egui::TextEdit::singleline(passphrase).password(true))
            .labelled_by(l.id);
        if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            submit = true;
        }
        ui.end_row();
    });
    if ui.button(lang.t("登录", "Log in")).clicked() {
        submit = true;
    }
    if let Some(e) = error {
        ui.colored_label(SHORT, e);
    }
    if submit && !key_file.trim().is_empty() {
        return Some(Request::Login {
            key_file: PathBuf::from(key_file.trim()),
            passphrase: std::mem::take(passphrase),
        });
    }
    None
}

fn main_screen(
    ui: &mut egui::Ui,
    lang: Lang,
    m: &mut Main,
    sync: Option<&SyncStatus>,
) -> Vec<Request> {
    let mut out = Vec::new();
    if m.big_screen {
        if ui.button(lang.t("退出大屏", "Leave big screen")).clicked() {
            m.big_screen = false;
        }
        if let Some(v) = &m.view {
            big_board(ui, lang, v, &mut m.board_page);
        }
        return out;
    }
    ui.horizontal(|ui| {
        let chief = matches!(m.officer.role, Role::Chief | Role::Admin);
        for (tab, zh, en) in [
            (Tab::Entry, "今日录入", "Daily entry"),
            (Tab::Board, "劳动日记载", "Daily board"),
            (Tab::Scores, "月度考核", "Monthly scores"),
            (Tab::Approvals, "审批", "Approvals"),
            (Tab::Sync, "同步", "Sync"),
        ] {
            if tab == Tab::Approvals && !chief {
                continue;
            }
            if ui.selectable_label(m.tab == tab, lang.t(zh, en)).clicked() {
                m.tab = tab;
                m.notice = None;
            }
        }
        ui.separator();
        let l = ui.label(lang.t("监区", "District"));
        let current = m.district.clone();
        egui::ComboBox::from_id_salt("district")
            .selected_text(current.to_string())
            .show_ui(ui, |ui| {
                for (d, name) in &m.districts {
                    ui.selectable_value(&mut m.district, d.clone(), format!("{d} {name}"));
                }
            })
            .response
            .labelled_by(l.id);
        let l = ui.label(lang.t("日期", "Date"));
        let r = ui
            .add(egui::TextEdit::singleline(&mut m.date_text).desired_width(96.0))
            .labelled_by(l.id);
        let date_ok = m.date_text.trim().parse::<Date>();
        if r.lost_focus() || m.district != current {
            match date_ok {
                Ok(d) => {
                    m.date = d;
                    out.push(Request::Load {
                        district: m.district.clone(),
                        date: d,
                    });
                }
                Err(_) => {
                    m.notice = Some((
                        true,
                        "日期格式应为 YYYY-MM-DD / date must be YYYY-MM-DD".into(),
                    ))
                }
            }
        }
        if ui.button(lang.t("刷新", "Refresh")).clicked() {
            out.push(Request::Load {
                district: m.district.clone(),
                date: m.date,
            });
        }
    });
    if let Some((err, text)) = &m.notice {
        ui.colored_label(if *err { SHORT } else { OVER }, text);
    }
    ui.separator();
    let Some(view) = &m.view else {
        ui.spinner();
        return out;
    };
    match m.tab {
        Tab::Entry => {
            if m.officer.writes_daily_records_of(&view.district) {
                if let Some(r) = entry(ui, lang, view, &mut m.grid) {
                    out.push(r);
                }
            } else {
                ui.colored_label(
                    SHORT,
                    format!(
                        "{} {} ({}) {} {}",
                        lang.t("无权录入：", "Not allowed:"),
                        m.officer.officer_no,
                        role_label(lang, m.officer.role),
                        lang.t(
                            "不能录入该监区的日常记录",
                            "may not enter the daily records of"
                        ),
                        view.district
                    ),
                );
            }
        }
        Tab::Board => {
            if ui.button(lang.t("大屏显示", "Big screen")).clicked() {
                m.big_screen = true;
            }
            board(ui, lang, view);
        }
        Tab::Scores => {
            if let Some(r) = scores(ui, lang, view, m.audit.as_ref()) {
                out.push(r);
            }
        }
        Tab::Approvals => out.extend(approvals(ui, lang, view)),
        Tab::Sync => sync_screen(ui, lang, sync),
    }
    out
}

/// Seconds since the Unix epoch, for "last contact … ago".
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn ago(lang: Lang, t: u64) -> String {
    if t == 0 {
        return lang.t("从未", "never").to_string();
    }
    let s = unix_now().saturating_sub(t);
    match s {
        0..60 => format!("{s} {}", lang.t("秒前", "s ago")),
        60..3600 => format!("{} {}", s / 60, lang.t("分钟前", "min ago")),
        _ => format!("{} {}", s / 3600, lang.t("小时前", "h ago")),
    }
}

/// 同步: this PC's node, its peers, last contact, what crossed.
fn sync_screen(ui: &mut egui::Ui, lang: Lang, sync: Option<&SyncStatus>) {
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

/// The chief's screen: conflicts side by side, pending bonuses and
/// deductions, unconfirmed records, the seal.
fn approvals(ui: &mut egui::Ui, lang: Lang, v: &DistrictView) -> Option<Request> {
    let mut req = None;
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            ui.heading(lang.t("数据冲突", "Conflicts"));
            if v.conflicts.is_empty() {
                ui.label(lang.t("没有冲突", "No conflicts"));
            }
            for c in &v.conflicts {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(format!("{} {}", c.inmate_no, c.key)).monospace());
                    for val in &c.values {
                        let text = format!(
                            "{} {} ({})",
                            lang.t("采用", "Keep"),
                            val.value,
                            val.written_by
                        );
                        if ui
                            .button(text)
                            .accessible_name(format!("{} {}", lang.t("采用", "Keep"), val.value))
                            .clicked()
                        {
                            req = Some(Request::Resolve {
                                district: v.district.clone(),
                                month: v.month,
                                key: c.key.clone(),
                                value: val.value.clone(),
                            });
                        }
                    }
                });
            }
            ui.separator();
            ui.heading(lang.t("待审批", "Awaiting approval"));
            let pending: Vec<_> = v
                .report
                .body
                .inmates
                .iter()
                .filter(|r| r.pending_bonus_cp.0 != 0 || r.pending_deduct_cp.0 != 0)
                .collect();
            if pending.is_empty() {
                ui.label(lang.t("没有待审批的加扣分", "Nothing awaits approval"));
            }
            for r in pending {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "{}  {} {}  {} {}",
                        r.inmate_no,
                        lang.t("待批加分", "bonus"),
                        r.pending_bonus_cp,
                        lang.t("待批扣分", "deduction"),
                        r.pending_deduct_cp
                    ));
                    if ui
                        .button(lang.t("批准", "Approve"))
                        .accessible_name(format!("{} {}", lang.t("批准", "Approve"), r.inmate_no))
                        .clicked()
                    {
                        req = Some(Request::Approve {
                            district: v.district.clone(),
                            month: v.month,
                            inmate: r.inmate_no.clone(),
                        });
                    }
                });
            }
            ui.separator();
            let unconfirmed = v
                .report
                .body
                .inmates
                .iter()
                .filter(|r| r.flags.contains(&crdt_schema::Flag::Unconfirmed))
                .count();
            ui.label(format!(
                "{}: {unconfirmed}",
                lang.t("有未确认记录的人数", "Inmates with unconfirmed records")
            ));
            ui.separator();
            ui.heading(lang.t("封存", "Seal"));
            match &v.report.seal {
                Some(seal) if seal.current => {
                    ui.colored_label(
                        OVER,
                        lang.t(
                            "本月已封存，报告与封存一致",
                            "Sealed; the report matches the seal",
                        ),
                    );
                }
                Some(seal) => {
                    ui.colored_label(
                        SHORT,
                        format!(
                            "{} ({} {})",
                            lang.t("封存后有修改", "Amended after the seal"),
                            seal.amended,
                            lang.t("人", "inmates")
                        ),
                    );
                }
                None => {
                    ui.label(lang.t("本月尚未封存", "Not sealed yet"));
                }
            }
            let can_seal = v.conflicts.is_empty();
            let label = if v.report.seal.is_some() {
                lang.t("重新封存", "Re-seal")
            } else {
                lang.t("封存本月", "Seal the month")
            };
            if ui.add_enabled(can_seal, egui::Button::new(label)).clicked() {
                req = Some(Request::Seal {
                    district: v.district.clone(),
                    month: v.month,
                });
            }
            if !can_seal {
                ui.colored_label(
                    SHORT,
                    lang.t("先解决冲突再封存", "Resolve the conflicts before sealing"),
                );
            }
        });
    req
}

/// The daily entry grid: one signed change per save.
fn entry(ui: &mut egui::Ui, lang: Lang, v: &DistrictView, grid: &mut [GridRow]) -> Option<Request> {
    let mut errors = 0;
    let dirty = grid.iter().filter(|g| g.dirty).count();
    let mut save = false;
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} {} {} · {}",
            v.district,
            v.district_name,
            v.date,
            lang.t("Tab 换格，Enter 下一行", "Tab: next field, Enter: next row")
        ));
        if ui
            .add_enabled(dirty > 0, egui::Button::new(lang.t("保存", "Save")))
            .clicked()
        {
            save = true;
        }
        ui.label(format!("{dirty} {}", lang.t("行已修改", "rows changed")));
    });
    let row_h = 24.0;
    let mut focus_next: Option<usize> = None;
    egui::ScrollArea::vertical().auto_shrink(false).show_rows(
        ui,
        row_h,
        v.rows.len(),
        |ui, range| {
            let headers = [
                lang.t("编号", "No."),
                lang.t("姓名", "Name"),
                lang.t("出勤", "Day type"),
                lang.t("分钟", "Minutes"),
                lang.t("工序", "Procedure"),
                lang.t("数量", "Count"),
                "",
            ];
            table(ui, "entry", &headers, |ui| {
                for i in range {
                    let (row, g) = (&v.rows[i], &mut grid[i]);
                    ui.label(row.inmate_no.to_string());
                    ui.label(&row.name);
                    let before = g.clone();
                    egui::ComboBox::from_id_salt(("day", i))
                        .selected_text(g.day_type.map(|d| day_type_label(lang, d)).unwrap_or("—"))
                        .show_ui(ui, |ui| {
                            for d in DayType::ALL {
                                ui.selectable_value(
                                    &mut g.day_type,
                                    Some(d),
                                    day_type_label(lang, d),
                                );
                            }
                        })
                        .response
                        .accessible_name(format!(
                            "{} {}",
                            lang.t("出勤", "Day type"),
                            row.inmate_no
                        ));
                    // A grid cell is only as wide as its column was last
                    // frame: fixed sizes, or fields never grow.
                    ui.add_sized(
                        [56.0, 20.0],
                        egui::TextEdit::singleline(&mut g.minutes)
                            .hint_text(lang.t("默认", "default")),
                    )
                    .accessible_name(format!(
                        "{} {}",
                        lang.t("分钟", "Minutes"),
                        row.inmate_no
                    ));
                    egui::ComboBox::from_id_salt(("proc", i))
                        .selected_text(
                            g.procedure
                                .as_ref()
                                .map(|p| p.to_string())
                                .unwrap_or_else(|| "—".into()),
                        )
                        .show_ui(ui, |ui| {
                            for (p, name) in &v.procedures {
                                ui.selectable_value(
                                    &mut g.procedure,
                                    Some(p.clone()),
                                    format!("{p} {name}"),
                                );
                            }
                        })
                        .response
                        .accessible_name(format!(
                            "{} {}",
                            lang.t("工序", "Procedure"),
                            row.inmate_no
                        ));
                    let count_id = egui::Id::unique(("count", i));
                    let r = ui
                        .add_sized(
                            [96.0, 20.0],
                            egui::TextEdit::singleline(&mut g.count).id(count_id),
                        )
                        .accessible_name(format!("{} {}", lang.t("数量", "Count"), row.inmate_no));
                    if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                        focus_next = Some(i + 1);
                    }
                    if g.day_type != before.day_type
                        || g.minutes != before.minutes
                        || g.procedure != before.procedure
                        || g.count != before.count
                    {
                        g.dirty = true;
                    }
                    let problem = parse_count(&g.count)
                        .err()
                        .or_else(|| parse_minutes(&g.minutes).err())
                        .or_else(|| {
                            (!g.count.trim().is_empty() && g.procedure.is_none())
                                .then_some("请选择工序 / pick a procedure")
                        });
                    if let Some(p) = problem {
                        errors += 1;
                        ui.colored_label(SHORT, p);
                    } else if row.conflict {
                        ui.colored_label(SHORT, lang.t("冲突", "conflict"));
                    } else if g.dirty {
                        ui.label(lang.t("未保存", "unsaved"));
                    } else {
                        ui.label("");
                    }
                    ui.end_row();
                }
            });
        },
    );
    if let Some(n) = focus_next
        && n < v.rows.len()
    {
        ui.memory_mut(|m| m.request_focus(egui::Id::unique(("count", n))));
    }
    if !save {
        return None;
    }
    if errors > 0 {
        return None;
    }
    let edits: Vec<Edit> = v
        .rows
        .iter()
        .zip(grid.iter())
        .filter(|(_, g)| g.dirty)
        .map(|(row, g)| Edit {
            inmate_no: row.inmate_no.clone(),
            attendance: g.day_type.map(|d| Attendance {
                day_type: d,
                minutes: parse_minutes(&g.minutes).ok().flatten(),
                grade: row
                    .attendance
                    .as_ref()
                    .map(|a| a.grade)
                    .unwrap_or(crdt_schema::Grade::Default),
            }),
            count: match (&g.procedure, parse_count(&g.count).ok().flatten()) {
                (Some(p), Some(q)) => Some((p.clone(), q)),
                _ => None,
            },
        })
        .collect();
    Some(Request::Save {
        district: v.district.clone(),
        date: v.date,
        edits,
    })
}

fn board(ui: &mut egui::Ui, lang: Lang, v: &DistrictView) {
    ui.label(format!(
        "{} {} {} · {} {}",
        lang.t("劳动日记载", "Daily board"),
        v.district,
        v.district_name,
        v.date,
        v.board.rule_set
    ));
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            let headers = [
                lang.t("编号", "No."),
                lang.t("姓名", "Name"),
                lang.t("出勤", "Day type"),
                lang.t("定额", "Quota"),
                lang.t("完成", "Done"),
                lang.t("超额", "Over"),
                lang.t("欠额", "Short"),
                lang.t("完成率", "Rate"),
            ];
            table(ui, "board", &headers, |ui| {
                for r in &v.board.rows {
                    board_row(ui, lang, r, 14.0);
                }
            });
        });
}

/// A striped grid with a header row; `rows` adds the rest, each ending
/// with `end_row`.
fn table(ui: &mut egui::Ui, id: &str, headers: &[&str], rows: impl FnOnce(&mut egui::Ui)) {
    egui::Grid::new(id)
        .striped(true)
        .num_columns(headers.len())
        .show(ui, |ui| {
            for h in headers {
                ui.strong(*h);
            }
            ui.end_row();
            rows(ui);
        });
}

fn board_row(ui: &mut egui::Ui, lang: Lang, r: &crdt_schema::BoardRow, size: f32) {
    let t = |s: String| RichText::new(s).size(size);
    ui.label(t(r.inmate_no.to_string()));
    ui.label(t(r.name.clone()));
    ui.label(t(r
        .day_type
        .map(|d| day_type_label(lang, d).to_string())
        .unwrap_or_else(|| "—".into())));
    ui.label(t(r.quota.to_string()));
    ui.label(t(r.done.to_string()));
    ui.label(
        t(if r.over > 0 {
            r.over.to_string()
        } else {
            String::new()
        })
        .color(OVER),
    );
    ui.label(
        t(if r.short > 0 {
            r.short.to_string()
        } else {
            String::new()
        })
        .color(SHORT),
    );
    let rate = r.rate_bp.map(|b| b.to_string()).unwrap_or_default();
    let color = if r.short > 0 { SHORT } else { OVER };
    ui.label(t(rate).color(color));
    ui.end_row();
}

/// The wall-screen board: large type, paged to fit, refreshed as data arrives.
fn big_board(ui: &mut egui::Ui, lang: Lang, v: &DistrictView, page: &mut usize) {
    let size = 28.0;
    let per_page = ((ui.available_height() - 80.0) / (size * 1.5)).max(1.0) as usize;
    let pages = v.board.rows.len().div_ceil(per_page).max(1);
    *page = (*page).min(pages - 1);
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "{} {} {} · {}",
                lang.t("劳动日记载", "Daily board"),
                v.district_name,
                v.date,
                format_args!("{}/{}", *page + 1, pages)
            ))
            .size(size),
        );
        if ui.button(RichText::new("◀").size(size)).clicked() && *page > 0 {
            *page -= 1;
        }
        if ui.button(RichText::new("▶").size(size)).clicked() {
            *page = (*page + 1) % pages;
        }
    });
    egui::Grid::new("big")
        .striped(true)
        .num_columns(8)
        .show(ui, |ui| {
            for r in v.board.rows.iter().skip(*page * per_page).take(per_page) {
                board_row(ui, lang, r, size);
            }
        });
}

fn scores(
    ui: &mut egui::Ui,
    lang: Lang,
    v: &DistrictView,
    audit: Option<&AuditTrail>,
) -> Option<Request> {
    let mut req = None;
    ui.label(format!(
        "{} {} {} · digest {}",
        lang.t("月度考核", "Monthly scores"),
        v.district,
        v.month,
        &v.report.digest.0[..16.min(v.report.digest.0.len())]
    ));
    ui.columns(2, |cols| {
        egui::ScrollArea::vertical()
            .id_salt("scores")
            .auto_shrink(false)
            .show(&mut cols[0], |ui| {
                let headers = [
                    lang.t("编号", "No."),
                    lang.t("基础分", "Base"),
                    lang.t("加分", "Bonus"),
                    lang.t("扣分", "Deduct"),
                    lang.t("劳动分", "Labor score"),
                    lang.t("标记", "Flags"),
                ];
                table(ui, "scores", &headers, |ui| {
                    for r in &v.report.body.inmates {
                        ui.label(r.inmate_no.to_string());
                        ui.label(r.base_cp.to_string());
                        ui.label(r.bonus_cp.to_string());
                        ui.label(r.deduct_cp.to_string());
                        let b = ui.button(r.labor_cp.to_string()).accessible_name(format!(
                            "{} {}",
                            lang.t("劳动分", "Labor score"),
                            r.inmate_no
                        ));
                        if b.clicked() {
                            req = Some(Request::Audit {
                                district: v.district.clone(),
                                month: v.month,
                                inmate: r.inmate_no.clone(),
                            });
                        }
                        let flags: Vec<&str> = r
                            .flags
                            .iter()
                            .map(|f| match lang {
                                Lang::Zh => f.label_zh(),
                                Lang::En => f.as_str(),
                            })
                            .collect();
                        ui.colored_label(SHORT, flags.join(" "));
                        ui.end_row();
                    }
                });
            });
        let ui = &mut cols[1];
        match audit {
            None => {
                ui.label(lang.t(
                    "点击劳动分查看签名记录",
                    "Click a score to see the signed changes behind it",
                ));
            }
            Some(t) => audit_trail(ui, lang, t),
        }
    });
    req
}

fn audit_trail(ui: &mut egui::Ui, lang: Lang, t: &AuditTrail) {
    ui.strong(format!(
        "{} {} {}",
        lang.t("签名记录", "Audit trail"),
        t.inmate_no,
        t.month
    ));
    egui::ScrollArea::vertical()
        .id_salt("audit")
        .show(ui, |ui| {
            for rec in &t.records {
                ui.label(RichText::new(&rec.key).monospace());
                for w in &rec.writes {
                    let who = format!(
                        "{} {}",
                        w.officer_no.as_deref().unwrap_or("?"),
                        w.name.as_deref().unwrap_or("")
                    );
                    let status = match lang {
                        Lang::Zh => w.signature.label_zh(),
                        Lang::En => match w.signature {
                            node::audit::SignatureStatus::Valid => "signature valid",
                            node::audit::SignatureStatus::Invalid => "signature INVALID",
                            node::audit::SignatureStatus::Missing => "no signature",
                        },
                    };
                    ui.label(format!(
                        "  {} {} → {} · {}{}",
                        w.date.as_deref().unwrap_or(""),
                        who,
                        w.value.as_deref().unwrap_or("∅"),
                        status,
                        if w.current { " ✔" } else { "" }
                    ));
                }
            }
        });
}

impl eframe::App for TallyApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
        // Data other writers save arrives without input: reload now and then
        // (the big screen refreshes itself this way).
        if let Screen::Main(m) = &mut self.screen
            && !self.backend.busy()
            && ui.input(|i| i.time) - m.loaded_at > 10.0
        {
            m.loaded_at = ui.input(|i| i.time);
            self.backend.send(Request::Load {
                district: m.district.clone(),
                date: m.date,
            });
        }
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs(10));
    }
}
