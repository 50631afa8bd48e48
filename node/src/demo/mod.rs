//! The built-in demo prison: a realistic, seeded month of labor records.
//!
//! Deterministic: the same options give the same facts (and so the same report
//! digests) on every machine. The month has rest and study days, national
//! holidays in October, sick spells, a confinement, a stoppage, admissions and
//! releases mid-month, a mid-month standard-time revision, team counts shared
//! by minutes, adjustments, over-fulfilers, a few data-entry outliers, and the
//! chief's review approving part of what awaits approval.
//!
//! Generation is pure ([`build`]); writing goes through the same typed
//! operations as CSV import ([`crate::ops`]), one change per district per day
//! as an officer's daily save would make.

use std::collections::BTreeMap;

use crdt_schema::{
    Adjustment, Attendance, Cp, Date, DayType, DistrictId, Inmate, InmateNo, Month, MonthFacts,
    ProcedureId, ProcedureVersion, Ramp, RegistryFacts, RuleSet, ScoreError, score_month,
};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use crate::ops::{self, MonthOp, Plan, RegistryOp};
use crate::session::{Committed, Identity, WriteError, WriteSession};
use crate::store::Store;
use keys::{CertBody, CertError, Certificate, Role, SecretKey};
use sha2::{Digest as _, Sha256};

pub mod year;

/// Options of `tally demo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    pub inmates: u32,
    pub month: Month,
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            inmates: 1200,
            month: Month::new(2026, 10).expect("valid month"),
            seed: 1,
        }
    }
}

/// Inmates per district (a district of 200–300 is typical).
const PER_DISTRICT: u32 = 300;
const MIN_DISTRICTS: u32 = 6;

/// The demo in batches of writes, in the order an officer would make them.
#[derive(Debug, Clone, Default)]
pub struct Demo {
    /// The labor section's catalogue: products, procedures, the rule set.
    pub catalogue: Plan,
    /// The records office's roster: districts and inmates.
    pub roster: Plan,
    /// One batch per day: every district's records of that day.
    pub days: Vec<Plan>,
    /// Bonuses and deductions recorded over the month.
    pub adjustments: Plan,
    pub districts: Vec<DistrictId>,
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任",
    "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦",
    "欧阳", "司马",
];
const GIVEN: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "洋", "峰", "建", "国", "文",
    "东", "亮", "成", "忠", "海", "兵", "志", "春", "庆", "荣", "镕", "堃", "喆", "昊", "晟", "炜",
];

/// Chinese numerals for district names, 1–99.
fn zh_number(n: u32) -> String {
    const D: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        1..=9 => D[n as usize].to_string(),
        10 => "十".to_string(),
        11..=19 => format!("十{}", D[(n % 10) as usize]),
        20..=99 => format!("{}十{}", D[(n / 10) as usize], D[(n % 10) as usize]),
        _ => n.to_string(),
    }
}

fn id<T: std::str::FromStr>(s: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    s.parse().expect("demo identifiers are valid codes")
}

/// One procedure of the catalogue: id, product, name, standard time, whether
/// it is counted per team, and its mid-month revision (if any).
struct Proc {
    id: &'static str,
    product: &'static str,
    name: &'static str,
    std_ms: u64,
    team: bool,
    revised_ms: Option<u64>,
}

const PROCS: &[Proc] = &[
    Proc {
        id: "SHIRT-01",
        product: "SHIRT",
        name: "裁剪",
        std_ms: 6000,
        team: false,
        revised_ms: None,
    },
    Proc {
        id: "SHIRT-02",
        product: "SHIRT",
        name: "缝领",
        std_ms: 12_500,
        team: false,
        revised_ms: Some(11_800),
    },
    Proc {
        id: "SHIRT-03",
        product: "SHIRT",
        name: "上袖",
        std_ms: 18_000,
        team: false,
        revised_ms: None,
    },
    Proc {
        id: "SHIRT-04",
        product: "SHIRT",
        name: "锁眼钉扣",
        std_ms: 9000,
        team: false,
        revised_ms: None,
    },
    Proc {
        id: "SHIRT-05",
        product: "SHIRT",
        name: "整烫包装",
        std_ms: 7500,
        team: true,
        revised_ms: None,
    },
    Proc {
        id: "GLOVE-01",
        product: "GLOVE",
        name: "裁片",
        std_ms: 2500,
        team: false,
        revised_ms: None,
    },
    Proc {
        id: "GLOVE-02",
        product: "GLOVE",
        name: "缝合",
        std_ms: 9000,
        team: false,
        revised_ms: Some(9500),
    },
    Proc {
        id: "GLOVE-03",
        product: "GLOVE",
        name: "翻面",
        std_ms: 3500,
        team: false,
        revised_ms: None,
    },
    Proc {
        id: "GLOVE-04",
        product: "GLOVE",
        name: "检验包装",
        std_ms: 3000,
        team: true,
        revised_ms: None,
    },
];

/// How an inmate works this month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// Skill in permille of quota.
    Worker {
        skill: u32,
        steady_over: bool,
    },
    NoQuota,
    Exempt,
}

struct DemoInmate {
    no: InmateNo,
    inmate: Inmate,
    profile: Profile,
    /// Index into `PROCS`.
    procedure: usize,
    /// Transfers, in date order: from each date, in that district.
    moves: Vec<(Date, DistrictId)>,
}

