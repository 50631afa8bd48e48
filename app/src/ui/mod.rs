//! The screens, drawn each frame from the app's state. No disk, no keys, no
//! waiting here: work is sent to the [`Backend`] and its replies are taken
//! at the start of each frame.

mod approvals;
mod board;
mod charts;
mod entry;
mod ime;
mod login;
mod look;
mod picker;
mod procedures;
mod replies;
mod review;
mod roster;
mod rules;
mod scores;
mod sync;
mod transfer;
mod words;

use std::path::PathBuf;

use crdt_schema::schema::RecordClass;
use crdt_schema::{Date, DistrictId, DocId};
use eframe::egui;
use node::audit::AuditTrail;

use crate::backend::{Backend, Catalog, DistrictView, Officer, Progress, Request};
use crate::clock::yesterday;
use crate::sync::{SyncNode, SyncStatus};
use look::{OVER, SHORT, role_label};

/// Seconds between reloads of the shown district when nothing else asks.
const RELOAD_SECONDS: f64 = 10.0;

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
    /// What draws the window (`glow` or `wgpu`), for the About lines.
    pub renderer: Option<&'static str>,
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

/// The screens, in the order of the tab bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Entry,
    Board,
    Scores,
    Charts,
    Approvals,
    Procedures,
    Roster,
    Rules,
    Transfer,
    Sync,
}

impl Tab {
    const ALL: [Tab; 10] = [
        Tab::Entry,
        Tab::Board,
        Tab::Scores,
        Tab::Charts,
        Tab::Approvals,
        Tab::Procedures,
        Tab::Roster,
        Tab::Rules,
        Tab::Transfer,
        Tab::Sync,
    ];

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Tab::Entry => lang.t("今日录入", "Daily entry"),
            Tab::Board => lang.t("劳动日记载", "Daily board"),
            Tab::Scores => lang.t("月度考核", "Monthly scores"),
            Tab::Charts => lang.t("效率曲线", "Charts"),
            Tab::Approvals => lang.t("审批", "Approvals"),
            Tab::Procedures => lang.t("工序定额", "Procedures"),
            Tab::Roster => lang.t("人员", "Roster"),
            Tab::Rules => lang.t("规则版本", "Rule sets"),
            Tab::Transfer => lang.t("导入导出", "Import/export"),
            Tab::Sync => lang.t("同步", "Sync"),
        }
    }
}

struct Main {
    officer: Officer,
    districts: Vec<(DistrictId, String)>,
    district: DistrictId,
    date: Date,
    date_text: String,
    tab: Tab,
    view: Option<DistrictView>,
    entry: entry::EntryScreen,
    approvals: approvals::ApprovalsScreen,
    audit: Option<AuditTrail>,
    /// The 加扣分 form beside an inmate's figures.
    adjust: scores::AdjustForm,
    catalog: Option<Catalog>,
    procedures: procedures::ProceduresScreen,
    roster: roster::RosterScreen,
    rules: rules::RulesScreen,
    charts: charts::ChartsScreen,
    transfer: transfer::TransferScreen,
    big_screen: bool,
    /// Whether the window was last asked to be full screen (follows
    /// `big_screen`).
    full_screen: bool,
    board: board::BoardScreen,
    /// When the shown view was read, "HH:MM:SS" China Standard Time.
    loaded_time: String,
    /// Shown under the tabs: (is an error, text).
    notice: Option<(bool, String)>,
    /// `egui` time of the last automatic reload.
    loaded_at: f64,
    /// The day shown is yesterday's and moves on with the clock (not chosen
    /// by hand): a wall screen left running shows each new day.
    follow_yesterday: bool,
    /// Why the district could not be read (cleared by the next load).
    load_error: Option<String>,
}

