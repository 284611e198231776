//! The business labels on a small hand-built book with known answers: each client is
//! made to be one lifecycle stage or value tier by the trade's definitions
//! (docs/domain.md), and the rules must say so.

mod common;

use clientele::config::{Config, LabelRules, Mode, StageSettings, TierSettings};
use clientele::features::{compute, RawFeatures};
use clientele::ingest::{load_from, Frames, Input, LoadOptions};
use clientele::labeling::rules::{
    lifecycle, signals, value_tier, ClientView, FeatureColumns, TierCuts,
};
use clientele::schema::Source;
use clientele::vocab::{LifecycleStage, RiskBand, ValueTier};
use clientele::Date;
use polars::prelude::*;

const AS_OF: &str = "2026-09-30";

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// The book: one client per case, named after what it must be.
fn book() -> (clientele::ingest::Book, RawFeatures) {
    let clients = df!(
        "client_id" => ["first_year_missed", "first_year_paid", "prospect", "lapsed",
                        "won_back", "loyal", "established", "one_big_claim", "claims_every_year",
                        "complained", "surrendered", "matured", "deceased"],
        "age" => [30.0, 30.0, 28.0, 50.0, 45.0, 60.0, 55.0, 62.0, 62.0, 41.0, 48.0, 66.0, 70.0],
        "annual_income" => [50_000.0; 13],
    )
    .unwrap();
    // (policy, client, start, end, end reason, annual premium)
    let rows = [
        ("P1", "first_year_missed", "2026-03-01", None, None, 1200.0),
        ("P2", "first_year_paid", "2026-03-01", None, None, 1200.0),
        (
            "P3",
            "lapsed",
            "2015-01-01",
            Some("2024-05-31"),
            Some("lapse"),
            900.0,
        ),
        (
            "P4",
            "won_back",
            "2010-01-01",
            Some("2025-01-31"),
            Some("lapse"),
            900.0,
        ),
        ("P5", "won_back", "2026-01-01", None, None, 900.0),
        ("P6", "loyal", "2015-01-01", None, None, 2000.0),
        ("P7", "loyal", "2018-06-01", None, None, 800.0),
        ("P8", "established", "2015-01-01", None, None, 2000.0),
        ("P9", "one_big_claim", "2012-01-01", None, None, 3000.0),
        ("P10", "claims_every_year", "2012-01-01", None, None, 3000.0),
        ("P11", "complained", "2019-01-01", None, None, 1500.0),
        (
            "P12",
            "surrendered",
            "2016-01-01",
            Some("2026-02-28"),
            Some("surrender"),
            1500.0,
        ),
        // A lapse and a maturity the same day: the maturity names how cover ended.
        (
            "P13",
            "matured",
            "2006-07-01",
            Some("2026-06-30"),
            Some("maturity"),
            1000.0,
        ),
        (
            "P14",
            "matured",
            "2020-07-01",
            Some("2026-06-30"),
            Some("lapse"),
            600.0,
        ),
        // A death claim, then a policy nobody paid for any more: deceased, not lapsed.
        (
            "P15",
            "deceased",
            "2011-01-01",
            Some("2026-01-31"),
            Some("death_claim"),
            1200.0,
        ),
        (
            "P16",
            "deceased",
            "2019-01-01",
            Some("2026-05-31"),
            Some("lapse"),
            500.0,
        ),
    ];
    let policies = df!(
        "policy_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "client_id" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "product" => vec!["whole_life"; rows.len()],
        "start_date" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "end_date" => rows.iter().map(|r| r.3).collect::<Vec<Option<&str>>>(),
        "end_reason" => rows.iter().map(|r| r.4).collect::<Vec<Option<&str>>>(),
        "annual_premium" => rows.iter().map(|r| r.5).collect::<Vec<_>>(),
    )
    .unwrap();
    // Monthly premiums this year; one missed by the first-year client.
    let (mut payer, mut due, mut paid) = (Vec::new(), Vec::new(), Vec::new());
    let payers = [
        ("first_year_missed", 3),
        ("first_year_paid", 3),
        ("established", 1),
        ("one_big_claim", 1),
        ("claims_every_year", 1),
    ];
    for (client, from) in payers {
        for month in from..=9 {
            let date = format!("2026-{month:02}-01");
            let missed = client == "first_year_missed" && month == 8;
            payer.push(client);
            due.push(date.clone());
            paid.push((!missed).then_some(date));
        }
    }
    // An extra premium due ten days before the as-of date, not paid yet: overdue, not
    // missed.
    payer.push("established");
    due.push("2026-09-20".into());
    paid.push(None);
    let amount = vec![100.0; payer.len()];
    let payments = df!(
        "client_id" => payer, "due_date" => due, "paid_date" => paid, "amount" => amount,
    )
    .unwrap();
    let claims = df!(
        "client_id" => ["one_big_claim", "claims_every_year", "claims_every_year", "claims_every_year"],
        "claim_date" => ["2025-06-01", "2023-03-01", "2024-03-01", "2025-03-01"],
        "amount_claimed" => [400_000.0, 40_000.0, 40_000.0, 40_000.0],
        "amount_paid" => [400_000.0, 40_000.0, 40_000.0, 40_000.0],
    )
    .unwrap();
    let contacts = df!(
        "client_id" => ["complained"], "contact_date" => ["2026-08-15"], "kind" => ["complaint"],
    )
    .unwrap();
    let frames = Frames::new()
        .with(Source::Clients, clients)
        .with(Source::Policies, policies)
        .with(Source::Payments, payments)
        .with(Source::Claims, claims)
        .with(Source::Contacts, contacts);
    let config = Config::default();
    let mut opts = LoadOptions::from_config(&config, false);
    opts.extract_date = d(AS_OF);
    let book = load_from(&config, Input::Frames(&frames), &opts, None)
        .unwrap()
        .book;
    let raw = compute(&book, d(AS_OF));
    (book, raw)
}