impl DemoInmate {
    /// The district holding the inmate on `date` (custody aside).
    fn district_on(&self, date: Date) -> &DistrictId {
        self.moves
            .iter()
            .rev()
            .find(|(from, _)| *from <= date)
            .map_or(&self.inmate.district, |(_, to)| to)
    }
}

/// Day types of the calendar, before any individual absence: Sundays rest,
/// Saturdays are study days, and New Year's Day, 1–3 May and 1–3 October
/// are holidays.
fn calendar_day(date: Date) -> DayType {
    let (m, d) = (date.month().month(), date.day());
    let holiday = ((m == 10 || m == 5) && d <= 3) || (m == 1 && d == 1);
    match date.weekday() {
        _ if holiday => DayType::Rest,
        7 => DayType::Rest,
        6 => DayType::Study,
        _ => DayType::Work,
    }
}

/// Each procedure's standard times by the date they are in force from
/// (indexed as `PROCS`), in date order.
#[derive(Debug, Clone)]
struct Catalogue {
    versions: Vec<Vec<(Date, u64)>>,
}

impl Catalogue {
    /// The standard time of procedure `p` in force on `date`.
    fn std_ms(&self, p: usize, date: Date) -> u64 {
        let versions = &self.versions[p];
        versions
            .iter()
            .rev()
            .find(|(from, _)| *from <= date)
            .or(versions.first())
            .map_or(PROCS[p].std_ms, |(_, ms)| *ms)
    }

    /// Writes version `ms` of procedure `p` from `from` (and remembers it).
    fn revise(&mut self, ops: &mut Vec<RegistryOp>, p: usize, from: Date, ms: u64) {
        let proc = &PROCS[p];
        ops.push(RegistryOp::Procedure(
            id(proc.id),
            from,
            ProcedureVersion {
                product: id(proc.product),
                name: proc.name.to_string(),
                std_ms: ms,
            },
        ));
        let versions = &mut self.versions[p];
        versions.retain(|(d, _)| *d != from);
        versions.push((from, ms));
        versions.sort_by_key(|(d, _)| *d);
    }
}

/// The labor section's catalogue from two months before `month`, its
/// revision on the 16th of `month`, and the rule sets (the standard one
/// from two months back, and from `month` one adding a ramp for new
/// workers).
fn catalogue(month: Month, reg: &mut Vec<RegistryOp>) -> Catalogue {
    let start = month.prev().and_then(Month::prev).unwrap_or(month).first();
    let revision = month.day(16).expect("every month has a 16th");
    reg.push(RegistryOp::Product(id("SHIRT"), "衬衫".into()));
    reg.push(RegistryOp::Product(id("GLOVE"), "劳保手套".into()));
    let mut catalogue = Catalogue {
        versions: vec![Vec::new(); PROCS.len()],
    };
    for (k, p) in PROCS.iter().enumerate() {
        catalogue.revise(reg, k, start, p.std_ms);
        if let Some(r) = p.revised_ms {
            catalogue.revise(reg, k, revision, r);
        }
    }
    reg.push(RegistryOp::RuleSet(RuleSet::standard(start.month())));
    let mut rules = RuleSet::standard(month);
    rules.ramp = Some(Ramp {
        days: 7,
        grade_bp: 6000,
    });
    reg.push(RegistryOp::RuleSet(rules));
    catalogue
}

/// The prison's districts (`D01`…), named in Chinese numerals.
fn districts(inmates: u32, roster: &mut Vec<RegistryOp>) -> Vec<DistrictId> {
    let n_districts = inmates.div_ceil(PER_DISTRICT).max(MIN_DISTRICTS);
    (1..=n_districts)
        .map(|d| {
            let district: DistrictId = id(&format!("D{d:02}"));
            roster.push(RegistryOp::District(
                district.clone(),
                format!("{}监区", zh_number(d)),
            ));
            district
        })
        .collect()
}

/// A name from the common surnames and one or two given characters.
fn person_name(rng: &mut ChaCha8Rng) -> String {
    let surname = SURNAMES[rng.random_range(0..SURNAMES.len())];
    let mut name = surname.to_string();
    for _ in 0..rng.random_range(1..=2) {
        name.push_str(GIVEN[rng.random_range(0..GIVEN.len())]);
    }
    name
}

/// How a new inmate of `district` works, and on which procedure.
fn work(rng: &mut ChaCha8Rng, district: &DistrictId) -> (Profile, usize) {
    // Most inmates meet their quota every day (a quota is set so a
    // trained worker can); about one in twelve over-fulfils steadily and
    // earns a real bonus; about one in sixteen is short on some days.
    let kind = rng.random_range(0..1000);
    let profile = match kind {
        0..=4 => Profile::Exempt,
        5..=34 => Profile::NoQuota,
        35..=114 => Profile::Worker {
            skill: rng.random_range(1080..=1250),
            steady_over: true,
        },
        115..=174 => Profile::Worker {
            skill: rng.random_range(850..=980),
            steady_over: false,
        },
        _ => Profile::Worker {
            skill: rng.random_range(1000..=1008),
            steady_over: true,
        },
    };
    // The product's procedures, the last of which is counted per team;
    // one in five inmates works on the team.
    let (first, team) = if district_product_is_shirt(district) {
        (0, 4)
    } else {
        (5, 8)
    };
    let procedure = if rng.random_range(0..5) == 0 {
        team
    } else {
        rng.random_range(first..team)
    };
    (profile, procedure)
}

