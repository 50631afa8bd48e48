//! Why something was not done, in the officer's language: the backend
//! sends error values ([`Failure`], the service's typed errors), and the
//! words are chosen here. What the libraries say (in English, naming files,
//! records and rules) follows the officer's words, as the detail.

use keys::KeyFileError;
use node::close::CloseError;
use node::identity::UnlockError;
use node::input::InputError;
use node::service::ServiceError;
use node::session::WriteError;

use super::Lang;
use crate::backend::Failure;
use crate::sync::SyncFailure;

/// What a failed request means, in `lang`. `wrote`: the request was a write
/// (nothing of it was stored, which is said first).
pub fn failure(lang: Lang, f: &Failure, wrote: bool) -> String {
    let zh = lang == Lang::Zh;
    match f {
        Failure::NotLoggedIn => lang.t("未登录", "not logged in").to_string(),
        Failure::Internal(what) => match lang {
            Lang::Zh => format!("内部错误：{what}"),
            Lang::En => format!("internal error: {what}"),
        },
        Failure::View {
            district,
            date,
            error,
        } => view(lang, district, *date, error),
        Failure::Other(detail) => {
            if wrote {
                format!("{}: {detail}", lang.t("未写入任何内容", "nothing written"))
            } else {
                detail.clone()
            }
        }
        Failure::Service(e) => {
            let said = service(lang, e);
            let lead = if e.is_refusal() {
                Some(lang.t("校验未通过，未写入任何内容", "refused, nothing written"))
            } else if e.is_pending() {
                Some(lang.t(
                    "暂不能写入，未写入任何内容",
                    "cannot write yet, nothing written",
                ))
            } else if wrote {
                Some(lang.t("未写入任何内容", "nothing written"))
            } else {
                None
            };
            match (lead, said) {
                (Some(l), Some(s)) => format!("{l}{}{s}", if zh { "：" } else { ": " }),
                (Some(l), None) => format!("{l}{}{e}", if zh { "：" } else { ": " }),
                (None, Some(s)) => s,
                (None, None) => e.to_string(),
            }
        }
    }
}