impl Main {
    /// Moves to `district` on `date` — the load to ask for — unless typed
    /// rows of the entry grid would be left behind (then it stays, and the
    /// notice says why).
    fn go_to(&mut self, lang: Lang, district: DistrictId, date: Date) -> Option<Request> {
        let unsaved = self.entry.unsaved();
        if unsaved > 0 && (date != self.date || district != self.district) {
            self.date_text = self.date.to_string();
            self.notice = Some((
                true,
                match lang {
                    Lang::Zh => {
                        format!("有 {unsaved} 行未保存：请先保存或放弃修改，再换日期或监区")
                    }
                    Lang::En => format!(
                        "{unsaved} rows are not saved: save or discard them before changing the date or district"
                    ),
                },
            ));
            return None;
        }
        if date != self.date {
            // Chosen by hand: the day no longer follows the clock.
            self.follow_yesterday = false;
        }
        self.district = district;
        self.date = date;
        self.date_text = date.to_string();
        Some(Request::Load {
            district: self.district.clone(),
            date,
        })
    }
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
    /// Long work under way, shown as a progress bar.
    progress: Option<Progress>,
    /// The data directory (where the file picker starts; never read here).
    data: PathBuf,
    picker: picker::Picker,
    /// The window was asked to close with unsaved rows: asking first.
    confirm_close: bool,
    /// The officer chose to close without saving.
    closing: bool,
    /// Views loaded so far (tests see the reloads happen).
    loads: u64,
    /// What draws the window, for the About lines on the 同步 screen.
    renderer: Option<&'static str>,
    /// Keys that confirm an input method's composition are its own.
    ime: ime::ImeGuard,
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
            progress: None,
            data: opts.data,
            picker: Default::default(),
            confirm_close: false,
            closing: false,
            loads: 0,
            renderer: opts.renderer,
            ime: Default::default(),
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