fn index(book: &clientele::ingest::Book, id: &str) -> usize {
    book.client_ids.iter().position(|c| c == id).unwrap()
}

#[test]
fn stages_follow_the_trades_definitions_and_precedence() {
    let (book, raw) = book();
    let columns = FeatureColumns::of_raw(Mode::Relational, &raw);
    let settings = StageSettings::default();
    let stage = |id: &str, band: Option<RiskBand>| {
        let client = index(&book, id);
        let view = ClientView {
            columns: &columns,
            client,
        };
        let active = raw.active[client];
        lifecycle(
            Mode::Relational,
            &settings,
            &view,
            active,
            band.filter(|_| active),
        )
    };
    let low = Some(RiskBand::Low);
    // A missed premium in the first policy year: at risk, not new.
    assert_eq!(stage("first_year_missed", low), LifecycleStage::AtRisk);
    assert_eq!(stage("first_year_paid", low), LifecycleStage::New);
    // A high band makes even a first-year client at risk.
    assert_eq!(
        stage("first_year_paid", Some(RiskBand::High)),
        LifecycleStage::AtRisk
    );
    assert_eq!(stage("prospect", None), LifecycleStage::Prospect);
    // Former clients by how the cover ended.
    assert_eq!(stage("lapsed", None), LifecycleStage::Lapsed);
    assert_eq!(stage("surrendered", None), LifecycleStage::Surrendered);
    assert_eq!(stage("matured", None), LifecycleStage::Matured);
    assert_eq!(stage("deceased", None), LifecycleStage::Deceased);
    assert_eq!(stage("won_back", low), LifecycleStage::WonBack);
    // Long tenure and a second policy: loyal; long tenure with one policy: established.
    assert_eq!(stage("loyal", low), LifecycleStage::Loyal);
    assert_eq!(stage("established", low), LifecycleStage::Established);
    assert_eq!(stage("complained", low), LifecycleStage::AtRisk);
    // The established client's premium is ten days overdue: the model sees it
    // (missed_6m), the stage waits `missed_premium_days` (30) for it to count as missed.
    let established = index(&book, "established");
    assert_eq!(
        raw.feature(clientele::features::Feature::Missed6m).unwrap()[established],
        1.0
    );
    for (days, expected) in [
        (0, LifecycleStage::AtRisk),
        (10, LifecycleStage::AtRisk),
        (11, LifecycleStage::Established),
    ] {
        let settings = StageSettings {
            missed_premium_days: days,
            ..StageSettings::default()
        };
        let view = ClientView {
            columns: &columns,
            client: established,
        };
        let got = lifecycle(Mode::Relational, &settings, &view, true, low);
        assert_eq!(got, expected, "missed_premium_days = {days}");
    }
    // Thresholds are settings: with "loyal" from 10 years, the 2015 client is established.
    let strict = StageSettings {
        loyal_years: 12.0,
        ..StageSettings::default()
    };
    let client = index(&book, "loyal");
    let view = ClientView {
        columns: &columns,
        client,
    };
    assert_eq!(
        lifecycle(Mode::Relational, &strict, &view, true, low),
        LifecycleStage::Established
    );
    // The return is nine months old: with a six-month window it no longer counts.
    let shorter = StageSettings {
        won_back_years: 0.5,
        ..StageSettings::default()
    };
    let client = index(&book, "won_back");
    let view = ClientView {
        columns: &columns,
        client,
    };
    assert_ne!(
        lifecycle(Mode::Relational, &shorter, &view, true, low),
        LifecycleStage::WonBack
    );
}

