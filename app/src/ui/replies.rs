//! Taking the backend's replies at the start of each frame: each reply
//! lands in the screen that asked for it.

use super::{Lang, Main, Screen, Tab, TallyApp};
use crate::backend::{Reply, Request};
use crate::clock::yesterday;

impl TallyApp {
    /// Every reply ready now, applied to the screens.
    pub(super) fn take_replies(&mut self) {
        let lang = self.lang;
        while let Some(reply) = self.backend.try_recv() {
            if let Reply::Progress(p) = reply {
                self.progress = Some(p);
                continue;
            }
            self.progress = None;
            match reply {
                Reply::Progress(_) => {}
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
                                lang.t("这个监狱还没有监区", "The prison has no districts yet")
                                    .into(),
                            ),
                        };
                        continue;
                    };
                    let date = self.start_date.unwrap_or_else(yesterday);
                    let tab = if officer.writes_daily_records_of(&district, date.month()) {
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
                        entry: Default::default(),
                        approvals: Default::default(),
                        audit: None,
                        adjust: Default::default(),
                        catalog: None,
                        procedures: Default::default(),
                        roster: Default::default(),
                        rules: Default::default(),
                        charts: Default::default(),
                        transfer: Default::default(),
                        big_screen: self.start_big_screen,
                        full_screen: false,
                        board: Default::default(),
                        loaded_time: String::new(),
                        notice: None,
                        loaded_at: 0.0,
                        follow_yesterday: self.start_date.is_none(),
                        load_error: None,
                    }));
                }
                Reply::LoginFailed(e) => {
                    if let Screen::Login { error, .. } = &mut self.screen {
                        *error = Some(super::words::failure(lang, &e, false));
                    }
                }
                Reply::Loaded(v) => {
                    self.loads += 1;
                    if let Screen::Main(m) = &mut self.screen {
                        // A view of a day or district left since it was
                        // asked for (a quick change of date) is not shown.
                        if v.district != m.district || v.date != m.date {
                            continue;
                        }
                        m.loaded_time = crate::clock::time_of_day(crate::clock::unix_now());
                        m.load_error = None;
                        // The audit trail beside the scores belongs to one
                        // district-month.
                        if m.audit.as_ref().is_some_and(|a| {
                            a.district != v.district.as_str() || a.month != v.month.to_string()
                        }) {
                            m.audit = None;
                        }
                        m.entry.load(&v);
                        m.view = Some(*v);
                    }
                }
                Reply::LoadFailed(e) => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.load_error = Some(super::words::failure(lang, &e, false));
                    }
                }
                Reply::Saved { changes } => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.adjust.replied(true);
                        // What awaits the prison group may have changed.
                        m.approvals.queue_asked = None;
                        // An open audit trail shows the new change too.
                        if let Some(a) = &m.audit {
                            self.backend.send(Request::Audit {
                                district: m.district.clone(),
                                month: m.date.month(),
                                inmate: a.inmate_no.clone(),
                            });
                        }
                        m.notice = Some((
                            false,
                            match lang {
                                Lang::Zh => format!("已保存并签名（{changes} 个更改）"),
                                Lang::En => format!("Saved and signed ({changes} change)"),
                            },
                        ));
                        self.backend.send(Request::Load {
                            district: m.district.clone(),
                            date: m.date,
                        });
                        if m.catalog.is_some() {
                            self.backend.send(Request::Catalog);
                        }
                    }
                }
                Reply::Imported {
                    file,
                    rows,
                    changed,
                    documents,
                    not_counted,
                } => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.transfer.rejected.clear();
                        m.transfer.not_counted.clear();
                        let mut text = match lang {
                            Lang::Zh => format!(
                                "{file}：{rows} 行，{changed} 条记录已签名写入 {documents} 个文档"
                            ),
                            Lang::En => format!(
                                "{file}: {rows} rows, {changed} records signed into {documents} documents"
                            ),
                        };
                        // Written but not counted by the score: said, with
                        // each record, so no work is lost unseen.
                        if !not_counted.is_empty() {
                            text.push_str(&match lang {
                                Lang::Zh => {
                                    format!("；其中 {} 条记录不计分（见下）", not_counted.len())
                                }
                                Lang::En => format!(
                                    "; {} of the records do not count (below)",
                                    not_counted.len()
                                ),
                            });
                        }
                        m.notice = Some((!not_counted.is_empty(), text));
                        m.transfer.not_counted = not_counted;
                        self.backend.send(Request::Load {
                            district: m.district.clone(),
                            date: m.date,
                        });
                        if m.catalog.is_some() {
                            self.backend.send(Request::Catalog);
                        }
                    }
                }
                Reply::ImportRejected(errors) => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.notice = Some((
                            true,
                            match lang {
                                Lang::Zh => {
                                    format!("文件被拒绝，未写入任何内容（{} 处错误）", errors.len())
                                }
                                Lang::En => format!(
                                    "File rejected, nothing written ({} errors)",
                                    errors.len()
                                ),
                            },
                        ));
                        m.transfer.rejected = errors;
                    }
                }
                Reply::GroupQueue { month, lines } => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.approvals.queue = Some((month, lines));
                    }
                }
                Reply::Exported { path, bytes } => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.notice = Some((
                            false,
                            match lang {
                                Lang::Zh => format!("已导出 {}（{bytes} 字节）", path.display()),
                                Lang::En => format!("Exported {} ({bytes} B)", path.display()),
                            },
                        ));
                    }
                }
                Reply::Rules(versions) => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.rules.read(versions);
                    }
                }
                Reply::RulesPublished { from, effects } => {
                    if let Screen::Main(m) = &mut self.screen {
                        let list: Vec<String> = effects
                            .iter()
                            .map(|e| {
                                let sealed = if e.sealed {
                                    lang.t("（已封存，须重新封存）", " (sealed: reseal it)")
                                } else {
                                    ""
                                };
                                match lang {
                                    Lang::Zh => format!(
                                        "{} {} {} 人{sealed}",
                                        e.district, e.month, e.inmates
                                    ),
                                    Lang::En => format!(
                                        "{} {}: {} inmates{sealed}",
                                        e.district, e.month, e.inmates
                                    ),
                                }
                            })
                            .collect();
                        let text = match (lang, list.is_empty()) {
                            (Lang::Zh, true) => {
                                format!("已发布自 {from} 起的规则版本；已计分的月份均无变化")
                            }
                            (Lang::Zh, false) => format!(
                                "已发布自 {from} 起的规则版本；分数改变的月份：{}",
                                list.join("、")
                            ),
                            (Lang::En, true) => format!(
                                "published the rule set from {from}; no month already scored changes"
                            ),
                            (Lang::En, false) => format!(
                                "published the rule set from {from}; months whose figures change: {}",
                                list.join(", ")
                            ),
                        };
                        m.notice = Some((false, text));
                        m.rules.published(from);
                        self.backend.send(Request::Rules);
                        self.backend.send(Request::Load {
                            district: m.district.clone(),
                            date: m.date,
                        });
                    }
                }
                Reply::Catalog(c) => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.catalog = Some(*c);
                    }
                }
                Reply::SaveFailed(e) => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.adjust.replied(false);
                        m.notice = Some((true, super::words::failure(lang, &e, true)));
                    }
                }
                Reply::Failed(e) => {
                    if let Screen::Main(m) = &mut self.screen {
                        m.notice = Some((true, super::words::failure(lang, &e, false)));
                    }
                }
                Reply::Audit(t) => {
                    if let Screen::Main(m) = &mut self.screen {
                        // Another inmate (or the first since the district or
                        // month changed): its entry starts plain.
                        if m.audit.as_ref().is_none_or(|a| a.inmate_no != t.inmate_no) {
                            m.adjust.clear_marks();
                        }
                        m.audit = Some(*t);
                    }
                }
                Reply::Listing(l) => self.picker.listed(l),
            }
        }
    }
}
