//! Rule sets (规则版本): what the labor section publishes, and what
//! publishing one would change before it is written.

use std::collections::BTreeMap;
use std::path::Path;

use crdt_schema::{
    DistrictId, DocId, Entry, InmateResult, Month, MonthFacts, RegistryFacts, RuleSet, Sources,
    score_month,
};

use super::{Read, Result, Service, ServiceError};
use crate::close;
use crate::input;
use crate::session::{Committed, Identity, WriteSession};

/// Largest rule-set file read.
pub const MAX_RULES_BYTES: u64 = 64 * 1024;

/// Every rule-set version, by the month it is effective from.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleVersions {
    pub versions: Vec<RuleSet>,
}

impl RuleVersions {
    /// The version in force for `month`: the latest effective not after it.
    pub fn in_force(&self, month: Month) -> Option<&RuleSet> {
        self.versions
            .iter()
            .rev()
            .find(|r| r.effective_from <= month)
    }
}

/// What publishing a rule set changes in one district-month already scored:
/// its rule set in force changes (so its report does), and this many
/// inmates' figures with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleEffect {
    pub district: DistrictId,
    pub month: Month,
    /// Inmates whose figures (any field of their result) change.
    pub inmates: usize,
    pub sealed: bool,
}

/// A rule set published, with what it changed.
#[derive(Debug, Clone)]
pub struct Published {
    pub effects: Vec<RuleEffect>,
    pub committed: Committed,
}

/// Why a rule-set file cannot be published: the field (where the reader
/// names one) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct RulesFileError {
    pub file: String,
    pub reason: String,
}

/// What a published rule set must hold beyond its fields' ranges: the
/// labor bonuses of the part may not exceed half its base (Art. 10). Not
/// part of decoding, so a stored version is always read back.
pub fn publishable(r: &RuleSet) -> std::result::Result<(), String> {
    r.validate().map_err(|e| e.to_string())?;
    if r.cap_cp.0.saturating_mul(2) > r.base_cp.0 {
        return Err(format!(
            "cap_cp {} exceeds half of base_cp {} (Art. 10: the labor bonuses of a part may not exceed 50% of its base)",
            r.cap_cp.0, r.base_cp.0
        ));
    }
    Ok(())
}

/// Reads a rule set from TOML or JSON (the fields `tally rules show --json`
/// prints), checking every field. JSON is told by its first character.
pub fn parse_rules(file: &str, bytes: &[u8]) -> std::result::Result<RuleSet, RulesFileError> {
    let bad = |reason: String| RulesFileError {
        file: file.to_string(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| bad(format!("not UTF-8 text: {e}")))?;
    let text = text.trim_start_matches('\u{feff}');
    let rules: RuleSet = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| bad(e.to_string()))?
    } else {
        toml::from_str(text).map_err(|e| bad(e.to_string().trim_end().to_string()))?
    };
    publishable(&rules).map_err(bad)?;
    Ok(rules)
}

/// One field of a rule set as people read it: its name in the file, its
/// value, and what it means, in Chinese (the CLI and the app show the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub value: String,
    pub zh: &'static str,
}