/// The roster as it stands at the start of `month`: `count` inmates spread
/// over `districts`, a few admitted or released during the month.
fn roster(
    rng: &mut ChaCha8Rng,
    month: Month,
    count: u32,
    districts: &[DistrictId],
    ops: &mut Vec<RegistryOp>,
) -> Vec<DemoInmate> {
    let n_districts = districts.len() as u32;
    let mut inmates = Vec::new();
    for i in 0..count {
        let district = districts[(i * n_districts / count.max(1)) as usize].clone();
        let name = person_name(rng);
        let roll = rng.random_range(0..1000);
        let (admitted, released) = match roll {
            0..=19 => (
                month.day(rng.random_range(5..=25)).expect("day exists"),
                None,
            ),
            20..=39 => (
                Date::from_ordinal(month.first().ordinal() - rng.random_range(400..3000))
                    .expect("in range"),
                month.day(rng.random_range(5..=25)),
            ),
            _ => (
                Date::from_ordinal(month.first().ordinal() - rng.random_range(60..4000))
                    .expect("in range"),
                None,
            ),
        };
        let (profile, procedure) = work(rng, &district);
        let no: InmateNo = id(&format!("52{:08}", i + 1));
        let inmate = Inmate {
            name,
            district,
            admitted,
            released,
        };
        ops.push(RegistryOp::Inmate(no.clone(), inmate.clone()));
        inmates.push(DemoInmate {
            no,
            inmate,
            profile,
            procedure,
            moves: Vec::new(),
        });
    }
    inmates
}

/// What shapes one day's records besides the inmates themselves.
struct DayPlan<'a> {
    month: Month,
    catalogue: &'a Catalogue,
    /// A district stopped by force majeure, and the day.
    stoppage: (&'a DistrictId, Date),
    /// An inmate (index) whose count an officer types on a rest day, and the day.
    slip: Option<(usize, Date)>,
    /// The day of the planted double counts (one in 97 inmates).
    slip_day: Option<Date>,
    /// Shifts which inmates are confined on the 10th–14th (by month).
    confine_shift: usize,
}

impl<'a> DayPlan<'a> {
    /// The month's plan: a stoppage in `stoppage` on its first work day from
    /// the 20th, the planted double counts on the first work day after the
    /// 7th, `slip`'s count typed on the first Sunday.
    fn new(
        month: Month,
        catalogue: &'a Catalogue,
        stoppage: &'a DistrictId,
        slip: Option<usize>,
        confine_shift: usize,
    ) -> DayPlan<'a> {
        let sunday = month.dates().find(|d| d.weekday() == 7);
        DayPlan {
            month,
            catalogue,
            stoppage: (
                stoppage,
                month
                    .dates()
                    .find(|d| d.day() >= 20 && calendar_day(*d) == DayType::Work)
                    .expect("a work day after the 20th"),
            ),
            slip: slip.zip(sunday),
            slip_day: month
                .dates()
                .find(|d| d.day() > 7 && calendar_day(*d) == DayType::Work),
            confine_shift,
        }
    }
}