    /// The catalogue and roster, once a screen asked for them.
    pub fn catalog(&self) -> Option<&Catalog> {
        match &self.screen {
            Screen::Main(m) => m.catalog.as_ref(),
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

    /// How many times a district view has been loaded.
    pub fn loads(&self) -> u64 {
        self.loads
    }

    /// The prison's districts, once logged in.
    pub fn districts(&self) -> &[(DistrictId, String)] {
        match &self.screen {
            Screen::Main(m) => &m.districts,
            Screen::Login { .. } => &[],
        }
    }

    /// Shows another district, as its picker does.
    pub fn show_district(&mut self, district: DistrictId) {
        if let Screen::Main(m) = &mut self.screen
            && let Some(r) = m.go_to(self.lang, district, m.date)
        {
            self.backend.send(r);
        }
    }

    /// Rows of the entry grid with unsaved edits.
    pub fn unsaved_rows(&self) -> usize {
        match &self.screen {
            Screen::Main(m) => m.entry.unsaved(),
            Screen::Login { .. } => 0,
        }
    }

    /// The login screen's error, if shown.
    pub fn login_error(&self) -> Option<&str> {
        match &self.screen {
            Screen::Login { error, .. } => error.as_deref(),
            Screen::Main(_) => None,
        }
    }

    /// The embedded node's status, if it runs.
    pub fn sync_status(&self) -> Option<SyncStatus> {
        self.sync.as_ref().map(SyncNode::status)
    }

    /// Draws one frame.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        // Before any widget reads this frame's keys.
        let guard = &mut self.ime;
        ui.ctx().input_mut(|i| guard.filter(&mut i.events, i.time));
        self.take_replies();
        // Data other writers save on this PC (the CLI, an import) arrives
        // without input or sync news: reload now and then; the big screen
        // refreshes itself this way too.
        if let Screen::Main(m) = &mut self.screen
            && !self.backend.busy()
            && ui.input(|i| i.time) - m.loaded_at > RELOAD_SECONDS
        {
            m.loaded_at = ui.input(|i| i.time);
            if m.follow_yesterday && m.entry.unsaved() == 0 {
                let y = yesterday();
                if y != m.date {
                    m.date = y;
                    m.date_text = y.to_string();
                }
            }
            self.backend.send(Request::Load {
                district: m.district.clone(),
                date: m.date,
            });
        }
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
                    if self.backend.dead() {
                        ui.colored_label(
                            SHORT,
                            lang.t(
                                "后台已停止，无法读写：请重新启动程序",
                                "The worker stopped: nothing can be read or saved; restart the app",
                            ),
                        );
                    } else if let Some(p) = &self.progress {
                        ui.add(
                            egui::ProgressBar::new(p.done as f32 / p.total.max(1) as f32)
                                .desired_width(160.0)
                                .show_percentage(),
                        );
                        ui.label(format!("{} · {}", p.task, p.step));
                    } else if self.backend.busy() {
                        ui.spinner();
                    }
                    if let Some(st) = &status {
                        let (level, known) = sync::level_documents(st);
                        if level < known {
                            ui.label(format!("{} {level}/{known}", lang.t("同步中", "Syncing")));
                        }
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
            } => match login::login(ui, lang, key_file, passphrase, error.as_deref()) {
                Some(login::Action::Submit(r)) => {
                    *error = None;
                    requests.push(r);
                }
                Some(login::Action::Browse) => {
                    requests.push(self.picker.open(picker::Target::KeyFile, &self.data));
                }
                None => {}
            },
            Screen::Main(m) => {
                requests.extend(main_screen(ui, lang, m, status.as_ref(), self.renderer));
                if let Some(target) = m.transfer.browse.take() {
                    requests.push(self.picker.open(target, &self.data));
                }
            }
        });
        self.confirm_close(ui, lang);
        let (listing, picked) = self.picker.show(ui.ctx(), lang);
        requests.extend(listing);
        if let Some(p) = picked {
            self.picked(p);
        }
        for r in requests {
            self.backend.send(r);
        }
    }

    /// Closing the window with typed rows not saved asks first: back to
    /// save them, or close and lose them.
    fn confirm_close(&mut self, ui: &mut egui::Ui, lang: Lang) {
        let unsaved = self.unsaved_rows();
        if ui.input(|i| i.viewport().close_requested()) && unsaved > 0 && !self.closing {
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
        }
        if !self.confirm_close {
            return;
        }
        egui::Modal::new(egui::Id::unique("confirm-close")).show(ui.ctx(), |ui| {
            ui.heading(lang.t("有未保存的录入", "Unsaved entries"));
            ui.label(match lang {
                Lang::Zh => format!("有 {unsaved} 行未保存，退出将丢失。"),
                Lang::En => format!("{unsaved} rows are not saved; closing loses them."),
            });
            ui.horizontal(|ui| {
                if ui.button(lang.t("返回保存", "Back to save")).clicked() {
                    self.confirm_close = false;
                    if let Screen::Main(m) = &mut self.screen {
                        m.tab = Tab::Entry;
                        m.big_screen = false;
                    }
                }
                if ui
                    .button(lang.t("不保存，退出", "Close without saving"))
                    .clicked()
                {
                    self.confirm_close = false;
                    self.closing = true;
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
        });
    }

    /// Puts what the file picker chose where it was asked for.
    fn picked(&mut self, p: picker::Picked) {
        let path = p.path.display().to_string();
        match (&mut self.screen, p.target) {
            (Screen::Login { key_file, .. }, picker::Target::KeyFile) => *key_file = path,
            (Screen::Main(m), target) => m.transfer.picked(target, &p.path),
            _ => {}
        }
    }
}

fn main_screen(
    ui: &mut egui::Ui,
    lang: Lang,
    m: &mut Main,
    sync: Option<&SyncStatus>,
    renderer: Option<&'static str>,
) -> Vec<Request> {
    let mut out = Vec::new();
    if m.big_screen != m.full_screen {
        m.full_screen = m.big_screen;
        ui.ctx()
            .send_viewport_cmd(egui::ViewportCommand::Fullscreen(m.big_screen));
    }
    if m.big_screen {
        let leave = ui
            .button(lang.t("退出大屏 (Esc)", "Leave big screen (Esc)"))
            .clicked();
        if leave || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            m.big_screen = false;
        }
        if let Some(e) = &m.load_error {
            ui.colored_label(
                SHORT,
                egui::RichText::new(format!("{} {e}", lang.t("无法读取：", "Cannot read:")))
                    .size(24.0),
            );
        }
        if let Some(v) = &m.view {
            board::big_board(ui, lang, v, &mut m.board, &m.loaded_time);
        }
        return out;
    }
    ui.horizontal(|ui| {
        for tab in Tab::ALL {
            if ui.selectable_label(m.tab == tab, tab.label(lang)).clicked() {
                m.tab = tab;
                m.notice = None;
                if matches!(tab, Tab::Procedures | Tab::Roster) {
                    out.push(Request::Catalog);
                }
                if tab == Tab::Rules {
                    out.push(Request::Rules);
                }
            }
        }
        ui.separator();
        let l = ui.label(lang.t("监区", "District"));
        let mut district = m.district.clone();
        egui::ComboBox::from_id_salt("district")
            .selected_text(district.to_string())
            .show_ui(ui, |ui| {
                for (d, name) in &m.districts {
                    ui.selectable_value(&mut district, d.clone(), format!("{d} {name}"));
                }
            })
            .response
            .labelled_by(l.id);
        let l = ui.label(lang.t("日期", "Date"));
        let r = ui
            .add(egui::TextEdit::singleline(&mut m.date_text).desired_width(96.0))
            .labelled_by(l.id);
        if r.lost_focus() || district != m.district {
            match m.date_text.trim().parse::<Date>() {
                Ok(d) => out.extend(m.go_to(lang, district, d)),
                Err(_) => {
                    m.notice = Some((
                        true,
                        lang.t("日期格式应为 YYYY-MM-DD", "The date must be YYYY-MM-DD")
                            .into(),
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
    if let Some(e) = &m.load_error {
        ui.colored_label(
            SHORT,
            format!("{} {e}", lang.t("无法读取：", "Cannot read:")),
        );
    }
    ui.separator();
    let Some(view) = &m.view else {
        ui.spinner();
        return out;
    };
    let role = m.officer.role;
    let request = match m.tab {
        Tab::Entry => {
            if m.officer
                .writes_daily_records_of(&view.district, view.month)
            {
                entry::entry(ui, lang, view, &mut m.entry, crate::clock::today())
            } else {
                ui.colored_label(
                    SHORT,
                    format!(
                        "{} {} ({}) {} {}",
                        lang.t("无权录入：", "Not allowed:"),
                        m.officer.officer_no,
                        role_label(lang, role),
                        lang.t(
                            "不能录入该监区的日常记录",
                            "may not enter the daily records of"
                        ),
                        view.district
                    ),
                );
                None
            }
        }
        Tab::Board => {
            if ui.button(lang.t("大屏显示", "Big screen")).clicked() {
                m.big_screen = true;
            }
            board::board(ui, lang, view, &mut m.board);
            None
        }
        Tab::Scores => {
            let may_write = m
                .officer
                .writes_daily_records_of(&view.district, view.month);
            scores::scores(ui, lang, view, m.audit.as_ref(), &mut m.adjust, may_write)
        }
        Tab::Charts => {
            charts::charts(ui, lang, &view.rates, &mut m.charts);
            None
        }
        Tab::Approvals => {
            let r = approvals::approvals(
                ui,
                lang,
                view,
                &m.officer,
                &mut m.approvals,
                crate::clock::today(),
            );
            // A district picked from the prison group's list.
            if let Some(d) = m.approvals.go_to.take() {
                let date = m.date;
                out.extend(m.go_to(lang, d, date));
            }
            r
        }
        Tab::Procedures | Tab::Roster if m.catalog.is_none() => {
            // Asked for when the tab opened; a failed read is in the notice.
            ui.horizontal(|ui| {
                ui.spinner();
                if ui.button(lang.t("重新读取", "Read again")).clicked() {
                    out.push(Request::Catalog);
                }
            });
            None
        }
        Tab::Procedures => match &m.catalog {
            Some(c) => procedures::procedures(
                ui,
                lang,
                c,
                &mut m.procedures,
                m.officer.may(&DocId::Registry, RecordClass::Catalogue),
                crate::clock::today(),
            ),
            None => {
                ui.spinner();
                None
            }
        },
        Tab::Roster => match &m.catalog {
            Some(c) => roster::roster(
                ui,
                lang,
                c,
                &mut m.roster,
                m.officer.may(&DocId::Registry, RecordClass::Roster),
            ),
            None => {
                ui.spinner();
                None
            }
        },
        Tab::Rules => {
            let may = m.officer.may(&DocId::Registry, RecordClass::RuleSet);
            // A small screen scrolls to the form's last fields.
            egui::ScrollArea::vertical()
                .id_salt("rules-screen")
                .show(ui, |ui| rules::rules(ui, lang, &mut m.rules, may))
                .inner
        }
        Tab::Transfer => transfer::transfer(ui, lang, view, &mut m.transfer, &m.officer),
        Tab::Sync => {
            sync::sync_screen(ui, lang, sync);
            sync::about(ui, lang, renderer);
            None
        }
    };
    out.extend(request);
    out
}

impl eframe::App for TallyApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs_f64(RELOAD_SECONDS));
    }
}