#[test]
fn one_large_paid_claim_with_long_tenure_is_not_low_value() {
    let (book, raw) = book();
    let columns = FeatureColumns::of_raw(Mode::Relational, &raw);
    let settings = TierSettings::default();
    // Cuts as if read from a training book: premium median 2,000, top fifth 10,000.
    let cuts = TierCuts::new(
        Mode::Relational,
        &settings,
        Some((2000.0, 10_000.0)),
        Some(0.01),
    );
    let tier = |id: &str| {
        value_tier(
            &cuts,
            &ClientView {
                columns: &columns,
                client: index(&book, id),
            },
            None,
        )
    };
    let claims_ratio = |id: &str| {
        raw.feature(clientele::features::Feature::ClaimsRatio)
            .unwrap()[index(&book, id)]
    };
    // Both clients' claims exceed what they paid in premiums...
    assert!(claims_ratio("one_big_claim") > 1.0);
    assert!(claims_ratio("claims_every_year") > 1.0);
    // ...but one paid claim is the product working: not low.
    assert_ne!(tier("one_big_claim"), ValueTier::Low);
    assert_eq!(raw.facts.claim_years(index(&book, "claims_every_year")), 3);
    assert_eq!(tier("claims_every_year"), ValueTier::Low);
    // A single small policy below the median is low; two policies are not.
    assert_eq!(tier("first_year_paid"), ValueTier::Low);
    assert_ne!(tier("loyal"), ValueTier::Low);
}