/// The words for errors an officer meets and can act on; `None` for the
/// rest, said in the library's words.
fn service(lang: Lang, e: &ServiceError) -> Option<String> {
    let zh = lang == Lang::Zh;
    let s = match e {
        ServiceError::Unlock(u) => return unlock(lang, u),
        ServiceError::ApprovalChanged { inmate } => {
            if zh {
                format!("{inmate} 待审批的内容已变化，未批准；请查看后再批")
            } else {
                format!(
                    "what awaits approval for {inmate} changed since it was shown: nothing approved, look again"
                )
            }
        }
        ServiceError::SealChanged { district, month } => {
            if zh {
                format!("{district} {month} 的数据在查看后有变化，未封存；请查看后再封存")
            } else {
                format!("{district} {month} changed since it was shown: not sealed, look again")
            }
        }
        ServiceError::NotResolvable { key } => {
            if zh {
                format!("记录 {key} 的冲突不能在此处理，请用命令行")
            } else {
                format!(
                    "record {key}: this kind of conflict cannot be resolved here; use the command line"
                )
            }
        }
        ServiceError::Close(CloseError::NotReady {
            district,
            month,
            reasons,
        }) => {
            let list: Vec<String> = reasons.iter().map(|r| not_done(lang, r)).collect();
            if zh {
                format!(
                    "{district} {month} 尚不能封存：{}。确需封存请勾选「强制封存」，封存将载明未完成的程序",
                    list.join("；")
                )
            } else {
                format!(
                    "{district} {month} is not ready to seal: {}. Tick \"seal anyway\" to seal all the same (the seal says what was not done)",
                    list.join("; ")
                )
            }
        }
        ServiceError::UnknownDistrict(d) | ServiceError::Close(CloseError::UnknownDistrict(d)) => {
            if zh {
                format!("没有监区 {d}")
            } else {
                format!("no district {d}")
            }
        }
        ServiceError::Input(InputError::NotAFile { path, .. }) => {
            if zh {
                format!("{} 不是文件，请选文件本身", path.display())
            } else {
                format!("{} is not a file: pick the file itself", path.display())
            }
        }
        ServiceError::Input(InputError::TooLarge { path, len, max, .. }) => {
            if zh {
                format!("{} 太大（{len} 字节，最多 {max} 字节）", path.display())
            } else {
                format!(
                    "{} is too large ({len} bytes, at most {max})",
                    path.display()
                )
            }
        }
        ServiceError::Input(InputError::Io { path, source }) => {
            if zh {
                format!("无法读取 {}：{source}", path.display())
            } else {
                format!("cannot read {}: {source}", path.display())
            }
        }
        ServiceError::TransferAmendsSealed { months } => {
            let list: Vec<String> = months.iter().map(|(d, m)| format!("{d} {m}")).collect();
            if zh {
                format!(
                    "该调监区会改变已封存月份：{}；未记录。确需记录请勾选「强制」，这些月份须重新封存",
                    list.join("、")
                )
            } else {
                format!(
                    "the transfer changes sealed months: {}; not recorded. Tick \"force\" to record it (reseal them)",
                    list.join(", ")
                )
            }
        }
        ServiceError::HeldElsewhere {
            inmate,
            date,
            district,
            held,
        } => {
            if zh {
                format!("{inmate} 于 {date} 在 {held}，不在 {district}：该日记录应记入 {held}")
            } else {
                format!(
                    "{inmate} was in {held} on {date}, not in {district}: that day's records belong to {held}"
                )
            }
        }
        ServiceError::BadTransfer(reason) => {
            if zh {
                format!("调监区未记录：{reason}")
            } else {
                format!("transfer not recorded: {reason}")
            }
        }
        ServiceError::BadRules(reason) => {
            if zh {
                format!("规则版本未发布：{reason}")
            } else {
                format!("rule set not published: {reason}")
            }
        }
        ServiceError::RulesAmendSealed { months } => {
            let list: Vec<String> = months
                .iter()
                .map(|m| format!("{} {}（{} 人）", m.district, m.month, m.inmates))
                .collect();
            if zh {
                format!(
                    "该规则版本会改变已封存月份的分数：{}；未发布。确需发布请勾选「强制发布」，这些月份将标记为封存后修改，须重新封存",
                    list.join("、")
                )
            } else {
                format!(
                    "the rule set would change sealed months: {}; not published. Tick \"publish anyway\" to amend them (they must be resealed)",
                    list.join(", ")
                )
            }
        }
        ServiceError::ScoredElsewhere {
            inmate, month, to, ..
        } => {
            if zh {
                format!("{inmate} 已于 {month} 调往 {to}，全月由 {to} 计分")
            } else {
                format!("{inmate} moved to {to} during {month}: {to} scores the whole month")
            }
        }
        ServiceError::Write(WriteError::ForeignCertificate { officer, .. }) => {
            if zh {
                format!("警官 {officer} 的证书不是本监狱签发的，不能在此写入")
            } else {
                format!("officer {officer}'s certificate is another prison's: it cannot write here")
            }
        }
        _ => return None,
    };
    Some(s)
}

/// What stands between a month and its seal, in the screen's language.
pub(super) fn not_done(lang: Lang, r: &node::close::NotDone) -> String {
    use node::close::NotDone;
    match (lang, r) {
        (Lang::Zh, NotDone::NotPosted) => "本月报告尚未公示".into(),
        (Lang::Zh, NotDone::Posting { until }) => format!("公示期至 {until} 尚未结束"),
        (Lang::Zh, NotDone::Unanswered { applications }) => {
            format!("{applications} 项复查、复核申请尚未答复")
        }
        (Lang::En, r) => r.to_string(),
    }
}