/// Every district's records of `date`, as its officer would enter them.
fn day_records(
    rng: &mut ChaCha8Rng,
    date: Date,
    inmates: &[DemoInmate],
    plan: &DayPlan<'_>,
    sick_left: &mut BTreeMap<usize, u32>,
) -> Plan {
    let month = plan.month;
    let mut day = Plan::default();
    let base_type = calendar_day(date);
    // Team production per district and team procedure.
    let mut team: BTreeMap<(DistrictId, usize), u64> = BTreeMap::new();
    for (k, di) in inmates.iter().enumerate() {
        if !di.inmate.in_custody(date) {
            continue;
        }
        let holder = di.district_on(date).clone();
        let ops = day.months.entry((holder.clone(), month)).or_default();
        let mut t = base_type;
        if t == DayType::Work {
            if holder == *plan.stoppage.0 && date == plan.stoppage.1 {
                t = DayType::Stoppage;
            } else if let Some(left) = sick_left.get_mut(&k) {
                t = DayType::Sick;
                *left -= 1;
                if *left == 0 {
                    sick_left.remove(&k);
                }
            } else if rng.random_range(0..1000) < 2 {
                t = DayType::Sick;
                let spell = rng.random_range(1..=3);
                if spell > 1 {
                    sick_left.insert(k, spell - 1);
                }
            } else if (k + plan.confine_shift) % 397 == 11 && (10..15).contains(&date.day()) {
                t = DayType::Confined;
            } else if rng.random_range(0..1000) < 1 {
                t = DayType::Absent;
            }
        }
        let (t, grade) = match di.profile {
            Profile::Exempt => (DayType::Exempt, String::new()),
            Profile::NoQuota if t == DayType::Work => {
                let g = match rng.random_range(0..100) {
                    0..=9 => "突出",
                    10..=39 => "优秀",
                    40..=97 => "良好",
                    98 => "一般",
                    _ => "缺勤",
                };
                (DayType::NoQuota, g.to_string())
            }
            _ => (t, String::new()),
        };
        // Now and then a half day (medical appointment, family visit).
        let minutes: u64 = if t == DayType::Work && rng.random_range(0..100) < 2 {
            240
        } else {
            480
        };
        let minutes_field = if minutes == 480 {
            String::new()
        } else {
            minutes.to_string()
        };
        let a = Attendance::from_fields(t.as_str(), &minutes_field, &grade)
            .expect("demo attendance is valid");
        ops.push(MonthOp::Attendance(di.no.clone(), date, a));
        if plan.slip == Some((k, date)) {
            ops.push(MonthOp::Count(
                di.no.clone(),
                date,
                id(PROCS[di.procedure].id),
                120,
            ));
        }
        let Profile::Worker { skill, steady_over } = di.profile else {
            continue;
        };
        if t != DayType::Work {
            continue;
        }
        let p = &PROCS[di.procedure];
        let std_ms = plan.catalogue.std_ms(di.procedure, date);
        // New workers are slower for their first week (and the ramp grade asks less).
        let ramp = date.days_since(di.inmate.admitted) < 7;
        let req_ms = minutes * 60_000 * if ramp { 6000 } else { 10_000 } / 10_000;
        // The quota in whole units, rounded up: meeting it is r ≥ 100%.
        let quota = req_ms.div_ceil(std_ms);
        let noise: u64 = if steady_over {
            rng.random_range(1000..=1006)
        } else {
            rng.random_range(920..=1080)
        };
        let mut q = quota * u64::from(skill) * noise / 1_000_000;
        if steady_over {
            q = q.max(quota);
        }
        // A rare data-entry slip: a count entered twice over (and, so
        // every district has one to hold for review, one in 97 inmates
        // on the first work day after the 7th).
        let planted = k % 97 == 5 && Some(date) == plan.slip_day;
        if rng.random_range(0..6000) == 0 || planted {
            q = q * 22 / 10;
        }
        let proc_id: ProcedureId = id(p.id);
        if p.team {
            // A team works at one pace and shares its count by minutes:
            // it keeps above every member's full quota (a new worker's
            // share is a full one), else its steady members would fall
            // short on the share of those who are slower.
            let full = (minutes * 60_000).div_ceil(std_ms);
            let q = q.max(full) * 1015 / 1000;
            ops.push(MonthOp::Assignment(di.no.clone(), date, proc_id));
            *team.entry((holder.clone(), di.procedure)).or_default() += q;
        } else {
            ops.push(MonthOp::Count(di.no.clone(), date, proc_id, q));
        }
    }
    for ((district, p), q) in team {
        day.months
            .entry((district, month))
            .or_default()
            .push(MonthOp::TeamCount(date, id(PROCS[p].id), q));
    }
    day.rows = day.months.values().map(Vec::len).sum();
    day
}

/// The month's bonuses and deductions: about one inmate in fourteen gets
/// one, on one of their first work days in custody.
fn adjustments(rng: &mut ChaCha8Rng, month: Month, inmates: &[DemoInmate]) -> Plan {
    const DEDUCTIONS: &[(i64, &str)] = &[
        (-100, "违反操作规程"),
        (-300, "浪费原材料"),
        (-500, "质量不合格"),
        (-1000, "违反操作规程（情节较重）"),
        (-1500, "损坏生产工具"),
    ];
    const BONUSES: &[(i64, &str)] = &[
        (200, "小改小革"),
        (300, "技术革新建议被采纳"),
        (500, "抢修设备"),
    ];
    let mut plan = Plan::default();
    for (k, di) in inmates.iter().enumerate() {
        let roll = rng.random_range(0..100);
        let pick = match roll {
            0..=3 => Some(DEDUCTIONS[rng.random_range(0..DEDUCTIONS.len())]),
            4..=6 => Some(BONUSES[rng.random_range(0..BONUSES.len())]),
            _ => None,
        };
        let Some((points, reason)) = pick else {
            continue;
        };
        let Some(date) = month
            .dates()
            .filter(|d| di.inmate.in_custody(*d) && calendar_day(*d) == DayType::Work)
            .nth(rng.random_range(0..5))
        else {
            continue;
        };
        plan.months
            .entry((di.district_on(date).clone(), month))
            .or_default()
            .push(MonthOp::Adjustment(
                di.no.clone(),
                Adjustment {
                    date,
                    points_cp: Cp(points),
                    reason: reason.to_string(),
                    evidence: format!("记录-{}-{:04}", di.district_on(date), k),
                    special: false,
                    no_post: false,
                },
            ));
        plan.rows += 1;
    }
    plan
}

