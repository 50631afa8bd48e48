//! Human-readable output of the CLI (Chinese labels, points with two decimals).
//! Machine-readable output is the JSON of the library's types, not this.

use std::io::{self, Write};

use crdt_schema::{Board, BoardUnit, Cp, Flag, InmateExplanation, RegistryFacts, Report};

use crate::export::{district_name, inmate_name as name};

/// Problems found while loading, on stderr so they are never mistaken for data.
pub fn issues(issues: &[String]) {
    for i in issues {
        eprintln!("warning: {i}");
    }
}

fn flags(flags: &[Flag]) -> String {
    flags
        .iter()
        .map(|f| format!("{}({})", f.label_zh(), f.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn report(out: &mut impl Write, registry: &RegistryFacts, r: &Report) -> io::Result<()> {
    let dname = district_name(registry, &r.district);
    writeln!(
        out,
        "{} {dname}  {}  规则版本 {}  共 {} 人",
        r.district,
        r.month,
        r.body.rule_set,
        r.body.inmates.len()
    )?;
    writeln!(out, "digest {}", r.digest)?;
    writeln!(
        out,
        "{:<12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  姓名 / 标记",
        "编号", "基础分", "加分", "待批加分", "扣分", "待批扣分", "劳动分"
    )?;
    for i in &r.body.inmates {
        writeln!(
            out,
            "{:<12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  {} {}",
            i.inmate_no.as_str(),
            i.base_cp.to_string(),
            i.bonus_cp.to_string(),
            i.pending_bonus_cp.to_string(),
            i.deduct_cp.to_string(),
            i.pending_deduct_cp.to_string(),
            i.labor_cp.to_string(),
            name(registry, &i.inmate_no),
            flags(&i.flags)
        )?;
    }
    if !r.body.unallocated_team_counts.is_empty() {
        writeln!(out, "未分配的班组计数:")?;
        for u in &r.body.unallocated_team_counts {
            writeln!(out, "  {} {} {}", u.date, u.procedure, u.quantity)?;
        }
    }
    for t in &r.body.transferred_out {
        writeln!(
            out,
            "调出 {} {}: {} 起调往 {}，由该监区计分",
            t.inmate_no,
            name(registry, &t.inmate_no),
            t.date,
            t.to
        )?;
    }
    if !r.body.read_from.is_empty() {
        let list: Vec<&str> = r.body.read_from.iter().map(|d| d.as_str()).collect();
        writeln!(out, "本报告读取了调入罪犯原监区的文档: {}", list.join(", "))?;
    }
    for p in &r.body.problems {
        writeln!(out, "问题 {}: {}", p.key, p.reason)?;
    }
    writeln!(out)
}

/// A rule set, field by field, with what each means.
pub fn rules(
    out: &mut impl Write,
    month: crdt_schema::Month,
    r: &crdt_schema::RuleSet,
) -> io::Result<()> {
    writeln!(out, "{month} 适用的规则版本: 自 {} 起", r.effective_from)?;
    for f in crate::service::rules::fields(r) {
        writeln!(out, "  {:<22} {:<16} {}", f.name, f.value, f.zh)?;
    }
    Ok(())
}

pub fn explanation(
    out: &mut impl Write,
    registry: &RegistryFacts,
    e: &InmateExplanation,
) -> io::Result<()> {
    let r = &e.result;
    writeln!(out, "{} {}", r.inmate_no, name(registry, &r.inmate_no))?;
    writeln!(
        out,
        "{:<10} {:<10} {:>5} {:>6} {:>10} {:>10} {:>8} {:>8}  工序",
        "日期", "类型", "分钟", "系数", "应完成ms", "实完成ms", "效率", "日系数"
    )?;
    for d in &e.days {
        let lines: Vec<String> = d
            .lines
            .iter()
            .map(|l| {
                let std = l
                    .std_ms
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "?".into());
                format!("{}×{}({}+{})", l.procedure, std, l.own, l.team_share)
            })
            .collect();
        // Minutes, grade and required time matter on work days only.
        let work = d.rate_bp.is_some();
        let shown = |v: i64| if work { v.to_string() } else { "-".into() };
        writeln!(
            out,
            "{:<10} {:<10} {:>5} {:>6} {:>10} {:>10} {:>8} {:>8}  {}",
            d.date.to_string(),
            d.day_type.map(|t| t.as_str()).unwrap_or("-"),
            shown(d.minutes.into()),
            shown(d.grade_bp.into()),
            shown(d.req_ms),
            d.earned_ms,
            d.rate_bp.map(|b| b.to_string()).unwrap_or_default(),
            d.factor_bp.map(|b| b.to_string()).unwrap_or_default(),
            lines.join(" ")
        )?;
    }
    writeln!(
        out,
        "C={} K={} D={} Σf={}  基础分 = {} / {} = {}",
        r.custody_days,
        e.calendar_days,
        r.labor_days,
        r.factor_sum_bp,
        r.base_num,
        r.base_den,
        r.base_cp
    )?;
    writeln!(
        out,
        "超额 {} (ΣEARNED {} / ΣREQ {}), 连续超额 {}, 超额加分 {}",
        r.over_bp, r.earned_ms, r.req_ms, r.over_eligible, r.overfulfil_bonus_cp
    )?;
    for a in &e.adjustments {
        let decided = a
            .decision
            .as_ref()
            .map(|d| {
                format!(
                    " [{} {} {}/{}]",
                    d.week,
                    d.outcome.as_str(),
                    d.in_favour,
                    d.members
                )
            })
            .unwrap_or_default();
        writeln!(
            out,
            "调整 {} {} {:>8} → {:>8} {} {}{decided} {} {}",
            a.id,
            a.date,
            a.points_cp.to_string(),
            a.counted_cp.to_string(),
            a.level.as_str(),
            a.status.as_str(),
            a.reason,
            a.evidence
        )?;
    }
    writeln!(
        out,
        "劳动分 {} = {} + {} − {}  (待批加分 {}, 待批扣分 {})  {}",
        r.labor_cp,
        r.base_cp,
        r.bonus_cp,
        r.deduct_cp,
        r.pending_bonus_cp,
        r.pending_deduct_cp,
        flags(&r.flags)
    )
}

pub fn board(out: &mut impl Write, registry: &RegistryFacts, b: &Board) -> io::Result<()> {
    let dname = district_name(registry, &b.district);
    writeln!(out, "劳动日记载 {} {dname} {}", b.district, b.date)?;
    writeln!(
        out,
        "{:<12} {:<10} {:<10} {:>6} {:>6} {:>6} {:>6} {:>8}  姓名",
        "编号", "类型", "工序", "定额", "完成", "超额", "欠额", "效率"
    )?;
    for r in &b.rows {
        let unit = match r.unit {
            BoardUnit::Units => "",
            BoardUnit::StdMinutes => "分",
        };
        writeln!(
            out,
            "{:<12} {:<10} {:<10} {:>6} {:>6} {:>6} {:>6} {:>8}  {}{}",
            r.inmate_no.as_str(),
            r.day_type.map(|t| t.as_str()).unwrap_or("-"),
            r.procedure.as_ref().map(|p| p.as_str()).unwrap_or(unit),
            r.quota,
            r.done,
            r.over,
            r.short,
            r.rate_bp.map(|b| b.to_string()).unwrap_or_default(),
            r.name,
            if r.conflict { " [冲突]" } else { "" }
        )?;
    }
    Ok(())
}

/// The month's procedure as `tally verify` recomputed it.
fn procedure(out: &mut impl Write, p: &crate::verify::ProcedureCheck) -> io::Result<()> {
    writeln!(
        out,
        "  程序 procedure: {}",
        if p.decision_levels {
            "分级决定（当场 / 监区评议 / 监狱审批）decision levels"
        } else {
            "原程序（录入即计入，监区长审批）former procedure"
        }
    )?;
    if !p.entries.is_empty() {
        let list: Vec<String> = p.entries.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(out, "  加扣分 entries (level/state): {}", list.join(", "))?;
    }
    for r in &p.reviews {
        writeln!(
            out,
            "  周评议 review {} held {}: {} 名成员 members, {} 到会 present, {} 赞成 in favour ({}); 通过 pass {}, 更正 correct {}, 退回 return {}{}",
            r.week,
            r.held,
            r.members,
            r.present,
            r.in_favour,
            if crdt_schema::two_thirds(r.in_favour, r.members) {
                "≥ 2/3"
            } else {
                "< 2/3: no decision"
            },
            r.passed,
            r.corrected,
            r.returned,
            if r.dissent.is_empty() {
                String::new()
            } else {
                format!("; 不同意见 dissent: {}", r.dissent)
            }
        )?;
    }
    if !p.applications.is_empty() {
        let list: Vec<String> = p
            .applications
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(out, "  复查复核 applications: {}", list.join(", "))?;
    }
    if !p.acknowledgements.is_empty() {
        let list: Vec<String> = p
            .acknowledgements
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(out, "  月评表 monthly sheets: {}", list.join(", "))?;
    }
    match &p.posting {
        Some(post) => writeln!(
            out,
            "  公示 posted {} to {}: {}",
            post.first_day,
            post.last_day,
            if post.current {
                "报告与公示一致 the report is the one posted"
            } else {
                "报告已不同于公示 the report differs from the one posted"
            }
        )?,
        None => writeln!(out, "  未公示 not posted")?,
    }
    Ok(())
}

/// One line per district: head count, average labor score, flag counts.
pub fn summary(
    out: &mut impl Write,
    registry: &RegistryFacts,
    reports: &[Report],
) -> io::Result<()> {
    writeln!(
        out,
        "{:<5} {:<10} {:>5} {:>8} {:>6} {:>6} {:>6} {:>6} {:>6}  digest",
        "监区", "名称", "人数", "平均分", "未达", "待评议", "待批", "异常", "冲突"
    )?;
    for r in reports {
        let n = r.body.inmates.len() as i64;
        let total: i64 = r.body.inmates.iter().map(|i| i.labor_cp.0).sum();
        let count = |f: Flag| {
            r.body
                .inmates
                .iter()
                .filter(|i| i.flags.contains(&f))
                .count()
        };
        let dname = district_name(registry, &r.district);
        writeln!(
            out,
            "{:<5} {:<10} {:>5} {:>8} {:>6} {:>6} {:>6} {:>6} {:>6}  {}",
            r.district.as_str(),
            dname,
            n,
            Cp(if n > 0 { total / n } else { 0 }).to_string(),
            count(Flag::BelowBase),
            count(Flag::NeedsReview),
            count(Flag::NeedsApproval),
            count(Flag::RateOutlier),
            count(Flag::Conflict),
            &r.digest.0[..16]
        )?;
    }
    Ok(())
}

/// The audit trail of an inmate-month, record by record.
pub fn audit(
    out: &mut impl Write,
    registry: &RegistryFacts,
    t: &crate::audit::AuditTrail,
) -> io::Result<()> {
    writeln!(
        out,
        "审计记录 audit trail: {} {}  {} {}",
        t.inmate_no,
        name(registry, &t.inmate_no),
        t.district,
        t.month
    )?;
    for r in &t.records {
        writeln!(out, "{}  {}", r.key, r.doc)?;
        for w in &r.writes {
            let who = match (&w.officer_no, &w.name, &w.role) {
                (Some(no), Some(n), Some(role)) => format!("{no} {n} ({role})"),
                _ => format!("unknown key {}…", &w.author[..w.author.len().min(16)]),
            };
            writeln!(
                out,
                "  {} {:<28} {} {:<10} {:<24} {}{}{}",
                &w.change[..12],
                who,
                w.date.as_deref().unwrap_or("?"),
                w.signature.label_zh(),
                w.value.as_deref().unwrap_or("(删除 deleted)"),
                if w.current { "← 当前 current" } else { "" },
                if w.concurrent_revocation {
                    " [与吊销并发 concurrent with revocation]"
                } else {
                    ""
                },
                if w.message.is_empty() {
                    String::new()
                } else {
                    format!("  「{}」", w.message)
                }
            )?;
        }
    }
    Ok(())
}

/// `tally verify`'s readable report, in Chinese and English.
pub fn verification(out: &mut impl Write, r: &crate::verify::VerifyReport) -> io::Result<()> {
    if r.ok {
        writeln!(out, "核验通过 VERIFIED — {}", r.prison)?;
    } else {
        writeln!(out, "核验未通过 NOT VERIFIED — {}", r.prison)?;
    }
    writeln!(out, "监狱公钥 authority: {}", r.authority)?;
    match &r.exported_by {
        Some(who) => writeln!(out, "导出设备 exported and signed by: {who}")?,
        None => writeln!(
            out,
            "导出设备 exported by: 无有效签名声明 no valid signed statement (see the notes and problems)"
        )?,
    }
    writeln!(
        out,
        "名册与规则变更 registry changes verified: {}",
        r.registry_changes
    )?;
    for m in &r.months {
        writeln!(
            out,
            "{} {}: {} 条签名变更 signed changes, {} 人 inmates, 报告摘要 digest {}",
            m.district,
            m.month,
            m.changes,
            m.inmates,
            m.digest.as_deref().unwrap_or("—")
        )?;
        match &m.seal {
            Some(s) if s.matches && s.current => writeln!(
                out,
                "  封存 sealed by {}: 与重算结果一致 matches the recomputed report",
                s.by,
            )?,
            Some(s) if s.matches => writeln!(
                out,
                "  封存 sealed by {}: 封存时的报告与封存摘要一致 the report at the sealed state matches the sealed digest {}; \
                 现在的报告已不同 the report now differs, digest {}: {}",
                s.by,
                s.sealed_digest,
                m.digest.as_deref().unwrap_or("—"),
                if s.amended > 0 {
                    format!(
                        "{} 人封存后修改 inmate(s) amended after the seal",
                        s.amended
                    )
                } else {
                    "无记录修改，登记信息（定额、名册、规则）有变化 no record changed; the registry (standard times, roster, rules) did".to_string()
                }
            )?,
            Some(s) => writeln!(
                out,
                "  封存 sealed by {}: 不一致 DOES NOT MATCH ({})",
                s.by, s.sealed_digest
            )?,
            None => writeln!(out, "  未封存 not sealed")?,
        }
        if let Some(p) = &m.procedure {
            procedure(out, p)?;
        }
    }
    writeln!(out, "签名人 signers:")?;
    for s in &r.signers {
        writeln!(
            out,
            "  {:<10} {:<10} {:<13} {:<5} {} 条 changes",
            s.officer_no,
            s.name,
            s.role,
            s.district.as_deref().unwrap_or("-"),
            s.changes
        )?;
    }
    if let Some(w) = &r.witnessed {
        writeln!(
            out,
            "见证 witnessed: 本机收集的 {} 个设备的 {} 份签名检查点 {} signed checkpoints of {} devices, collected by this replica: {} 处遗漏 omission(s), {} 份晚于导出 later than the export",
            w.devices, w.checkpoints, w.checkpoints, w.devices, w.omissions, w.since_export
        )?;
    }
    for n in &r.notes {
        writeln!(out, "注意 note: {n}")?;
    }
    for p in &r.problems {
        writeln!(out, "问题 PROBLEM: {p}")?;
    }
    Ok(())
}
