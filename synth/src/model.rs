//! The generative model of a client book: archetypes, policies, monthly behaviour and a
//! known lapse mechanism. Each client has its own random stream, so the book is the same
//! whatever the thread count.

use clientele::Date;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

pub const ARCHETYPES: &[&str] = &[
    "high_net_worth",
    "middle_class_family",
    "price_sensitive",
    "young",
    "senior",
];
const ARCHETYPE_SHARE: [f64; 5] = [0.10, 0.30, 0.25, 0.20, 0.15];

pub const GENDERS: &[&str] = &["male", "female"];
pub const MARITAL: &[&str] = &["single", "married", "divorced", "widowed"];
pub const EDUCATION: &[&str] = &["secondary", "vocational", "bachelor", "master", "doctorate"];
pub const OCCUPATIONS: &[&str] = &[
    "executive",
    "business_owner",
    "professional",
    "clerical",
    "manual",
    "service",
    "student",
    "retired",
];
pub const REGIONS: &[&str] = &["north", "south", "east", "west", "central"];
pub const TIERS: &[&str] = &["1", "2", "3", "4"];
pub const CHANNELS: &[&str] = &["agent", "bank", "broker", "online"];
/// The contract's product lines, in the order the generator draws them.
pub const PRODUCTS: &[&str] = clientele::schema::PRODUCT_LINES;
pub const FREQUENCIES: &[&str] = &["annual", "semiannual", "quarterly", "monthly"];
const FREQ_MONTHS: [i32; 4] = [12, 6, 3, 1];
pub const END_REASONS: &[&str] = &[
    "lapse",
    "surrender",
    "non_renewal",
    "maturity",
    "death_claim",
];
pub const CONTACT_KINDS: &[&str] = &[
    "service_call",
    "complaint",
    "policy_review",
    "app_login",
    "agent_visit",
];
pub const CLAIM_STATUS: &[&str] = &["paid", "rejected", "open"];

/// Knobs of the book.
#[derive(Clone, Debug)]
pub struct BookParams {
    pub clients: usize,
    pub seed: u64,
    /// Last day of the main export.
    pub end: Date,
    /// Months simulated past `end` (the later snapshot).
    pub extra_months: i32,
    /// Years of payments, claims and contacts kept before `end`.
    pub history_years: i32,
    /// Multiplies every income (drift tests).
    pub income_factor: f64,
    /// Added to every client's lapse log-odds (drift tests).
    pub lapse_shift: f64,
    /// Two non-linear effects on lapse that a model linear in each feature cannot
    /// follow (`NONLINEAR_LAPSE` says which); the truth's probabilities include them.
    pub nonlinear_lapse: bool,
    /// Two interactions in lapse that a model additive in each feature cannot follow
    /// (`INTERACTION_LAPSE` says which); the truth's probabilities include them.
    pub interaction_lapse: bool,
}

/// The non-linear lapse effects of `BookParams::nonlinear_lapse`, for documentation and
/// the manifest.
pub const NONLINEAR_LAPSE: &str = "a threshold: +1.6 lapse log-odds when 3 or more premiums \
were missed in the last 12 months; a U-shape in age: +0.003 * (age - 45)^2 log-odds (the \
young and the old lapse more), on top of the linear effects";

/// The lapse interactions of `BookParams::interaction_lapse`, for documentation and the
/// manifest.
pub const INTERACTION_LAPSE: &str = "a missed premium weighs more early: +0.5 lapse \
log-odds per premium missed in the last 12 months (up to 3) while the first policy is under \
two years old; online buyers with an income under 35,000 lapse more: +1.0 log-odds, on top of \
the additive effects";

impl BookParams {
    /// The cut-off a default training run uses: the export's last month end minus 12.
    pub fn training_cutoff(&self) -> Date {
        self.end.month_end_offset(-12)
    }
}

#[derive(Clone, Debug)]
pub struct ClientRec {
    pub archetype: u8,
    pub birth: Date,
    pub gender: u8,
    pub marital: u8,
    pub dependents: u8,
    pub income: f64,
    pub education: u8,
    pub occupation: u8,
    pub region: u8,
    pub tier: u8,
    pub channel: u8,
    pub first_known: Date,
}

#[derive(Clone, Debug)]
pub struct PolicyRec {
    pub client: u32,
    pub product: u8,
    pub start: Date,
    pub end: Option<Date>,
    pub reason: u8,
    pub premium: f64,
    pub sum_assured: f64,
    pub freq: u8,
}

#[derive(Clone, Debug)]
pub struct PaymentRec {
    pub client: u32,
    pub policy: u32,
    pub due: Date,
    pub paid: Option<Date>,
    pub amount: f64,
}

