//! Every word the effect readout shows a reader (report section, chart, notes), in one
//! place, for the vocabularies of other languages to route.

/// The value of `segment` and `tier` in total rows.
pub const ALL: &str = "all";

pub const NOT_IDENTIFIED: &str = "no randomised holdout; effect not identified: last month's \
labels have no holdout column, so the outcomes below are descriptive only";

pub const NOT_CONTACTED_VIEW: &str = "intention to treat: clients count in the arm last \
month's labels put them in; a contacted-only view (not randomised) needs a record of whether \
each action was carried out, which the contacts source does not hold (its kinds are client \
contacts, not campaign records)";

/// Why no outcome was counted.
pub fn no_outcomes(why: &str) -> String {
    format!("no outcomes counted: {why}")
}

pub const SECTION_TITLE: &str = "Marketing effect: randomised holdouts";
pub const SECTION_INTRO: &str = "Last month's clients, by the action recommended to them: \
those who got it (treated) against a random share held out of it (holdout). The uplift is \
treated minus holdout; its interval is Newcombe's hybrid score interval; q is the \
Benjamini-Hochberg adjusted p-value over the cells of one outcome and level. Small cells \
(an arm below the configured minimum) are flagged, not hidden. Incremental premium: the \
uplift in premium kept times the treated clients' premium; ROI: (incremental premium - cost) \
/ cost, on one year's premium, not a margin.";
pub const HISTORY_TITLE: &str = "Every readout so far";

/// The history table's introduction, over the readouts of `dates`.
pub fn history_intro(dates: &str) -> String {
    format!(
        "Action totals over the randomised readouts of {dates}, added up: the intervals narrow \
         as the cells grow. Pooling months assumes each action's holdout share stayed the same."
    )
}

/// Rows of the readout left out of the report for privacy.
pub fn rows_in_csv_only(n: usize, min: usize) -> String {
    format!("{n} row(s) with an arm of fewer than {min} clients are in effect.csv only.")
}

pub const HOLDOUT_TITLE: &str = "Held out this month";
pub const HOLDOUT_INTRO: &str = "Clients held out of their recommended action this month \
(the action is still written in the labels, with holdout = true): next month's run with \
--previous-run reads out the effect.";
pub const TARGETING_TITLE: &str =
    "Targeting check: uplift by decile of last month's lapse probability";
pub const TARGETING_INTRO: &str = "Retention actions: lapse-or-surrender rates of treated and \
held-out clients per decile of last month's lapse probability (decile 10 the riskiest), and \
the Qini coefficient: the area between the Qini curve (riskiest first) and random targeting, \
per treated client. Positive: calling the riskiest is where the effect is.";

pub const COLUMNS: [&str; 12] = [
    "action",
    "segment",
    "tier",
    "outcome",
    "treated",
    "holdout",
    "treated rate",
    "holdout rate",
    "uplift (interval)",
    "q",
    "verdict",
    "ROI",
];
pub const HOLDOUT_COLUMNS: [&str; 4] = ["action", "clients", "held out", "share"];
pub const TARGETING_COLUMNS: [&str; 6] = [
    "action",
    "decile",
    "treated",
    "holdout",
    "uplift",
    "Qini coefficient",
];
pub const SMALL: &str = "small";
/// A number that cannot be computed (an empty arm).
pub const NA: &str = "n/a";

pub fn outcome(o: super::Outcome) -> &'static str {
    match o {
        super::Outcome::Lapse => "lapse",
        super::Outcome::Surrender => "surrender",
        super::Outcome::NewPolicy => "new policy bought",
        super::Outcome::PremiumKept => "premium kept",
    }
}

pub fn verdict(v: super::Verdict) -> &'static str {
    match v {
        super::Verdict::Helps => "helps",
        super::Verdict::Harms => "harms",
        super::Verdict::Unclear => "no clear effect",
        super::Verdict::NotIdentified => "not identified",
    }
}

pub const CHART_NAME: &str = "effect";
pub const CHART_TITLE: &str = "Uplift on lapse per action and segment";
pub const CHART_CAPTION: &str = "Uplift on lapse (treated minus holdout) with its interval, \
by action and segment, sorted by ROI";
pub const CHART_AXIS: &str = "uplift on the lapse rate (points; below 0: fewer lapses)";

/// A forest-plot row's label: action, segment (or `all`) and ROI.
pub fn forest_label(action: &str, segment: &str, roi: Option<f64>) -> String {
    let roi = roi.map_or(NA.to_string(), |v| format!("{:.0}%", v * 100.0));
    if segment == ALL {
        format!("{action} | all segments | ROI {roi}")
    } else {
        format!("{action} | segment {segment} | ROI {roi}")
    }
}