/// Builds the whole demo. Pure and deterministic in `opts`.
pub fn build(opts: DemoOptions) -> Demo {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let month = opts.month;
    let mut demo = Demo::default();
    let catalogue = catalogue(month, &mut demo.catalogue.registry);
    demo.districts = districts(opts.inmates, &mut demo.roster.registry);
    let mut inmates = roster(
        &mut rng,
        month,
        opts.inmates,
        &demo.districts,
        &mut demo.roster.registry,
    );

    // A transfer (调监区): the first D01 inmate held all month who works an
    // own-count procedure moves to D02 on the 16th; D02 scores the month.
    let moved_on = month.day(16).expect("every month has a 16th");
    let to = demo.districts[1].clone();
    let mover = inmates.iter().position(|di| {
        di.inmate.district == demo.districts[0]
            && di.inmate.admitted < month.first()
            && di.inmate.released.is_none()
            && matches!(
                di.profile,
                Profile::Worker {
                    steady_over: true,
                    ..
                }
            )
            && !PROCS[di.procedure].team
    });
    if let Some(k) = mover {
        inmates[k].moves.push((moved_on, to.clone()));
        demo.roster
            .registry
            .push(RegistryOp::Transfer(inmates[k].no.clone(), moved_on, to));
    }
    // A record that does not count: a D01 officer types a count for the
    // first Sunday, a rest day (it is listed, flagged and shown as such).
    let slip = inmates.iter().position(|di| {
        di.inmate.district == demo.districts[0]
            && Some(&di.no) != mover.map(|k| &inmates[k].no)
            && di.inmate.admitted < month.first()
            && di.inmate.released.is_none()
            && matches!(di.profile, Profile::Worker { .. })
            && !PROCS[di.procedure].team
    });
    let plan = DayPlan::new(month, &catalogue, &demo.districts[2], slip, 0);

    // The month, day by day.
    let mut sick_left: BTreeMap<usize, u32> = BTreeMap::new();
    for date in month.dates() {
        let day = day_records(&mut rng, date, &inmates, &plan, &mut sick_left);
        demo.days.push(day);
    }
    demo.adjustments = adjustments(&mut rng, month, &inmates);
    demo
}

fn district_product_is_shirt(d: &DistrictId) -> bool {
    // Odd districts sew shirts, even ones make gloves.
    d.as_str()
        .bytes()
        .last()
        .is_some_and(|b| (b - b'0') % 2 == 1)
}

/// The demo's staff: a records officer, a labor-section officer, and an
/// officer and a chief per district, with keys derived from the seed.
pub struct Staff {
    pub records: Identity,
    pub labor: Identity,
    pub officers: BTreeMap<DistrictId, Identity>,
    pub chiefs: BTreeMap<DistrictId, Identity>,
    /// The prison scoring working group's officer (计分考核工作组).
    pub prison_group: Identity,
}

impl Staff {
    /// Issues the staff's certificates (valid a year either side of the month).
    pub fn issue(
        authority: &SecretKey,
        districts: &[DistrictId],
        opts: DemoOptions,
    ) -> Result<Staff, CertError> {
        let from = Date::from_ordinal(opts.month.first().ordinal() - 365).expect("in range");
        let to = Date::from_ordinal(opts.month.last().ordinal() + 365).expect("in range");
        Staff::issue_for(authority, districts, opts.seed, from, to)
    }

    /// Issues the staff's certificates, valid from `from` to `to`, their keys
    /// derived from `seed`.
    fn issue_for(
        authority: &SecretKey,
        districts: &[DistrictId],
        seed: u64,
        from: Date,
        to: Date,
    ) -> Result<Staff, CertError> {
        let person = |no: &str,
                      name: &str,
                      role: Role,
                      district: Option<&DistrictId>|
         -> Result<Identity, CertError> {
            let mut h = Sha256::new();
            h.update(b"tally-demo-staff\0");
            h.update(seed.to_le_bytes());
            h.update(no.as_bytes());
            let key = SecretKey::from_seed(&h.finalize().into());
            let certificate = Certificate::issue(
                authority,
                CertBody {
                    officer_no: no.into(),
                    name: name.into(),
                    district: district.cloned(),
                    role,
                    public_key: key.public(),
                    valid_from: from,
                    valid_to: to,
                },
            )?;
            Ok(Identity { key, certificate })
        };
        let mut staff = Staff {
            records: person("R001", "档案科民警", Role::Records, None)?,
            labor: person("L001", "劳动改造科民警", Role::LaborSection, None)?,
            officers: BTreeMap::new(),
            chiefs: BTreeMap::new(),
            prison_group: person("G001", "计分考核工作组民警", Role::PrisonGroup, None)?,
        };
        for d in districts {
            let surname =
                SURNAMES[d.as_str().bytes().map(usize::from).sum::<usize>() % SURNAMES.len()];
            staff.officers.insert(
                d.clone(),
                person(
                    &format!("{d}-01"),
                    &format!("{surname}警官"),
                    Role::Officer,
                    Some(d),
                )?,
            );
            staff.chiefs.insert(
                d.clone(),
                person(
                    &format!("{d}-00"),
                    &format!("{surname}监区长"),
                    Role::Chief,
                    Some(d),
                )?,
            );
        }
        Ok(staff)
    }

    fn all(&self) -> impl Iterator<Item = &Identity> {
        [&self.records, &self.labor, &self.prison_group]
            .into_iter()
            .chain(self.officers.values())
            .chain(self.chiefs.values())
    }
}

/// What [`generate`] wrote.
pub struct Generated {
    pub districts: Vec<DistrictId>,
    pub staff: Staff,
    pub committed: Committed,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error(transparent)]
    Cert(#[from] CertError),
    #[error(transparent)]
    Close(#[from] crate::close::CloseError),
    /// `--months` on a data directory whose records it would not continue.
    #[error("{0}")]
    NotAContinuation(String),
}

/// Seconds since the epoch of `date` at `hour`:00 China Standard Time.
fn at(date: Date, hour: i64) -> i64 {
    date.ordinal() * 86_400 + (hour - 8) * 3600
}

/// Writes each district's share of `plan` as that district's officer.
fn apply_by_district<'s>(
    s: &mut WriteSession<'s>,
    plan: &Plan,
    staff: &'s BTreeMap<DistrictId, Identity>,
) -> Result<(), WriteError> {
    for ((district, month), ops) in &plan.months {
        if let Some(who) = staff.get(district) {
            s.set_identity(who);
        }
        let one = Plan {
            rows: ops.len(),
            registry: Vec::new(),
            months: BTreeMap::from([((district.clone(), *month), ops.clone())]),
        };
        ops::apply(s, &one)?;
    }
    Ok(())
}