#[derive(Clone, Debug)]
pub struct ClaimRec {
    pub client: u32,
    pub policy: u32,
    pub date: Date,
    pub claimed: f64,
    pub paid: f64,
    pub status: u8,
}

#[derive(Clone, Debug)]
pub struct ContactRec {
    pub client: u32,
    pub date: Date,
    pub kind: u8,
}

/// How a client left at an anchor: each with its own drivers (`lapse_probability`,
/// `surrender_probability`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitKind {
    /// The premium stopped: every policy in force ends by lapse (or non-renewal).
    Lapse,
    /// The client took the cash value: cash-value policies end by surrender, the others
    /// stop being paid at the same time (lapse or non-renewal).
    Surrender,
    Death,
}

impl ExitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExitKind::Lapse => "lapse",
            ExitKind::Surrender => "surrender",
            ExitKind::Death => "death",
        }
    }
}

/// What the generator knows and a model must not see.
#[derive(Clone, Debug)]
pub struct TruthRec {
    pub archetype: u8,
    /// In force at the default training cut-off.
    pub in_force_at_cutoff: bool,
    /// True probability of leaving (lapse or surrender) within 12 months after the cut-off.
    pub lapse_probability: f64,
    /// True probability of a lapse exit within those 12 months (premium stopped).
    pub lapse_only_probability: f64,
    /// True probability of a surrender exit within those 12 months (cash value taken).
    pub surrender_probability: f64,
    /// What happened: Some(true) left by lapse or surrender, Some(false) stayed, None left
    /// for another reason (death, maturity) or not in force at the cut-off.
    pub lapsed: Option<bool>,
    /// How the client left within the horizon, when `lapsed` is Some(true).
    pub exit: Option<ExitKind>,
    /// Known to the insurer (a lead), never sold a policy.
    pub prospect: bool,
    /// The start of the policy that won the client back after a lapse or surrender.
    pub won_back: Option<Date>,
}

/// A block of clients and everything they did. Policy indices are block-local.
#[derive(Default)]
pub struct Block {
    pub clients: Vec<ClientRec>,
    pub policies: Vec<PolicyRec>,
    pub payments: Vec<PaymentRec>,
    pub claims: Vec<ClaimRec>,
    pub contacts: Vec<ContactRec>,
    pub truth: Vec<TruthRec>,
}

fn normal(rng: &mut impl Rng) -> f64 {
    // Box-Muller; one draw is enough here.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn pick(rng: &mut impl Rng, weights: &[f64]) -> u8 {
    let total: f64 = weights.iter().sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i as u8;
        }
        x -= w;
    }
    (weights.len() - 1) as u8
}