#[test]
fn actions_are_life_insurance_remedies_and_prospects_get_a_first_policy() {
    let (book, raw) = book();
    let columns = FeatureColumns::of_raw(Mode::Relational, &raw);
    let rules = LabelRules::defaults();
    let cuts = TierCuts::new(
        Mode::Relational,
        &rules.tiers,
        Some((2000.0, 10_000.0)),
        None,
    );
    let action = |id: &str, band: Option<RiskBand>| {
        let client = index(&book, id);
        let view = ClientView {
            columns: &columns,
            client,
        };
        let active = raw.active[client];
        let band = band.filter(|_| active);
        let stage = lifecycle(Mode::Relational, &rules.stages, &view, active, band);
        let tier = value_tier(&cuts, &view, None);
        let signals = signals(Mode::Relational, &rules.stages, &cuts, &view, None);
        let product = Some("term_life");
        rules
            .actions
            .action_for(tier, band, stage, product, signals)
            .code
            .clone()
    };
    // A missed premium on a whole-life policy (a cash value): a premium holiday.
    assert_eq!(
        action("first_year_missed", Some(RiskBand::High)),
        "premium_holiday"
    );
    // The same client, premium-stretched: a lower sum assured keeps the cover.
    let client = index(&book, "established");
    let view = ClientView {
        columns: &columns,
        client,
    };
    let stretched = TierCuts::new(
        Mode::Relational,
        &rules.tiers,
        Some((2000.0, 10_000.0)),
        None,
    )
    .with_stretched(Some(0.01));
    let s = signals(Mode::Relational, &rules.stages, &stretched, &view, None);
    let a = rules.actions.action_for(
        ValueTier::General,
        Some(RiskBand::High),
        LifecycleStage::AtRisk,
        None,
        s,
    );
    assert_eq!(a.code, "reduce_sum_assured");
    // A cash-value client at risk who pays: a cash need, so a loan rather than a surrender.
    assert_eq!(
        action("established", Some(RiskBand::High)),
        "policy_loan_or_partial_withdrawal"
    );
    // Lapsed in May 2024: past the two-year reinstatement period, a new policy is offered.
    assert_eq!(action("lapsed", None), "win_back_offer");
    assert_eq!(action("surrendered", None), "win_back_offer");
    assert_eq!(action("matured", None), "maturity_reinvestment_offer");
    // Lapsed in May 2026 but deceased: never a reinstatement offer.
    assert_eq!(action("deceased", None), "no_contact_deceased");
    // A prospect is never sent a cross-sell, whatever the band would have been.
    for band in [None, Some(RiskBand::Low), Some(RiskBand::High)] {
        assert_eq!(action("prospect", band), "first_policy_offer");
    }
}

#[test]
fn thresholds_out_of_range_exit_2_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[stages]\nnew_years = -1\n", "[stages] new_years"),
        ("[tiers]\nhigh_quantile = 1.5\n", "[tiers] high_quantile"),
        (
            "[stages]\nloyal_min_policies = 0\n",
            "[stages] loyal_min_policies",
        ),
    ] {
        let config = common::write(dir.path(), "bad.toml", text);
        let r = common::train(
            &[
                "--config",
                config.to_str().unwrap(),
                "--models",
                "m",
                "--out",
                "o",
            ],
            dir.path(),
        );
        assert_eq!(r.code, 2, "{text}: {}", r.stderr);
        assert!(
            r.stderr.contains("bad.toml") && r.stderr.contains(key),
            "{text}: {}",
            r.stderr
        );
    }
}

#[test]
fn a_monthly_and_an_annual_payer_of_the_same_policy_get_the_same_frequency() {
    let clients = df!("client_id" => ["monthly", "annual", "unknown"]).unwrap();
    let policies = df!(
        "policy_id" => ["PM", "PA", "PU"],
        "client_id" => ["monthly", "annual", "unknown"],
        "product" => ["term_life"; 3],
        "start_date" => ["2020-10-15"; 3],
        "annual_premium" => [1200.0; 3],
        "payment_frequency" => [Some("monthly"), Some("annual"), None],
    )
    .unwrap();
    // Three full policy years of premiums before the cut-off, in 36 or 3 instalments.
    let (mut client, mut policy, mut due, mut amount) = (vec![], vec![], vec![], vec![]);
    for (who, id, months, each) in [
        ("monthly", "PM", 1, 100.0),
        ("annual", "PA", 12, 1200.0),
        ("unknown", "PU", 1, 100.0),
    ] {
        let mut date = d("2023-10-15");
        while date <= d(AS_OF) {
            client.push(who);
            policy.push(id);
            due.push(date.to_string());
            amount.push(each);
            date = date.add_months(months);
        }
    }
    let payments = df!(
        "client_id" => client, "policy_id" => policy, "due_date" => due.clone(),
        "paid_date" => due, "amount" => amount,
    )
    .unwrap();
    let frames = Frames::new()
        .with(Source::Clients, clients)
        .with(Source::Policies, policies)
        .with(Source::Payments, payments);
    let config = Config::default();
    let mut opts = LoadOptions::from_config(&config, false);
    opts.extract_date = d(AS_OF);
    let book = load_from(&config, Input::Frames(&frames), &opts, None)
        .unwrap()
        .book;
    let raw = compute(&book, d(AS_OF));
    let paid_years = raw.column("paid_years_36m").unwrap();
    let of = |id: &str| paid_years[index(&book, id)];
    assert_eq!(of("monthly"), 3.0);
    assert_eq!(of("annual"), 3.0);
    // Without a known frequency, the client's own dues a year stand in for it.
    assert_eq!(of("unknown"), 3.0);
    // Collection is a separate measure under its own name: everything due was paid.
    assert_eq!(
        raw.column("collection_rate_12m").unwrap()[index(&book, "monthly")],
        1.0
    );
    // Five anniversaries since 2020-10-15, all reached.
    assert_eq!(
        raw.column("renewal_rate").unwrap()[index(&book, "annual")],
        1.0
    );
}