/// Builds the demo and writes it into `store` as the prison's staff would:
/// the admin enrols the staff, the records office the roster, the labor
/// section the catalogue, each district's officer its daily records (one
/// signed change per district per day, stated at 18:00 that day), the
/// officers their adjustments, and each chief approves part of what awaits
/// approval and seals the month (all districts but the last). Every touched
/// document is compacted at the end.
///
/// `now` is when the admin enrols the staff (the admin's certificate starts
/// the day the prison was set up, which may be after the demo month).
pub fn generate(
    store: &Store,
    admin: &Identity,
    authority: &SecretKey,
    now: i64,
    opts: DemoOptions,
) -> Result<Generated, DemoError> {
    let d = build(opts);
    let staff = Staff::issue(authority, &d.districts, opts)?;
    let committed = write(store, admin, &staff, &d, now, opts)?;
    Ok(Generated {
        districts: d.districts,
        staff,
        committed,
    })
}

fn write(
    store: &Store,
    admin: &Identity,
    staff: &Staff,
    d: &Demo,
    now: i64,
    opts: DemoOptions,
) -> Result<Committed, DemoError> {
    let month = opts.month;
    let mut s = WriteSession::begin(store, admin, now, "demo: enrol staff")?;
    enrol(&mut s, staff)?;
    s.set_time(at(month.first(), 8) - 86_400);
    s.set_identity(&staff.records);
    s.set_message("demo: roster");
    ops::apply(&mut s, &d.roster)?;
    s.set_identity(&staff.labor);
    s.set_message("demo: catalogue and rule set");
    ops::apply(&mut s, &d.catalogue)?;
    for (day, plan) in month.dates().zip(&d.days) {
        s.set_time(at(day, 18));
        s.set_message(format!("demo: daily records {day}"));
        apply_by_district(&mut s, plan, &staff.officers)?;
    }
    month_end(
        &mut s,
        staff,
        &d.districts,
        &d.adjustments,
        month,
        opts.seed,
        &d.districts[..d.districts.len() - 1],
    )?;
    Ok(s.commit_compacted()?)
}