fn poisson(rng: &mut impl Rng, lambda: f64) -> u32 {
    let l = (-lambda).exp();
    let (mut k, mut p) = (0u32, 1.0f64);
    loop {
        p *= rng.gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Behavioural rates of an archetype (per month), before individual noise.
#[derive(Clone)]
struct Rates {
    miss: f64,
    complaint: f64,
    service: f64,
    login: f64,
    visit: f64,
    review: f64,
}

fn rates(archetype: u8) -> Rates {
    match archetype {
        0 => Rates {
            miss: 0.01,
            complaint: 0.008,
            service: 0.05,
            login: 0.10,
            visit: 0.15,
            review: 0.06,
        },
        1 => Rates {
            miss: 0.03,
            complaint: 0.015,
            service: 0.06,
            login: 0.15,
            visit: 0.05,
            review: 0.03,
        },
        2 => Rates {
            miss: 0.09,
            complaint: 0.030,
            service: 0.08,
            login: 0.12,
            visit: 0.01,
            review: 0.005,
        },
        3 => Rates {
            miss: 0.06,
            complaint: 0.020,
            service: 0.04,
            login: 0.60,
            visit: 0.005,
            review: 0.005,
        },
        _ => Rates {
            miss: 0.015,
            complaint: 0.020,
            service: 0.10,
            login: 0.02,
            visit: 0.06,
            review: 0.04,
        },
    }
}

/// The products an archetype buys, with weights.
fn product_weights(archetype: u8) -> [f64; 8] {
    // whole_life, term_life, annuity, critical_illness, medical, accident, education, universal_life
    match archetype {
        0 => [3.0, 0.5, 2.0, 1.5, 1.0, 0.3, 0.5, 4.0],
        1 => [0.8, 3.0, 0.3, 1.0, 2.0, 2.0, 2.0, 0.3],
        2 => [0.1, 1.5, 0.1, 0.3, 2.0, 3.0, 0.2, 0.0],
        3 => [0.1, 1.5, 0.1, 0.5, 2.5, 2.5, 0.2, 0.3],
        _ => [2.0, 0.2, 4.0, 1.0, 3.0, 0.5, 0.0, 0.5],
    }
}

/// Typical annual premium of a product relative to income.
const PREMIUM_SHARE: [f64; 8] = [0.030, 0.008, 0.050, 0.010, 0.012, 0.004, 0.020, 0.060];
const SUM_MULTIPLE: [f64; 8] = [25.0, 120.0, 12.0, 60.0, 40.0, 150.0, 10.0, 15.0];
/// Fixed terms in years (0 = whole of life / renewable).
const TERM_YEARS: [i32; 8] = [0, 20, 15, 0, 0, 0, 12, 0];
/// Products with a cash value can be surrendered; yearly-renewed ones can be not renewed.
const CASH_VALUE: [bool; 8] = [true, false, true, false, false, false, true, true];
const RENEWABLE: [bool; 8] = [false, true, false, false, true, true, false, false];
const CLAIM_RATE: [f64; 8] = [0.002, 0.002, 0.0, 0.004, 0.03, 0.012, 0.0, 0.001];

fn draw_client(rng: &mut impl Rng, p: &BookParams) -> ClientRec {
    let a = pick(rng, &ARCHETYPE_SHARE);
    let (age_mu, age_sd) = [
        (52.0, 7.0),
        (40.0, 5.0),
        (36.0, 9.0),
        (26.0, 3.0),
        (68.0, 5.0),
    ][a as usize];
    let age = (age_mu + age_sd * normal(rng)).clamp(18.0, 95.0);
    let birth = p
        .end
        .add_days(-((age * 365.25) as i32) - rng.gen_range(0..365));
    let (inc_med, inc_sd) = [
        (260_000.0, 0.30),
        (85_000.0, 0.22),
        (27_000.0, 0.25),
        (42_000.0, 0.25),
        (48_000.0, 0.25),
    ][a as usize];
    let income = (inc_med * (inc_sd * normal(rng)).exp() * p.income_factor / 100.0).round() * 100.0;
    let marital = match a {
        0 => pick(rng, &[0.1, 0.75, 0.12, 0.03]),
        1 => pick(rng, &[0.02, 0.93, 0.05, 0.0]),
        2 => pick(rng, &[0.45, 0.35, 0.15, 0.05]),
        3 => pick(rng, &[0.85, 0.14, 0.01, 0.0]),
        _ => pick(rng, &[0.05, 0.6, 0.1, 0.25]),
    };
    let dependents = match a {
        1 => 1 + poisson(rng, 1.2).min(5),
        0 => poisson(rng, 1.2).min(5),
        2 => poisson(rng, 0.8).min(5),
        _ => poisson(rng, 0.1).min(3),
    } as u8;
    let education = match a {
        0 => pick(rng, &[0.02, 0.05, 0.35, 0.43, 0.15]),
        1 => pick(rng, &[0.15, 0.25, 0.45, 0.13, 0.02]),
        2 => pick(rng, &[0.55, 0.35, 0.09, 0.01, 0.0]),
        3 => pick(rng, &[0.15, 0.25, 0.5, 0.1, 0.0]),
        _ => pick(rng, &[0.4, 0.3, 0.2, 0.08, 0.02]),
    };
    let occupation = match a {
        0 => pick(rng, &[0.45, 0.45, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0]),
        1 => pick(rng, &[0.05, 0.1, 0.45, 0.3, 0.05, 0.05, 0.0, 0.0]),
        2 => pick(rng, &[0.0, 0.03, 0.02, 0.15, 0.45, 0.35, 0.0, 0.0]),
        3 => pick(rng, &[0.0, 0.02, 0.3, 0.2, 0.1, 0.13, 0.25, 0.0]),
        _ => pick(rng, &[0.0, 0.02, 0.02, 0.02, 0.02, 0.02, 0.0, 0.9]),
    };
    let region = pick(rng, &[0.2, 0.25, 0.2, 0.15, 0.2]);
    let tier = match a {
        0 => pick(rng, &[0.75, 0.2, 0.05, 0.0]),
        1 => pick(rng, &[0.3, 0.45, 0.2, 0.05]),
        2 => pick(rng, &[0.05, 0.2, 0.4, 0.35]),
        3 => pick(rng, &[0.5, 0.35, 0.1, 0.05]),
        _ => pick(rng, &[0.2, 0.35, 0.3, 0.15]),
    };
    let channel = match a {
        0 => pick(rng, &[0.6, 0.1, 0.28, 0.02]),
        1 => pick(rng, &[0.5, 0.3, 0.05, 0.15]),
        2 => pick(rng, &[0.15, 0.3, 0.0, 0.55]),
        3 => pick(rng, &[0.1, 0.1, 0.0, 0.8]),
        _ => pick(rng, &[0.45, 0.5, 0.02, 0.03]),
    };
    let (ten_lo, ten_hi) = [
        (4.0, 16.0),
        (1.0, 11.0),
        (0.2, 6.0),
        (0.1, 5.0),
        (6.0, 22.0),
    ][a as usize];
    let tenure = rng.gen_range(ten_lo..ten_hi);
    let first_known = p.end.add_days(-((tenure * 365.25) as i32));
    ClientRec {
        archetype: a,
        birth,
        gender: pick(rng, &[0.5, 0.5]),
        marital,
        dependents,
        income,
        education,
        occupation,
        region,
        tier,
        channel,
        first_known,
    }
}

/// Whether a product is sold to a client of this age (at the start) and family: an
/// education plan needs a child and a parent under 55, an annuity is bought before 70,
/// term cover before 65, medical and critical illness cover before 70. The same limits
/// are clientele's default "ruled out" rules (docs/domain.md), so a book's holdings never
/// contradict them and needs can be checked against the generator's truth.
pub fn product_sold_to(product: u8, age: f64, dependents: u8) -> bool {
    match product {
        1 => age < 65.0,
        2 => age < 70.0,
        3 | 4 => age < 70.0,
        6 => dependents > 0 && age < 55.0,
        _ => true,
    }
}

/// One policy of `product` starting on `start`, priced from the client's income.
fn draw_policy(
    rng: &mut impl Rng,
    c: &ClientRec,
    product: u8,
    start: Date,
    client: u32,
) -> PolicyRec {
    let premium =
        (c.income * PREMIUM_SHARE[product as usize] * (0.25 * normal(rng)).exp()).max(60.0);
    let premium = (premium / 10.0).round() * 10.0;
    let freq = match c.archetype {
        0 | 4 => pick(rng, &[0.8, 0.15, 0.05, 0.0]),
        1 => pick(rng, &[0.3, 0.2, 0.3, 0.2]),
        _ => pick(rng, &[0.25, 0.1, 0.25, 0.4]),
    };
    let term = TERM_YEARS[product as usize];
    PolicyRec {
        client,
        product,
        start,
        end: (term > 0).then(|| start.add_months(12 * term)),
        reason: 3,
        premium,
        sum_assured: (premium * SUM_MULTIPLE[product as usize] / 100.0).round() * 100.0,
        freq,
    }
}

/// A product the client would buy on `start`: the archetype's weights, less what is not
/// sold at that age or to that family; None when nothing is.
fn draw_product(rng: &mut impl Rng, c: &ClientRec, weights: &[f64; 8], start: Date) -> Option<u8> {
    let age = start.years_since(c.birth);
    let mut allowed = *weights;
    for (product, w) in allowed.iter_mut().enumerate() {
        if !product_sold_to(product as u8, age, c.dependents) {
            *w = 0.0;
        }
    }
    (allowed.iter().sum::<f64>() > 0.0).then(|| pick(rng, &allowed))
}

/// One client's policies as planned (start dates, maturities), before behaviour.
fn draw_policies(rng: &mut impl Rng, c: &ClientRec, p: &BookParams, client: u32) -> Vec<PolicyRec> {
    let n = match c.archetype {
        0 => 2 + poisson(rng, 1.2).min(3),
        1 => 2 + poisson(rng, 0.6).min(2),
        2 => 1 + u32::from(rng.gen::<f64>() < 0.12),
        3 => 1 + u32::from(rng.gen::<f64>() < 0.3),
        _ => 2 + u32::from(rng.gen::<f64>() < 0.4),
    } as usize;
    let mut weights = product_weights(c.archetype);
    let span = (p.end.days() - c.first_known.days()).max(1);
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let start = if k == 0 {
            c.first_known
        } else {
            c.first_known.add_days(rng.gen_range(0..span))
        };
        let Some(product) = draw_product(rng, c, &weights, start) else {
            continue;
        };
        weights[product as usize] *= 0.15; // rarely the same product twice
        out.push(draw_policy(rng, c, product, start, client));
    }
    out.sort_by_key(|p| p.start);
    out
}

/// Share of the clients file that are leads: known to the insurer, never sold a policy.
const PROSPECT_SHARE: f64 = 0.03;
/// Chance, by archetype, that a client who lapsed or surrendered buys again 4 to 20
/// months later (won back).
const WIN_BACK: [f64; 5] = [0.08, 0.20, 0.12, 0.20, 0.05];

fn in_force(pol: &PolicyRec, d: Date) -> bool {
    pol.start <= d && pol.end.is_none_or(|e| e > d)
}

/// How a policy in force ends when its client leaves.
fn end_reason(rng: &mut impl Rng, product: u8, kind: ExitKind) -> u8 {
    match kind {
        ExitKind::Death => 4,
        ExitKind::Surrender if CASH_VALUE[product as usize] => 1,
        _ if RENEWABLE[product as usize] && rng.gen::<f64>() < 0.5 => 2,
        _ => 0,
    }
}

/// One client's simulation: what they hold and did so far, and how and when they leave.
#[derive(Clone)]
struct ClientSim<'a> {
    p: &'a BookParams,
    c: ClientRec,
    client: u32,
    first_policy: usize,
    rates: Rates,
    miss_rate: f64,
    complaint_rate: f64,
    login_rate: f64,
    policies: Vec<PolicyRec>,
    payments: Vec<PaymentRec>,
    claims: Vec<ClaimRec>,
    contacts: Vec<ContactRec>,
    truth: TruthRec,
    /// The exit decided at an anchor: (date, how).
    exit: Option<(Date, ExitKind)>,
    exited: bool,
    /// When a client who left buys again.
    comeback: Option<Date>,
}