/// Every field of `r`, in the file's order.
pub fn fields(r: &RuleSet) -> Vec<Field> {
    use crdt_schema::{BaseBasis, Continuity};
    let f = |name, value: String, zh| Field { name, value, zh };
    let nq = &r.no_quota;
    vec![
        f(
            "effective_from",
            r.effective_from.to_string(),
            "生效月份：自该月起适用，直至下一版本",
        ),
        f(
            "base_cp",
            r.base_cp.0.to_string(),
            "劳动改造基础分（厘分，3000 = 30 分）",
        ),
        f(
            "default_minutes",
            r.default_minutes.to_string(),
            "出勤记录未填时的可用工时（分钟）",
        ),
        f(
            "default_grade_bp",
            r.default_grade_bp.to_string(),
            "默认等级系数（万分比，10000 = 100%）",
        ),
        f(
            "ramp",
            r.ramp
                .map(|x| format!("{} 天 {}", x.days, x.grade_bp))
                .unwrap_or_else(|| "—".into()),
            "新入监人员过渡期：入监后若干天内的等级系数",
        ),
        f(
            "no_quota",
            format!(
                "{}/{}/{}/{}/{}",
                nq.outstanding.0, nq.excellent.0, nq.good.0, nq.fair.0, nq.absent.0
            ),
            "无定额岗位评等系数：突出/优秀/良好/一般/缺勤（万分比）",
        ),
        f(
            "continuity",
            match r.continuity {
                Continuity::EveryWorkDay { min_work_days } => {
                    format!("every_work_day ≥{min_work_days}")
                }
                Continuity::Run { days } => format!("run {days}"),
            },
            "连续超额的认定：每个出工日均超额，或连续若干个劳动日超额",
        ),
        f(
            "bonus_num/bonus_den",
            format!("{}/{}", r.bonus_num, r.bonus_den),
            "超额加分：每超 1 个万分点加 bonus_num/bonus_den 厘分（1/2 即每超 1% 加 0.5 分）",
        ),
        f(
            "cap_cp",
            r.cap_cp.0.to_string(),
            "劳动加分上限（厘分；不超过基础分的 50%，第十条）",
        ),
        f(
            "approval_bonus_cp",
            r.approval_bonus_cp.0.to_string(),
            "达到此数的加分须经监狱计分考核工作组审批（厘分，第二十七条）",
        ),
        f(
            "approval_deduct_cp",
            r.approval_deduct_cp.0.to_string(),
            "达到此数的扣分须经监狱计分考核工作组审批（厘分）",
        ),
        f(
            "spot_deduct_max_cp",
            r.spot_deduct_max_cp.0.to_string(),
            "不超过此数的扣分当场决定、即时计入；其余加扣分须经监区计分考核工作小组周评议（厘分，第二十五条）",
        ),
        f(
            "decision_levels",
            r.decision_levels.to_string(),
            "分级决定：除当场扣分外，加扣分须经监区计分考核工作小组周评议通过，达到审批线的再经监狱计分考核工作组审批（false 为原程序：录入即计入，监区长审批）",
        ),
        f(
            "posting_working_days",
            r.posting_working_days.to_string(),
            "公示期（工作日，第三十五条）",
        ),
        f(
            "holidays",
            r.holidays
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            "法定节假日（非工作日的周一至周五，日期按先后）",
        ),
        f(
            "workdays",
            r.workdays
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            "调休上班日（作为工作日的周六、周日）",
        ),
        f(
            "outlier_rate_bp",
            r.outlier_rate_bp.0.to_string(),
            "日效率超过此值即标记效率异常、待核查（万分比）",
        ),
        f(
            "requires_confirmation",
            r.requires_confirmation.to_string(),
            "日记载是否须另一名民警二次签名确认",
        ),
        f(
            "base_basis",
            match r.base_basis {
                BaseBasis::Daily => "daily".into(),
                BaseBasis::Monthly => "monthly".into(),
            },
            "基础分口径：daily 按日效率，monthly 按全月效率（长短日可互补）",
        ),
    ]
}