/// The admin enrols every member of the staff (their certificates into the
/// registry's trust records).
fn enrol(s: &mut WriteSession<'_>, staff: &Staff) -> Result<(), DemoError> {
    s.write_registry(|w| {
        for who in staff.all() {
            let key = crdt_schema::RegistryKey::Officer(crdt_schema::KeyHex::from_bytes(
                who.public().as_bytes(),
            ));
            w.put_trust(&key, &who.certificate.to_json())?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The month's end: the officers' bonuses and deductions, each chief's
/// weekly reviews, the prison group's approvals, the postings (and the whole
/// procedure in the first district), and the seals of `seal` once the
/// postings have ended.
fn month_end<'s>(
    s: &mut WriteSession<'s>,
    staff: &'s Staff,
    districts: &[DistrictId],
    adjustments: &Plan,
    month: Month,
    seed: u64,
    seal: &[DistrictId],
) -> Result<(), DemoError> {
    s.set_time(at(month.last(), 20));
    s.set_message("demo: bonuses and deductions");
    apply_by_district(s, adjustments, &staff.officers)?;

    // The weekly reviews: each chief records the district group's decision
    // of every entry of each week (one correction and one return in the
    // first district), held on the week's Friday (or the month's last day).
    s.set_time(at(month.last(), 20) + 1800);
    s.set_message("demo: weekly reviews");
    let registry = s.registry_facts()?;
    let spot_max = registry
        .rule_set_for(month)
        .map_or(crdt_schema::SPOT_DEDUCT_MAX_CP, |r| r.spot_deduct_max_cp);
    for (i, district) in districts.iter().enumerate() {
        let facts = s.month(district, month)?.facts();
        let reviews = weekly_reviews(&facts, spot_max, i == 0);
        s.set_identity(&staff.chiefs[district]);
        s.write_month(district, month, |w| {
            for r in &reviews {
                w.put_review(r)?;
            }
            Ok(())
        })?;
    }

    // Month end: the prison group approves part of what awaits it, and
    // each chief posts.
    s.set_time(at(month.last(), 21));
    s.set_message("demo: month-end approvals");
    for (i, district) in districts.iter().enumerate() {
        let facts = s.month(district, month)?.facts();
        let others = other_facts(s, &registry, &facts)?;
        let sources = crdt_schema::Sources::new(&registry, &facts, &others)?;
        let approvals = review(&registry, &sources, seed)?;
        s.set_identity(&staff.prison_group);
        s.write_month(district, month, |w| {
            for op in &approvals {
                if let MonthOp::Approval(no, t, cp) = op {
                    w.put_group_approval(no, t.clone(), *cp)?;
                }
            }
            Ok(())
        })?;
        if i == 0 {
            the_procedure(s, staff, &registry, district, month)?;
        } else {
            // Every other district posts on the month's last day too.
            let report = {
                let facts = s.month(district, month)?.facts();
                let others = other_facts(s, &registry, &facts)?;
                let sources = crdt_schema::Sources::new(&registry, &facts, &others)?;
                score_month(&registry, &sources)?
            };
            s.set_identity(&staff.chiefs[district]);
            s.write_month(district, month, |w| {
                w.put_posting(&crdt_schema::Posting {
                    digest: report.digest.0,
                    first_day: month.last(),
                })
                .map(|_| ())
            })?;
        }
    }
    // The seals, once the postings have ended (3 working days from the
    // month's last day end within 5 days of it) and every application is
    // answered: stated nine days after the month.
    s.set_time(at(month.last(), 10) + 9 * 86_400);
    s.set_message("demo: seals");
    for district in seal {
        s.set_identity(&staff.chiefs[district]);
        crate::close::seal_month(s, district, month)?;
    }
    Ok(())
}

/// The other districts' documents `facts`' report reads, as it reads them.
fn other_facts(
    s: &mut WriteSession<'_>,
    registry: &RegistryFacts,
    facts: &MonthFacts,
) -> Result<Vec<MonthFacts>, DemoError> {
    Ok(crate::close::other_sources(s, registry, facts)?
        .into_iter()
        .map(|(f, _)| f)
        .collect())
}

/// The rest of the month's procedure in the first district: the chief
/// posts the report, an inmate applies for a 复查 of a decided entry (upheld
/// by the group) and then a 复核 (the prison group corrects it to half), and
/// every inmate's monthly sheet is acknowledged, one refused.
fn the_procedure<'a>(
    s: &mut WriteSession<'a>,
    staff: &'a Staff,
    registry: &RegistryFacts,
    district: &DistrictId,
    month: crdt_schema::Month,
) -> Result<(), DemoError> {
    use crdt_schema::{
        AckState, Acknowledgement, Answer, AnswerOutcome, Application, ApplicationKind, Posting,
    };
    let day = |d: Date, n: i64| Date::from_ordinal(d.ordinal() + n).expect("in range");
    let facts = s.month(district, month)?.facts();
    let others = other_facts(s, registry, &facts)?;
    let sources = crdt_schema::Sources::new(registry, &facts, &others)?;
    let report = score_month(registry, &sources)?;
    let explained = crdt_schema::explain_month(registry, &sources)?;
    let chief = &staff.chiefs[district];
    let officer = &staff.officers[district];
    let posted = month.last();
    s.set_identity(chief);
    s.write_month(district, month, |w| {
        w.put_posting(&Posting {
            digest: report.digest.0.clone(),
            first_day: posted,
        })
        .map(|_| ())
    })?;
    let passed = explained.iter().find_map(|e| {
        e.adjustments
            .iter()
            .find(|a| {
                a.district == *district
                    && a.status == crdt_schema::EntryStatus::Counted
                    && a.decision.is_some()
                    && a.counted_cp.0 / 2 != 0
            })
            .map(|a| (e.result.inmate_no.clone(), a.clone()))
    });
    if let Some((inmate, line)) = passed {
        let recheck = Application {
            inmate: inmate.clone(),
            kind: ApplicationKind::Recheck,
            entry: Some(line.id.clone()),
            figure: String::new(),
            reason: "对该项加扣分有异议".into(),
            received: day(posted, 2),
            follows: None,
        };
        s.set_identity(officer);
        let recheck_id = s.write_month(district, month, |w| w.put_application(&recheck))?;
        s.set_identity(chief);
        let upheld = Answer {
            application: recheck_id.clone(),
            decided: day(posted, 4),
            outcome: AnswerOutcome::Upheld,
            note: "经小组复查，维持原决定".into(),
            vote: Some((7, 6)),
        };
        s.write_month(district, month, |w| {
            w.put_answer(&upheld, false).map(|_| ())
        })?;
        let review = Application {
            inmate: inmate.clone(),
            kind: ApplicationKind::Review,
            entry: Some(line.id.clone()),
            figure: String::new(),
            reason: "不服复查结果，申请复核".into(),
            received: day(posted, 5),
            follows: Some(recheck_id),
        };
        s.set_identity(officer);
        let review_id = s.write_month(district, month, |w| w.put_application(&review))?;
        s.set_identity(&staff.prison_group);
        let corrected = Answer {
            application: review_id,
            decided: day(posted, 7),
            outcome: AnswerOutcome::Corrected {
                points_cp: Cp(line.counted_cp.0 / 2),
            },
            note: "经复核，更正为原分值的一半".into(),
            vote: None,
        };
        s.write_month(district, month, |w| {
            w.put_answer(&corrected, true).map(|_| ())
        })?;
    }
    s.set_identity(officer);
    s.write_month(district, month, |w| {
        for (k, i) in report.body.inmates.iter().enumerate() {
            let ack = Acknowledgement {
                state: if k == 1 {
                    AckState::Refused
                } else {
                    AckState::Signed
                },
                date: day(posted, 8),
                note: if k == 1 {
                    "本人拒绝签字".into()
                } else {
                    String::new()
                },
            };
            w.put_acknowledgement(&i.inmate_no, &ack)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The district group's weekly reviews of one document: a 7-member group,
/// 5 or 6 in favour, passing every entry that is not a spot deduction, in
/// the week of its date; with `one_of_each`, the first such entry is
/// corrected to half its amount and the second returned.
fn weekly_reviews(facts: &MonthFacts, spot_max: Cp, one_of_each: bool) -> Vec<crdt_schema::Review> {
    use crdt_schema::{Decision, Outcome, Review, Week};
    let mut by_week: BTreeMap<Week, Vec<Decision>> = BTreeMap::new();
    for (no, rec) in &facts.inmates {
        for (id, e) in &rec.adjustments {
            let a = &e.value;
            if !a.special && a.points_cp < Cp::ZERO && -a.points_cp <= spot_max {
                continue;
            }
            let Some(week) = Week::of(a.date) else {
                continue;
            };
            by_week.entry(week).or_default().push(Decision {
                inmate: no.clone(),
                entry: id.clone(),
                outcome: Outcome::Pass,
            });
        }
    }
    let mut n = 0;
    let month = facts.month;
    by_week
        .into_iter()
        .map(|(week, mut decisions)| {
            let mut dissent = false;
            for d in &mut decisions {
                if one_of_each && n < 2 {
                    let points = facts.inmates[&d.inmate].adjustments[&d.entry]
                        .value
                        .points_cp;
                    d.outcome = if n == 0 && points.0 / 2 != 0 {
                        dissent = true;
                        Outcome::Correct {
                            points_cp: Cp(points.0 / 2),
                        }
                    } else {
                        Outcome::Return
                    };
                }
                n += 1;
            }
            let friday = week.dates().nth(4).unwrap_or(week.monday());
            Review {
                week,
                held: friday.min(month.last()).max(week.monday()),
                members: 7,
                present: 7,
                in_favour: 5 + (week.iso().1 % 2) as u32,
                decisions,
                dissent: if dissent {
                    "一名成员认为更正后的分值仍偏高".into()
                } else {
                    String::new()
                },
            }
        })
        .collect()
}

/// The prison group's approvals at month end: about three in five of the
/// amounts awaiting it in each district's report (whichever district's
/// document an entry was written in: approvals are the reporting
/// district's).
pub fn review(
    registry: &RegistryFacts,
    sources: &crdt_schema::Sources<'_>,
    seed: u64,
) -> Result<Vec<MonthOp>, crate::close::CloseError> {
    let facts = sources.own();
    let report = score_month(registry, sources)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_c41e_f000_0000);
    let mut ops = Vec::new();
    for r in &report.body.inmates {
        if r.pending_bonus_cp == Cp::ZERO && r.pending_deduct_cp == Cp::ZERO {
            continue;
        }
        if rng.random_range(0..5) >= 3 {
            continue;
        }
        let pending = crate::close::pending_approvals(
            registry,
            sources,
            &facts.district,
            facts.month,
            &r.inmate_no,
        )?;
        for a in pending {
            ops.push(MonthOp::Approval(r.inmate_no.clone(), a.target, a.points));
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_is_deterministic_by_seed() {
        let opts = DemoOptions {
            inmates: 60,
            ..DemoOptions::default()
        };
        let a = build(opts);
        let b = build(opts);
        assert_eq!(a.roster, b.roster);
        assert_eq!(a.catalogue, b.catalogue);
        assert_eq!(a.days, b.days);
        let c = build(DemoOptions { seed: 2, ..opts });
        assert_ne!(a.days, c.days);
    }

    #[test]
    fn the_demo_has_what_the_issue_asks_for() {
        let demo = build(DemoOptions::default());
        assert!(demo.districts.len() >= 6);
        let inmates = demo
            .roster
            .registry
            .iter()
            .filter(|op| matches!(op, RegistryOp::Inmate(..)))
            .count();
        assert_eq!(inmates, 1200);
        let procedures: std::collections::BTreeSet<_> = demo
            .catalogue
            .registry
            .iter()
            .filter_map(|op| match op {
                RegistryOp::Procedure(p, ..) => Some(p.clone()),
                _ => None,
            })
            .collect();
        assert!(procedures.len() >= 8);
        let all_ops: Vec<&MonthOp> = demo
            .days
            .iter()
            .flat_map(|d| d.months.values().flatten())
            .collect();
        let has_type = |t: DayType| {
            all_ops
                .iter()
                .any(|op| matches!(op, MonthOp::Attendance(_, _, a) if a.day_type == t))
        };
        for t in [
            DayType::Work,
            DayType::Rest,
            DayType::Study,
            DayType::Sick,
            DayType::Stoppage,
            DayType::Confined,
            DayType::NoQuota,
            DayType::Exempt,
        ] {
            assert!(has_type(t), "demo lacks a {t} day");
        }
        assert!(
            all_ops
                .iter()
                .any(|op| matches!(op, MonthOp::TeamCount(..)))
        );
        assert!(!demo.adjustments.months.is_empty());
    }

    #[test]
    fn district_names_are_chinese_numerals() {
        assert_eq!(zh_number(1), "一");
        assert_eq!(zh_number(10), "十");
        assert_eq!(zh_number(14), "十四");
        assert_eq!(zh_number(40), "四十");
        assert_eq!(zh_number(47), "四十七");
    }
}