/// Simulates one client month by month and appends everything to the block.
pub fn simulate_client(index: usize, p: &BookParams, block: &mut Block) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
        p.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let mut sim = ClientSim::new(&mut rng, index, p, block.policies.len());
    let sim_end = p.end.month_end_offset(p.extra_months);
    let window_start = p.end.month_end_offset(-12 * p.history_years);
    let mut month_end = window_start
        .month_end_offset(1)
        .max(sim.c.first_known.month_end());
    while month_end <= sim_end {
        sim.step(&mut rng, month_end, window_start, true);
        month_end = month_end.month_end_offset(1);
    }
    sim.finish(sim_end, block);
}

/// The client's expected premium paid after the export date `p.end`, discounted at
/// `discount` a year, over `years`: the mean of `sims` simulations forward from the
/// client's state at the export (each from its own random stream, the export month's
/// exit decision included), by the generator's own hazards. `None` for a client with
/// nothing in force at the export.
pub fn forward_value(
    index: usize,
    p: &BookParams,
    years: i32,
    sims: u32,
    discount: f64,
) -> Option<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
        p.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let mut sim = ClientSim::new(&mut rng, index, p, 0);
    let window_start = p.end.month_end_offset(-12 * p.history_years);
    let mut month_end = window_start
        .month_end_offset(1)
        .max(sim.c.first_known.month_end());
    // The book as exported: the same stream as `simulate_client`, to the export's month
    // (whose anchor decides the future, so it is left to the forward streams).
    while month_end <= p.end {
        sim.step(&mut rng, month_end, window_start, month_end < p.end);
        month_end = month_end.month_end_offset(1);
    }
    if sim.exited || !sim.policies.iter().any(|pol| in_force(pol, p.end)) {
        return None;
    }
    let mut total = 0.0;
    for r in 0..sims {
        let mut fwd = sim.clone();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(
            p.seed
                ^ (index as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9)
                ^ (u64::from(r) + 1).wrapping_mul(0x94D0_49BB_1331_11EB),
        );
        fwd.anchor(&mut rng, p.end);
        let known = fwd.payments.len();
        let last = p.end.month_end_offset(12 * years);
        let mut m = p.end.month_end_offset(1);
        while m <= last {
            fwd.step(&mut rng, m, window_start, true);
            m = m.month_end_offset(1);
        }
        total += fwd.payments[known..]
            .iter()
            .filter(|x| x.paid.is_some())
            .map(|x| x.amount / (1.0 + discount).powf(x.due.years_since(p.end)))
            .sum::<f64>();
    }
    Some(total / f64::from(sims.max(1)))
}