fn unlock(lang: Lang, e: &UnlockError) -> Option<String> {
    let zh = lang == Lang::Zh;
    let s = match e {
        UnlockError::Key(KeyFileError::WrongPassphrase { path }) => {
            if zh {
                format!("口令错误（或密钥文件被改动）：{}", path.display())
            } else {
                format!(
                    "wrong passphrase (or the key file was altered): {}",
                    path.display()
                )
            }
        }
        UnlockError::Key(KeyFileError::Io { path, source }) => {
            if zh {
                format!("无法读取密钥文件 {}：{source}", path.display())
            } else {
                format!("cannot read the key file {}: {source}", path.display())
            }
        }
        UnlockError::Key(KeyFileError::Malformed { path, reason }) => {
            if zh {
                format!("不是 tally 密钥文件：{}（{reason}）", path.display())
            } else {
                format!("not a tally key file: {}: {reason}", path.display())
            }
        }
        UnlockError::NotOfficer { path } => {
            if zh {
                format!("不是警官密钥文件：{}", path.display())
            } else {
                format!("not an officer's key file: {}", path.display())
            }
        }
        UnlockError::NoCertificate { path } | UnlockError::CertificateMismatch { path } => {
            if zh {
                format!("密钥文件中没有本密钥的证书：{}", path.display())
            } else {
                format!(
                    "the key file holds no certificate for its key: {}",
                    path.display()
                )
            }
        }
        UnlockError::ForeignCertificate { officer, reason } => {
            if zh {
                format!("警官 {officer} 的证书不是本监狱签发的（{reason}）")
            } else {
                format!(
                    "officer {officer}'s certificate was not issued by this prison's authority ({reason})"
                )
            }
        }
        UnlockError::NotValidToday {
            officer,
            from,
            to,
            today,
        } => {
            if zh {
                format!(
                    "警官 {officer} 的证书已过期或尚未生效：有效期 {from} 至 {to}，今天是 {today}"
                )
            } else {
                format!("officer {officer}'s certificate is valid {from} to {to}; today is {today}")
            }
        }
        UnlockError::Revoked { officer } => {
            if zh {
                format!("警官 {officer} 的证书已被吊销")
            } else {
                format!("officer {officer}'s key has been revoked")
            }
        }
        _ => return None,
    };
    Some(s)
}

/// Why a district's day could not be shown, in `lang`: what the officer
/// can act on first, the library's words after it.
fn view(
    lang: Lang,
    district: &crdt_schema::DistrictId,
    date: crdt_schema::Date,
    e: &crate::backend::ViewError,
) -> String {
    use crate::backend::ViewError;
    use node::store::StoreError;
    let zh = lang == Lang::Zh;
    let said = match e {
        ViewError::Store(StoreError::NotInitialized(_)) => {
            if zh {
                "本机尚无数据（先导入或同步）"
            } else {
                "this PC holds no data yet (import or sync first)"
            }
        }
        ViewError::Store(StoreError::Io { .. }) => {
            if zh {
                "无法读取本机数据文件"
            } else {
                "cannot read this PC's data files"
            }
        }
        ViewError::Store(_) | ViewError::Read(_) => {
            if zh {
                "本机数据有误"
            } else {
                "this PC's data cannot be read"
            }
        }
        ViewError::Score(_) | ViewError::Close(_) => {
            if zh {
                "本月无法计分"
            } else {
                "the month cannot be scored"
            }
        }
        ViewError::Service(_) => {
            if zh {
                "无法读取本月的评议与公示"
            } else {
                "cannot read the month's procedure"
            }
        }
    };
    if zh {
        format!("{district} {date}：{said}（{e}）")
    } else {
        format!("{district} {date}: {said} ({e})")
    }
}