/// Inmates whose results differ between two reports of the same month
/// (their `amended_after_seal` aside: publishing over a sealed month sets
/// it on everyone, and it is the figures that are counted here).
fn changed_inmates(before: &[InmateResult], after: &[InmateResult]) -> usize {
    let by_no = |v: &[InmateResult]| -> BTreeMap<String, InmateResult> {
        v.iter()
            .map(|r| {
                let mut r = r.clone();
                r.flags
                    .retain(|f| *f != crdt_schema::Flag::AmendedAfterSeal);
                (r.inmate_no.to_string(), r)
            })
            .collect()
    };
    let (b, a) = (by_no(before), by_no(after));
    b.keys()
        .chain(a.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .count()
}

/// What publishing `rules` over `registry` would change in every
/// district-month the store holds from its first month on.
fn effects(
    s: &mut WriteSession<'_>,
    months: &[DocId],
    registry: &RegistryFacts,
    rules: &RuleSet,
) -> Result<Vec<RuleEffect>> {
    let mut after = registry.clone();
    after
        .rule_sets
        .insert(rules.effective_from, Entry::new(rules.clone(), false));
    let mut out = Vec::new();
    for id in months {
        let DocId::Month { district, month } = id else {
            continue;
        };
        if *month < rules.effective_from {
            continue;
        }
        let facts = s.month(district, *month)?.facts();
        let others: Vec<MonthFacts> = close::other_sources(s, registry, &facts)?
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        let score = |r: &RegistryFacts| -> Result<Option<Vec<InmateResult>>> {
            if r.rule_set_for(*month).is_none() {
                return Ok(None);
            }
            let report = score_month(r, &Sources::new(r, &facts, &others)?)?;
            Ok(Some(report.body.inmates))
        };
        // A month whose rule set in force does not change is untouched; one
        // whose does has a new report (its version is in the digest) even
        // if no figure moves, and a sealed one is amended by it.
        if registry.rule_set_for(*month) == after.rule_set_for(*month) {
            continue;
        }
        let (b, a) = (score(registry)?, score(&after)?);
        let inmates = match (&b, &a) {
            (Some(b), Some(a)) => changed_inmates(b, a),
            (None, Some(a)) => a.len(),
            _ => 0,
        };
        {
            out.push(RuleEffect {
                district: district.clone(),
                month: *month,
                inmates,
                sealed: facts.seal.is_some(),
            });
        }
    }
    Ok(out)
}

impl Service {
    /// Every rule-set version in the registry.
    pub fn rules(&self) -> Result<Read<RuleVersions>> {
        let _lock = self.store.lock_shared()?;
        let mut issues = Vec::new();
        let registry = self.registry(None, &mut issues)?;
        Ok(Read {
            value: RuleVersions {
                versions: registry.rule_sets.into_values().map(|e| e.value).collect(),
            },
            issues,
        })
    }

    /// What publishing `rules` would change, without writing it.
    pub fn rules_effects(
        &self,
        who: &Identity,
        time: i64,
        rules: &RuleSet,
    ) -> Result<Vec<RuleEffect>> {
        let months = self.store.month_ids()?;
        // A session reads under the exclusive lock and is dropped unwritten.
        let mut s = WriteSession::begin(&self.store, who, time, "rules preview")?;
        let registry = s.registry_facts()?;
        effects(&mut s, &months, &registry, rules)
    }

    /// The labor section publishes a rule set, effective from its month.
    /// One that would change a sealed month's figures is refused unless
    /// `force`: then that month shows `amended_after_seal` until resealed.
    pub fn publish_rules(
        &self,
        who: &Identity,
        time: i64,
        rules: &RuleSet,
        force: bool,
    ) -> Result<Read<Published>> {
        publishable(rules).map_err(ServiceError::BadRules)?;
        let months = self.store.month_ids()?;
        let note = format!("rule set from {}", rules.effective_from);
        let done = self.write(who, time, note, |s| {
            let registry = s.registry_facts()?;
            let effects = effects(s, &months, &registry, rules)?;
            let sealed: Vec<RuleEffect> = effects.iter().filter(|e| e.sealed).cloned().collect();
            if !sealed.is_empty() && !force {
                return Err(ServiceError::RulesAmendSealed { months: sealed });
            }
            s.write_registry(|w| w.put_rule_set(rules))?;
            Ok(effects)
        })?;
        let (effects, committed) = done.value;
        Ok(Read {
            value: Published { effects, committed },
            issues: done.issues,
        })
    }

    /// [`parse_rules`] of a file, read bounded.
    pub fn read_rules_file(path: &Path, label: &str) -> Result<RuleSet> {
        let bytes = input::read_bounded(path, MAX_RULES_BYTES, "rule set")?;
        parse_rules(label, &bytes).map_err(|e| ServiceError::BadRules(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_set_round_trips_through_json_and_toml() {
        let r = RuleSet::standard("2026-11".parse().unwrap());
        let json = serde_json::to_string_pretty(&r).unwrap();
        assert_eq!(parse_rules("r.json", json.as_bytes()), Ok(r.clone()));
        let toml = toml::to_string(&r).unwrap();
        assert_eq!(parse_rules("r.toml", toml.as_bytes()), Ok(r));
    }

    #[test]
    fn a_bad_field_is_refused_naming_it() {
        let mut r = RuleSet::standard("2026-11".parse().unwrap());
        r.cap_cp = crdt_schema::Cp(-1);
        let e = parse_rules("r.json", serde_json::to_string(&r).unwrap().as_bytes()).unwrap_err();
        assert!(
            e.to_string()
                .contains("cap_cp `-1` is not an integer in 0..=100000"),
            "{e}"
        );
        let e =
            parse_rules("r.toml", b"effective_from = \"2026-11\"\nbonus_nmu = 1\n").unwrap_err();
        assert!(e.to_string().contains("bonus_nmu"), "{e}");
        let e = parse_rules("r.json", br#"{"effective_from": "2026-13"}"#).unwrap_err();
        assert!(e.to_string().contains("2026-13"), "{e}");
    }
}