impl<'a> ClientSim<'a> {
    /// One month: a return, the month's events, an exit taking effect, and (when
    /// `anchor`) the yearly exit decision.
    fn step(&mut self, rng: &mut impl Rng, month_end: Date, window_start: Date, anchor: bool) {
        let month_start = month_end.month_end_offset(-1).add_days(1);
        self.win_back_if_due(rng, month_end);
        if !self.exited {
            self.month_events(rng, month_start, month_end);
        }
        self.exit_takes_effect(rng, month_end);
        if anchor && month_end >= window_start.month_end_offset(12) {
            self.anchor(rng, month_end);
        }
    }

    fn new(rng: &mut impl Rng, index: usize, p: &'a BookParams, first_policy: usize) -> Self {
        let mut c = draw_client(rng, p);
        let client = index as u32;
        let prospect = rng.gen::<f64>() < PROSPECT_SHARE;
        let policies = if prospect {
            c.first_known = p.end.add_days(-rng.gen_range(30..1000));
            Vec::new()
        } else {
            draw_policies(rng, &c, p, client)
        };
        let rates = rates(c.archetype);
        // Individual variation around the archetype.
        let miss_rate = (rates.miss * (0.5 * normal(rng)).exp()).min(0.6);
        let complaint_rate = rates.complaint * (0.4 * normal(rng)).exp();
        let login_rate = rates.login * (0.5 * normal(rng)).exp();
        let truth = TruthRec {
            archetype: c.archetype,
            in_force_at_cutoff: false,
            lapse_probability: f64::NAN,
            lapse_only_probability: f64::NAN,
            surrender_probability: f64::NAN,
            lapsed: None,
            exit: None,
            prospect,
            won_back: None,
        };
        ClientSim {
            p,
            c,
            client,
            first_policy,
            rates,
            miss_rate,
            complaint_rate,
            login_rate,
            policies,
            payments: Vec::new(),
            claims: Vec::new(),
            contacts: Vec::new(),
            truth,
            exit: None,
            exited: false,
            comeback: None,
        }
    }