/// Why the embedded sync node is not running, in `lang`: what an officer
/// (or the IT officer beside them) can act on first, the library's words
/// after it as the detail.
pub fn sync_failure(lang: Lang, e: &SyncFailure) -> String {
    use node::net::StartError;
    use node::store::StoreError;
    let zh = lang == Lang::Zh;
    let (said, detail): (&str, String) = match e {
        SyncFailure::Runtime(e) => (
            if zh {
                "无法启动同步线程"
            } else {
                "cannot start the sync threads"
            },
            e.to_string(),
        ),
        SyncFailure::Config(e) => match &**e {
            StoreError::BadConfig { path, reason } => (
                if zh {
                    "同步配置文件有误"
                } else {
                    "the sync configuration is not valid"
                },
                format!("{}: {reason}", path.display()),
            ),
            other => (
                if zh {
                    "无法读取同步配置文件"
                } else {
                    "cannot read the sync configuration"
                },
                other.to_string(),
            ),
        },
        SyncFailure::Start(e) => match &**e {
            StartError::AlreadyRunning(a) => (
                if zh {
                    "本数据目录已有同步节点在运行（服务或另一程序）"
                } else {
                    "a sync node already runs on this data directory (the service or another program)"
                },
                a.pid.map(|p| format!("pid {p}")).unwrap_or_default(),
            ),
            StartError::Bind(b) => (
                if zh {
                    "无法打开网络端口（可能已被占用，或被防火墙禁止）"
                } else {
                    "cannot open the network port (in use, or not allowed)"
                },
                b.to_string(),
            ),
            StartError::Address(a) => (
                if zh {
                    "同步配置中的监听地址无效（node.toml 的 listen）"
                } else {
                    "the listen address in node.toml is not valid"
                },
                a.to_string(),
            ),
            StartError::Lock { path, source } => (
                if zh {
                    "无法锁定数据目录"
                } else {
                    "cannot lock the data directory"
                },
                format!("{}: {source}", path.display()),
            ),
            StartError::Store(s) => (
                if zh {
                    "无法读取本机数据"
                } else {
                    "cannot read this PC's data"
                },
                s.to_string(),
            ),
            StartError::Load(j) => (
                if zh {
                    "读取本机数据时出错"
                } else {
                    "loading this PC's data failed"
                },
                j.to_string(),
            ),
        },
    };
    if detail.is_empty() {
        said.to_string()
    } else if zh {
        format!("{said}（{detail}）")
    } else {
        format!("{said} ({detail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn each_language_gets_its_own_words_and_a_write_says_nothing_was_written() {
        let f = Failure::Service(ServiceError::Unlock(UnlockError::Revoked {
            officer: "J001".into(),
        }));
        assert_eq!(failure(Lang::Zh, &f, false), "警官 J001 的证书已被吊销");
        assert_eq!(
            failure(Lang::En, &f, false),
            "officer J001's key has been revoked"
        );
        let f = Failure::Service(ServiceError::Input(InputError::NotAFile {
            path: PathBuf::from("/媒体/U盘"),
            what: "a folder",
        }));
        assert_eq!(
            failure(Lang::Zh, &f, true),
            "未写入任何内容：/媒体/U盘 不是文件，请选文件本身"
        );
        assert_eq!(
            failure(Lang::En, &f, true),
            "nothing written: /媒体/U盘 is not a file: pick the file itself"
        );
        // Errors without words of their own keep the library's English.
        let f = Failure::Service(ServiceError::UnknownInmate {
            inmate: "1001".parse().expect("inmate"),
            district: "D01".parse().expect("district"),
            month: "2026-10".parse().expect("month"),
        });
        assert_eq!(
            failure(Lang::Zh, &f, false),
            "inmate 1001 has no roster entry or records in D01 2026-10"
        );
    }

    #[test]
    fn a_view_that_could_not_be_read_is_said_in_the_officers_language() {
        let f = Failure::View {
            district: "D01".parse().expect("district"),
            date: "2026-10-20".parse().expect("date"),
            error: std::sync::Arc::new(crate::backend::ViewError::Store(
                node::store::StoreError::NotInitialized(PathBuf::from("/var/lib/tally")),
            )),
        };
        let zh = failure(Lang::Zh, &f, false);
        assert!(
            zh.starts_with("D01 2026-10-20：本机尚无数据（先导入或同步）（"),
            "{zh}"
        );
        let en = failure(Lang::En, &f, false);
        assert!(
            en.starts_with("D01 2026-10-20: this PC holds no data yet (import or sync first) ("),
            "{en}"
        );
    }

    #[test]
    fn a_node_that_did_not_start_is_said_in_the_officers_language() {
        let running = SyncFailure::Start(std::sync::Arc::new(
            node::net::StartError::AlreadyRunning(node::net::AlreadyRunning {
                data: PathBuf::from("/var/lib/tally"),
                pid: Some(812),
            }),
        ));
        assert_eq!(
            sync_failure(Lang::Zh, &running),
            "本数据目录已有同步节点在运行（服务或另一程序）（pid 812）"
        );
        let config = SyncFailure::Config(std::sync::Arc::new(node::store::StoreError::BadConfig {
            path: PathBuf::from("node.toml"),
            reason: "unknown field `peer`".into(),
        }));
        assert_eq!(
            sync_failure(Lang::En, &config),
            "the sync configuration is not valid (node.toml: unknown field `peer`)"
        );
    }
}
