//! Known answers from the generator's truth (`synth/`): the book is simulated with lapse
//! and surrender as separate exits with their own drivers, a first-year lapse spike,
//! leads who never bought and clients won back after leaving; each test checks what
//! clientele says against what the generator knows happened.

mod common;

use clientele::Date;
use clientele_synth::{generate, product_sold_to, write_book, BookParams, OutputFormat};
use std::collections::BTreeMap;
use std::path::Path;

type Row = BTreeMap<String, String>;

const END: &str = "2026-09-30";
const CUTOFF: &str = "2025-09-30";

/// A clean generated book written twice: as exported at `END` (to train on) and as it
/// looked at the training cut-off (to label, so the model's probabilities are for the
/// moment the generator drew each client's exit).
fn write_views(dir: &Path, clients: usize, seed: u64) {
    let params = BookParams {
        clients,
        seed,
        end: Date::parse(END).unwrap(),
        extra_months: 0,
        history_years: 5,
        income_factor: 1.0,
        lapse_shift: 0.0,
        nonlinear_lapse: false,
        interaction_lapse: false,
    };
    let book = generate(&params);
    for (sub, view) in [("book", END), ("at-cutoff", CUTOFF)] {
        let opts = clientele_synth::WriteOptions {
            view: Date::parse(view).unwrap(),
            format: OutputFormat::Csv,
            dirt: false,
        };
        write_book(&book, &dir.join(sub), &opts).unwrap();
    }
}