    fn leaving_by_lapse(&self) -> bool {
        self.exit.is_some_and(|(_, kind)| kind == ExitKind::Lapse)
    }

    /// Premiums due, claims and contacts of one month.
    fn month_events(&mut self, rng: &mut impl Rng, month_start: Date, month_end: Date) {
        for k in 0..self.policies.len() {
            let pol = &self.policies[k];
            let starts_this_month = pol.start >= month_start && pol.start <= month_end;
            if !(in_force(pol, month_start) || starts_this_month) {
                continue;
            }
            self.premium_due(rng, k, month_end);
            self.maybe_claim(rng, k, month_start);
        }
        if !self.policies.iter().any(|pol| in_force(pol, month_end)) {
            return;
        }
        // Complaints rise in the run-up to a lapse; a surrender is decided quietly.
        let lapse_boost = if self.leaving_by_lapse() { 2.0 } else { 1.0 };
        for (kind, rate) in [
            (0u8, self.rates.service),
            (1, self.complaint_rate * lapse_boost),
            (2, self.rates.review),
            (3, self.login_rate),
            (4, self.rates.visit),
        ] {
            for _ in 0..poisson(rng, rate) {
                self.contacts.push(ContactRec {
                    client: self.client,
                    date: month_start.add_days(rng.gen_range(0..28)),
                    kind,
                });
            }
        }
    }

    fn premium_due(&mut self, rng: &mut impl Rng, k: usize, month_end: Date) {
        let pol = &self.policies[k];
        let step = FREQ_MONTHS[pol.freq as usize];
        let months_since = {
            let (sy, sm, _) = pol.start.ymd();
            let (y, m, _) = month_end.ymd();
            (y - sy) * 12 + m as i32 - sm as i32
        };
        if months_since < 0 || months_since % step != 0 {
            return;
        }
        let due = pol.start.add_months(months_since);
        if pol.end.is_some_and(|e| due >= e) || self.exit.is_some_and(|(d, _)| due > d) {
            return;
        }
        // Premiums go unpaid more often in the run-up to a lapse (not to a surrender:
        // the cash value is taken while the premium is still paid).
        let miss = if self.leaving_by_lapse() {
            0.6
        } else {
            self.miss_rate
        };
        let paid = (rng.gen::<f64>() >= miss).then(|| due.add_days(rng.gen_range(0..25)));
        self.payments.push(PaymentRec {
            client: self.client,
            policy: (self.first_policy + k) as u32,
            due,
            paid,
            amount: (pol.premium * step as f64 / 12.0 * 100.0).round() / 100.0,
        });
    }

    fn maybe_claim(&mut self, rng: &mut impl Rng, k: usize, month_start: Date) {
        let pol = &self.policies[k];
        if rng.gen::<f64>() >= CLAIM_RATE[pol.product as usize] {
            return;
        }
        let date = month_start.add_days(rng.gen_range(0..28));
        let claimed = (pol.sum_assured * rng.gen_range(0.005..0.08)).round();
        let status = pick(rng, &[0.82, 0.13, 0.05]);
        let paid = if status == 0 {
            (claimed * rng.gen_range(0.7..1.0)).round()
        } else {
            0.0
        };
        self.claims.push(ClaimRec {
            client: self.client,
            policy: (self.first_policy + k) as u32,
            date,
            claimed,
            paid,
            status,
        });
    }