#[test]
fn a_renewal_rate_counts_anniversaries_reached_over_those_due() {
    let (book, raw) = book();
    let renewal = raw.column("renewal_rate").unwrap();
    // Lapsed in 2024-05 after nine anniversaries (2016..2024): the tenth was due.
    let lapsed = renewal[index(&book, "lapsed")];
    assert!((lapsed - 9.0 / 10.0).abs() < 1e-12, "{lapsed}");
    // Won back: 15 anniversaries then a lapse (16th missed), and a new policy not a
    // year old.
    let won_back = renewal[index(&book, "won_back")];
    assert!((won_back - 15.0 / 16.0).abs() < 1e-12, "{won_back}");
    // No anniversary due yet: unknown, not 0.
    assert!(renewal[index(&book, "first_year_paid")].is_nan());
}

#[test]
fn a_surrender_only_target_trains_and_labels() {
    let t = tempfile::tempdir().unwrap();
    let config = common::write(
        t.path(),
        "surrender.toml",
        "[lapse]\noutcome = \"surrender\"\n",
    );
    let config = config.to_str().unwrap();
    let r = common::train_without_charts(t.path(), &common::sample_dir(), &["--config", config]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Training reports lapse and surrender apart, whatever the modelled outcome.
    assert!(
        r.stdout.contains("leaving    lapse surrender"),
        "{}",
        r.stdout
    );
    let next = format!("{}/next-month", common::sample_dir());
    let r = common::infer(
        &[
            "--model",
            "models/latest",
            "--config",
            config,
            "--data",
            &next,
            "--extract-date",
            "2026-10-31",
            "--out",
            "run",
        ],
        t.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let labels = std::fs::read_to_string(t.path().join("run/labels.csv")).unwrap();
    let mut lines = labels.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (p, outcome, band, action) = (
        col("lapse_probability"),
        col("lapse_outcome"),
        col("risk_band"),
        col("action_code"),
    );
    let (mut scored, mut at_risk_loans, mut at_risk) = (0, 0, 0);
    for line in lines {
        // Segment names hold commas in quotes: read the fields from the end.
        let cells = common::split_csv(line);
        if cells[p].is_empty() {
            assert!(cells[outcome].is_empty());
            continue;
        }
        scored += 1;
        // The labels say which outcome the probability is of.
        assert_eq!(cells[outcome], "surrender");
        if cells[band] == "high" && cells[action] != "vip_retention_call" {
            at_risk += 1;
            at_risk_loans += usize::from(cells[action] == "policy_loan_or_partial_withdrawal");
        }
    }
    assert!(scored > 10_000, "{scored}");
    // Surrender risk is a cash need: the remedy is a loan or a withdrawal, not payment help.
    assert!(
        at_risk > 0 && at_risk_loans == at_risk,
        "{at_risk_loans} of {at_risk}"
    );
}

#[test]
fn an_action_table_that_could_cross_sell_to_a_prospect_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let table = "[[actions]]\ntier = \"high\"\naction = \"cross-sell\"\n\
                 [[actions]]\naction = \"standard service\"\n";
    let config = common::write(t.path(), "actions.toml", table);
    let r = common::train(
        &[
            "--config",
            config.to_str().unwrap(),
            "--models",
            "m",
            "--out",
            "o",
        ],
        t.path(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("action rule 1") && r.stderr.contains("prospect"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_target_outcome_the_data_never_shows_exits_2_naming_the_key() {
    let t = tempfile::tempdir().unwrap();
    common::tiny_book(t.path());
    let config = common::write(
        t.path(),
        "target.toml",
        "[lapse]\noutcome = \"surrender\"\n",
    );
    let r = common::train_without_charts(t.path(), "data", &["--config", config.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("target.toml") && r.stderr.contains("[lapse] outcome"),
        "{}",
        r.stderr
    );
    // A misspelled outcome is refused when the config is read.
    let config = common::write(t.path(), "typo.toml", "[lapse]\noutcome = \"surender\"\n");
    let r = common::train_without_charts(t.path(), "data", &["--config", config.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("typo.toml") && r.stderr.contains("surender"),
        "{}",
        r.stderr
    );
}

#[test]
fn needs_and_the_protection_gap_follow_age_dependants_income_and_cover() {
    use clientele::config::NeedsSettings;
    use clientele::labeling::needs::{needs, ruled_out, NeedCuts};
    use clientele::vocab::{CoverageBand, Need};
    let clients = df!(
        "client_id" => ["young_parent", "retiree", "no_income", "prospect_parent"],
        "age" => [35.0, 75.0, 40.0, 30.0],
        "dependents" => [2.0, 0.0, 1.0, 1.0],
        "annual_income" => [Some(60_000.0), Some(30_000.0), None, Some(40_000.0)],
    )
    .unwrap();
    let policies = df!(
        "policy_id" => ["P1", "P2", "P3"],
        "client_id" => ["young_parent", "retiree", "no_income"],
        "product" => ["term_life", "whole_life", "medical"],
        "start_date" => ["2020-01-01", "1990-01-01", "2021-01-01"],
        "annual_premium" => [500.0, 2000.0, 800.0],
        "sum_assured" => [200_000.0, 100_000.0, 50_000.0],
    )
    .unwrap();
    let frames = Frames::new()
        .with(Source::Clients, clients)
        .with(Source::Policies, policies);
    let config = Config::default();
    let mut opts = LoadOptions::from_config(&config, false);
    opts.extract_date = d(AS_OF);
    let book = load_from(&config, Input::Frames(&frames), &opts, None)
        .unwrap()
        .book;
    let raw = compute(&book, d(AS_OF));
    let columns = FeatureColumns::of_raw(Mode::Relational, &raw);
    let settings = NeedsSettings::default();
    let cuts = NeedCuts::new(&settings, Some(100_000.0));
    let view = |id: &str| ClientView {
        columns: &columns,
        client: index(&book, id),
    };
    let of = |id: &str| needs(Mode::Relational, &cuts, &view(id));

    // Ten times 60,000 needed, 200,000 held: a gap of 400,000, a third covered.
    let parent = of("young_parent");
    assert_eq!(parent.gap, Some(400_000.0));
    assert_eq!(parent.band, Some(CoverageBand::Low));
    assert_eq!(
        parent.tags,
        vec![Need::Protection, Need::Health, Need::Education]
    );
    // Missing income: the gap is unknown, never 0 (cleaning's median is not used).
    let unknown = of("no_income");
    assert_eq!(unknown.gap, None);
    assert_eq!(unknown.band, Some(CoverageBand::Unknown));
    assert!(
        unknown.tags.contains(&Need::Protection),
        "{:?}",
        unknown.tags
    );
    assert!(!unknown.tags.contains(&Need::Health), "holds medical cover");
    // At 75 without dependants: no education, retirement or health need.
    let retiree = of("retiree");
    assert!(retiree.tags.is_empty(), "{:?}", retiree.tags);
    assert!(ruled_out(&settings, "education", &view("retiree")));
    assert!(ruled_out(&settings, "annuity", &view("retiree")));
    assert!(!ruled_out(&settings, "education", &view("young_parent")));
    // A prospect's first policy comes from its needs: protection first.
    let prospect = of("prospect_parent");
    assert_eq!(prospect.gap, Some(400_000.0));
    assert_eq!(prospect.band, Some(CoverageBand::NoCover));
    assert_eq!(prospect.first_product(), Some("term_life"));
}