/// Trains with `[lapse] outcome = outcome` into `models-<outcome>` and labels the book as
/// it looked at the cut-off; returns the labels by client id.
fn train_and_label_at_cutoff(dir: &Path, outcome: &str) -> BTreeMap<String, Row> {
    let config = common::write(
        dir,
        &format!("{outcome}.toml"),
        &format!("[lapse]\noutcome = \"{outcome}\"\n"),
    );
    let models = format!("models-{outcome}");
    let r = common::train(
        &[
            "--data",
            "book",
            "--extract-date",
            END,
            "--config",
            config.to_str().unwrap(),
            "--models",
            &models,
            "--out",
            &format!("out-{outcome}"),
            "--no-charts",
        ],
        dir,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    label(
        dir,
        &format!("{models}/latest"),
        "at-cutoff",
        CUTOFF,
        outcome,
    )
}

fn label(dir: &Path, model: &str, data: &str, as_of: &str, name: &str) -> BTreeMap<String, Row> {
    let out = format!("run-{name}");
    let r = common::infer(
        &[
            "--model",
            model,
            "--data",
            data,
            "--extract-date",
            as_of,
            "--out",
            &out,
        ],
        dir,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    by_client(&dir.join(out).join("labels.csv"))
}

fn by_client(path: &Path) -> BTreeMap<String, Row> {
    common::read_csv(path)
        .into_iter()
        .map(|row| (row["client_id"].clone(), row))
        .collect()
}

/// Spearman's rank correlation (average ranks for ties).
fn spearman(x: &[f64], y: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
                j += 1;
            }
            for &k in &order[i..=j] {
                r[k] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    }
    let (rx, ry) = (ranks(x), ranks(y));
    let n = x.len() as f64;
    let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

fn number(row: &Row, column: &str) -> f64 {
    row[column].parse().unwrap_or(f64::NAN)
}

/// A lapse model and a surrender model trained on the same book each follow their own
/// exit's true probability, not the other's: the generator drives lapse by missed
/// premiums, complaints, a short tenure and the premium burden, and surrender by an
/// aging cash-value policy, the years before retirement and a high income.
#[test]
fn lapse_and_surrender_models_follow_their_own_truth() {
    let t = tempfile::tempdir().unwrap();
    write_views(t.path(), 30_000, 21);
    let truth = by_client(&t.path().join("book/truth.csv"));
    let lapse = train_and_label_at_cutoff(t.path(), "lapse");
    let surrender = train_and_label_at_cutoff(t.path(), "surrender");
    let (mut p_lapse, mut p_surrender, mut true_lapse, mut true_surrender) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (id, row) in &truth {
        if row["in_force_at_cutoff"] != "true" {
            continue;
        }
        let (a, b) = (
            number(&lapse[id], "lapse_probability"),
            number(&surrender[id], "lapse_probability"),
        );
        assert!(
            a.is_finite() && b.is_finite(),
            "{id} in force but not scored"
        );
        p_lapse.push(a);
        p_surrender.push(b);
        true_lapse.push(number(row, "lapse_only_probability"));
        true_surrender.push(number(row, "surrender_probability"));
    }
    let own_lapse = spearman(&p_lapse, &true_lapse);
    let cross_lapse = spearman(&p_lapse, &true_surrender);
    let own_surrender = spearman(&p_surrender, &true_surrender);
    let cross_surrender = spearman(&p_surrender, &true_lapse);
    eprintln!(
        "{} scored; lapse model: rho {own_lapse:.3} with lapse truth, {cross_lapse:.3} with \
         surrender truth; surrender model: {own_surrender:.3} with surrender truth, \
         {cross_surrender:.3} with lapse truth",
        p_lapse.len()
    );
    assert!(own_lapse > 0.7, "{own_lapse}");
    assert!(own_surrender > 0.7, "{own_surrender}");
    assert!(
        own_lapse > cross_lapse + 0.4,
        "{own_lapse} vs {cross_lapse}"
    );
    assert!(
        own_surrender > cross_surrender + 0.4,
        "{own_surrender} vs {cross_surrender}"
    );
    // Calibrated to the truth's level, each for its own outcome.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for (name, p, truth) in [
        ("lapse", &p_lapse, &true_lapse),
        ("surrender", &p_surrender, &true_surrender),
    ] {
        let (m, tm) = (mean(p), mean(truth));
        assert!((m - tm).abs() < 0.2 * tm, "{name}: mean {m} vs truth {tm}");
    }
}

/// The first policy year carries the largest lapse spike in the generator (+1 log-odds);
/// the default model sees it, and first-year clients are labelled by it: those with a
/// missed premium are "at risk", never "new".
#[test]
fn the_first_year_spike_is_seen_and_labelled() {
    let t = tempfile::tempdir().unwrap();
    write_views(t.path(), 30_000, 22);
    let truth = by_client(&t.path().join("book/truth.csv"));
    let labels = train_and_label_at_cutoff(t.path(), "lapse_or_surrender");
    let policies = common::read_csv(&t.path().join("at-cutoff/policies.csv"));
    let cutoff = Date::parse(CUTOFF).unwrap();
    let mut first_start: BTreeMap<&str, Date> = BTreeMap::new();
    for p in &policies {
        let start = Date::parse(&p["start_date"]).unwrap();
        let e = first_start.entry(p["client_id"].as_str()).or_insert(start);
        *e = (*e).min(start);
    }
    // (first year, tenure 1-3 years): (model sum, truth sum, count)
    let mut sums = [(0.0, 0.0, 0usize); 2];
    for (id, row) in &truth {
        let Some(start) = first_start.get(id.as_str()) else {
            continue;
        };
        if row["in_force_at_cutoff"] != "true" {
            continue;
        }
        let tenure = cutoff.years_since(*start);
        let k = match tenure {
            t if t < 1.0 => 0,
            t if t < 3.0 => 1,
            _ => continue,
        };
        sums[k].0 += number(&labels[id], "lapse_probability");
        sums[k].1 += number(row, "lapse_probability");
        sums[k].2 += 1;
        if k == 0 && labels[id]["stage_code"] == "new" {
            // "new" only for a first-year client with nothing that makes them at risk.
            assert_ne!(labels[id]["risk_band"], "high", "{id}");
        }
    }
    // Mean of the model's (0) or the truth's (1) probabilities in group k.
    let mean = |k: usize, i: usize| [sums[k].0, sums[k].1][i] / sums[k].2 as f64;
    let (model_ratio, truth_ratio) = (mean(0, 0) / mean(1, 0), mean(0, 1) / mean(1, 1));
    eprintln!(
        "first year vs 1-3 years, mean probability ratio: model {model_ratio:.2}, truth \
         {truth_ratio:.2} ({} and {} clients)",
        sums[0].2, sums[1].2
    );
    assert!(sums[0].2 > 300 && sums[1].2 > 300, "{sums:?}");
    assert!(truth_ratio > 1.3, "{truth_ratio}");
    assert!(
        (model_ratio - truth_ratio).abs() < 0.25 * truth_ratio,
        "model {model_ratio} vs truth {truth_ratio}"
    );
}

/// Leads the generator never sold a policy are prospects, and clients it won back within
/// the last year are "won back" unless something outranks it; the next product is never
/// one the generator's sales rules (age, dependants) rule out.
#[test]
fn prospects_won_back_and_next_products_match_the_truth() {
    let t = tempfile::tempdir().unwrap();
    write_views(t.path(), 20_000, 23);
    let truth = by_client(&t.path().join("book/truth.csv"));
    let clients = by_client(&t.path().join("book/clients.csv"));
    common::train_without_charts(t.path(), "book", &[]);
    let labels = label(t.path(), "models/latest", "book", END, "now");
    let as_of = Date::parse(END).unwrap();
    let (mut prospects, mut won_back, mut checked_products) = (0, 0, 0);
    for (id, row) in &truth {
        let l = &labels[id];
        let stage = l["stage_code"].as_str();
        // Prospects: exactly the leads.
        assert_eq!(
            row["prospect"] == "true",
            stage == "prospect",
            "{id}: {stage}"
        );
        prospects += usize::from(stage == "prospect");
        // Won back: a return within the year, unless lapsed again or outranked.
        let recent_return = Date::parse(&row["won_back_on"])
            .is_some_and(|d| as_of.years_since(d) < 1.0 && d <= as_of);
        if stage == "won_back" {
            assert!(
                recent_return,
                "{id} won back without a return in the last year"
            );
            won_back += 1;
        } else if recent_return {
            assert!(
                matches!(stage, "lapsed" | "at_risk" | "new"),
                "{id} returned within the year but is {stage}"
            );
        }
        // The next product is one the generator would sell to this client today.
        if let Some(product) = clientele::schema::PRODUCT_LINES
            .iter()
            .position(|p| *p == l["next_product"])
        {
            let c = &clients[id];
            let age = as_of.years_since(Date::parse(&c["birth_date"]).unwrap());
            let dependents: u8 = c["dependents"].parse().unwrap();
            assert!(
                product_sold_to(product as u8, age, dependents),
                "{id}: {} offered at {age:.0} with {dependents} dependants",
                l["next_product"]
            );
            checked_products += 1;
        }
    }
    eprintln!("{prospects} prospects, {won_back} won back, {checked_products} next products");
    assert!(prospects > 300 && won_back > 50 && checked_products > 1_000);
}

/// On the committed sample, each client's `lifetime_value` ranks like the premium the
/// generator's own hazards pay after the export, discounted at the same 8% a year over
/// the same 30 years (the mean of 8 simulations forward per client in force).
#[test]
fn lifetime_value_ranks_like_the_simulated_discounted_premium() {
    let t = tempfile::tempdir().unwrap();
    common::train_on_sample(t.path());
    let labels = label(
        t.path(),
        "models/latest",
        &common::sample_dir(),
        END,
        "value",
    );
    let params = BookParams {
        clients: 20_000,
        seed: 7,
        end: Date::parse(END).unwrap(),
        extra_months: 1,
        history_years: 5,
        income_factor: 1.0,
        lapse_shift: 0.0,
        nonlinear_lapse: false,
        interaction_lapse: false,
    };
    let truth = clientele_synth::expected_discounted_premium(&params, 30, 8, 0.08);
    let (mut value, mut simulated, mut premium) = (Vec::new(), Vec::new(), Vec::new());
    for (i, t) in truth.iter().enumerate() {
        let id = format!("C{:07}", i + 1);
        let (Some(t), Some(l)) = (t, labels.get(&id)) else {
            continue;
        };
        let v = number(l, "lifetime_value");
        if v.is_finite() {
            value.push(v);
            simulated.push(*t);
            // The annual premium in force (the model's horizon is 12 months).
            premium.push(number(l, "premium_at_risk_12m") / number(l, "lapse_probability"));
        }
    }
    let rho = spearman(&value, &simulated);
    let by_premium = spearman(&premium, &simulated);
    eprintln!(
        "{} clients: Spearman {rho:.3} (the premium in force alone: {by_premium:.3})",
        value.len()
    );
    assert!(value.len() > 10_000, "{}", value.len());
    assert!(rho >= 0.8, "{rho}");
    // Retention and risk add to what the premium alone says.
    assert!(rho > by_premium, "{rho} vs {by_premium}");
}