    /// The decided exit ends every policy in force on its date; a client who lapsed or
    /// surrendered may be won back later.
    fn exit_takes_effect(&mut self, rng: &mut impl Rng, month_end: Date) {
        let Some((date, kind)) = self.exit else {
            return;
        };
        if self.exited || date > month_end {
            return;
        }
        for pol in self.policies.iter_mut() {
            if in_force(pol, date) {
                pol.end = Some(date);
                pol.reason = end_reason(rng, pol.product, kind);
            }
        }
        self.exited = true;
        if kind != ExitKind::Death && rng.gen::<f64>() < WIN_BACK[self.c.archetype as usize] {
            self.comeback = Some(date.add_days(rng.gen_range(120..600)));
        }
    }

    /// A client who left buys a new policy: the simulation goes on from its start.
    fn win_back_if_due(&mut self, rng: &mut impl Rng, month_end: Date) {
        let Some(date) = self.comeback.filter(|d| *d <= month_end) else {
            return;
        };
        self.comeback = None;
        let Some((left, _)) = self.exit else {
            return;
        };
        self.drop_unsold(left);
        let weights = product_weights(self.c.archetype);
        let Some(product) = draw_product(rng, &self.c, &weights, date) else {
            return;
        };
        let policy = draw_policy(rng, &self.c, product, date, self.client);
        self.policies.push(policy);
        self.exit = None;
        self.exited = false;
        self.truth.won_back = Some(date);
    }

    /// Every 12 months from the training cut-off, back and forth, a client in force may
    /// be set to leave within the year: by lapse, by surrender or by death.
    fn anchor(&mut self, rng: &mut impl Rng, month_end: Date) {
        let cutoff = self.p.training_cutoff();
        let (cy, cm, _) = cutoff.ymd();
        let (y, m, _) = month_end.ymd();
        let is_anchor = ((y - cy) * 12 + m as i32 - cm as i32) % 12 == 0;
        if !is_anchor || self.exited || self.exit.is_some() {
            return;
        }
        let in_force_now: Vec<&PolicyRec> = self
            .policies
            .iter()
            .filter(|pol| in_force(pol, month_end))
            .collect();
        if in_force_now.is_empty() {
            return;
        }
        let shift = (
            self.p.lapse_shift,
            self.p.nonlinear_lapse,
            self.p.interaction_lapse,
        );
        let lapse_p = lapse_probability(
            &self.c,
            &in_force_now,
            &self.payments,
            &self.contacts,
            month_end,
            shift,
        );
        let surrender_p = surrender_probability(&self.c, &in_force_now, month_end, shift.0);
        let age = month_end.years_since(self.c.birth);
        let death_p = if age > 60.0 {
            0.004 * ((age - 60.0) / 8.0).exp()
        } else {
            0.001
        };
        let when = month_end.add_days(rng.gen_range(1..365));
        let kind = if rng.gen::<f64>() < lapse_p {
            Some(ExitKind::Lapse)
        } else if rng.gen::<f64>() < surrender_p {
            Some(ExitKind::Surrender)
        } else if rng.gen::<f64>() < death_p.min(0.2) {
            Some(ExitKind::Death)
        } else {
            None
        };
        if month_end == cutoff {
            let horizon_end = cutoff.month_end_offset(12);
            let leaves = matches!(kind, Some(ExitKind::Lapse | ExitKind::Surrender));
            // Left out of the label when every policy ends by maturity first.
            let all_mature = in_force_now
                .iter()
                .all(|pol| pol.end.is_some_and(|e| e <= horizon_end));
            let matured_first = in_force_now
                .iter()
                .all(|pol| pol.end.is_some_and(|e| e <= when));
            let t = &mut self.truth;
            t.in_force_at_cutoff = true;
            t.lapse_only_probability = lapse_p;
            t.surrender_probability = (1.0 - lapse_p) * surrender_p;
            t.lapse_probability = lapse_p + t.surrender_probability;
            let dies = kind == Some(ExitKind::Death);
            t.lapsed = if dies || (leaves && matured_first) || (!leaves && all_mature) {
                None
            } else {
                Some(leaves)
            };
            t.exit = kind.filter(|_| t.lapsed == Some(true));
        }
        self.exit = kind.map(|k| (when, k));
    }

    /// Policies planned to start after the client left were never sold: drop them and
    /// renumber the links to the ones that remain.
    fn drop_unsold(&mut self, left: Date) {
        let first = self.first_policy;
        let mut new_index = vec![u32::MAX; self.policies.len()];
        let mut kept = 0u32;
        for (k, pol) in self.policies.iter().enumerate() {
            if pol.start <= left {
                new_index[k] = first as u32 + kept;
                kept += 1;
            }
        }
        self.policies.retain(|pol| pol.start <= left);
        let remap = |global: u32| new_index[(global as usize) - first];
        self.payments.retain_mut(|x| {
            x.policy = remap(x.policy);
            x.policy != u32::MAX
        });
        self.claims.retain_mut(|x| {
            x.policy = remap(x.policy);
            x.policy != u32::MAX
        });
    }

    fn finish(mut self, sim_end: Date, block: &mut Block) {
        if let Some((left, _)) = self.exit.filter(|_| self.exited) {
            self.drop_unsold(left);
        }
        for pol in self.policies.iter_mut() {
            if pol.end.is_some_and(|e| e > sim_end) {
                pol.end = None; // still in force at the end of the simulation
            }
        }
        // Contacts on the same day and kind would be indistinguishable duplicates.
        self.contacts.sort_by_key(|c| (c.date, c.kind));
        self.contacts.dedup_by_key(|c| (c.date, c.kind));
        block.clients.push(self.c);
        block.policies.extend(self.policies);
        block.payments.extend(self.payments);
        block.claims.extend(self.claims);
        block.contacts.extend(self.contacts);
        block.truth.push(self.truth);
    }
}

/// The surrender mechanism, apart from the lapse one: only a client holding a policy
/// with a cash value (whole life, annuity, education, universal life) at least two
/// years old can surrender; the chance grows with that policy's age (the surrender
/// charge runs off), in the years before retirement (55-69: a cash need) and with a high
/// income (money moved to other investments). Missed premiums play no part.
fn surrender_probability(c: &ClientRec, in_force: &[&PolicyRec], at: Date, shift: f64) -> f64 {
    let duration = in_force
        .iter()
        .filter(|pol| CASH_VALUE[pol.product as usize])
        .map(|pol| at.years_since(pol.start))
        .fold(f64::NEG_INFINITY, f64::max);
    if duration < 2.0 {
        return 0.0;
    }
    let age = at.years_since(c.birth);
    let logit = -3.9
        + 0.2 * duration.min(10.0)
        + 1.0 * f64::from(u8::from((55.0..70.0).contains(&age)))
        + 0.5 * f64::from(u8::from(c.income >= 150_000.0))
        + shift;
    sigmoid(logit)
}

/// The lapse mechanism (the premium stops): log-odds from what a model can see at the
/// anchor date, with the first-year spike (+1.0 log-odds in the first policy year: the
/// lapse that 13th-month persistency measures) on top of a falling tenure effect.
fn lapse_probability(
    c: &ClientRec,
    in_force: &[&PolicyRec],
    payments: &[PaymentRec],
    contacts: &[ContactRec],
    at: Date,
    (shift, nonlinear, interaction): (f64, bool, bool),
) -> f64 {
    let year_ago = at.month_end_offset(-12);
    let half_year_ago = at.month_end_offset(-6);
    let missed_12 = payments
        .iter()
        .filter(|p| p.due > year_ago && p.due <= at && p.paid.is_none_or(|d| d > at))
        .count() as f64;
    let complaints_6 = contacts
        .iter()
        .filter(|x| x.kind == 1 && x.date > half_year_ago && x.date <= at)
        .count() as f64;
    let logins_6 = contacts
        .iter()
        .filter(|x| x.kind == 3 && x.date > half_year_ago && x.date <= at)
        .count() as f64;
    let first_start = in_force.iter().map(|p| p.start).min().unwrap_or(at);
    let tenure = at.years_since(first_start);
    let premium: f64 = in_force.iter().map(|p| p.premium).sum();
    let burden = premium / c.income.max(5_000.0);
    let age = at.years_since(c.birth);
    let logit = -2.95 + 0.45 * missed_12.min(6.0) + 0.7 * complaints_6.min(3.0)
        - 0.12 * tenure.min(15.0)
        + 1.0 * f64::from(u8::from(tenure < 1.0))
        + 0.8 * f64::from(in_force.len() == 1)
        + 0.5 * f64::from(c.channel == 3)
        + 12.0 * burden.min(0.2)
        - 0.012 * (age - 40.0)
        - 0.05 * logins_6.min(10.0)
        + shift;
    let nonlinear = if nonlinear {
        1.6 * f64::from(u8::from(missed_12 >= 3.0)) + 0.003 * (age - 45.0).powi(2)
    } else {
        0.0
    };
    let interaction = if interaction {
        0.5 * missed_12.min(3.0) * f64::from(u8::from(tenure < 2.0))
            + 1.0 * f64::from(u8::from(c.channel == 3 && c.income < 35_000.0))
    } else {
        0.0
    };
    sigmoid(logit + nonlinear + interaction)
}
