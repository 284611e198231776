//! Pairwise interaction terms of the lapse model, end to end: on a generated book whose
//! lapse truth has two interactions (`clientele_synth::INTERACTION_LAPSE`), the screen
//! keeps the true pairs, the model closes the gap the interactions open to the truth's
//! AUC, and the pairs are explained in words; a flat table gets the same.

mod common;
use common::*;

/// The features of each kept pair, by name.
fn kept_pairs(b: &serde_json::Value) -> Vec<(String, String)> {
    let side = |s: &serde_json::Value| -> String {
        if let Some(bins) = s.get("bins") {
            let j = bins["column"].as_u64().unwrap() as usize;
            b["features"]["numeric"][j]["name"].as_str().unwrap().into()
        } else {
            let k = s["levels"]["feature"].as_u64().unwrap() as usize;
            b["features"]["categorical"][k]["name"]
                .as_str()
                .unwrap()
                .into()
        }
    };
    b["lapse"]["form"]["pairs"]
        .as_array()
        .map(|pairs| {
            pairs
                .iter()
                .map(|p| (side(&p["first"]), side(&p["second"])))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_screen_finds_the_true_interactions_and_closes_their_gap_to_the_truth() {
    let t = tempfile::tempdir().unwrap();
    interaction_book(&t.path().join("book"), 100_000, 13);
    synth_book(&t.path().join("plain"), 100_000, 13);
    write(t.path(), "additive.toml", "[lapse]\npairs = 0\n");
    write(t.path(), "pairs.toml", "[lapse]\npairs = 8\n");
    let with_pairs = train_into(
        t.path(),
        "book",
        "pairs",
        &["--config", "pairs.toml", "--no-charts"],
    );
    let additive = train_into(
        t.path(),
        "book",
        "additive",
        &["--config", "additive.toml", "--no-charts"],
    );
    let plain = train_into(
        t.path(),
        "plain",
        "plain-models",
        &["--config", "pairs.toml", "--no-charts"],
    );

    // Both true interactions are kept: income with the channel (online buyers with a low
    // income), and missed premiums with how long the client has held policies.
    let kept = kept_pairs(&with_pairs);
    let has = |a: &str, b: &[&str]| {
        kept.iter().any(|(x, y)| {
            (x == a && b.contains(&y.as_str())) || (y == a && b.contains(&x.as_str()))
        })
    };
    assert!(has("channel", &["log_income"]), "{kept:?}");
    assert!(
        has("missed_12m", &["tenure_years", "paid_years_36m"]),
        "{kept:?}"
    );
    assert!(kept.len() <= 8, "{kept:?}");
    assert!(kept_pairs(&additive).is_empty());
    let form = with_pairs["metrics"]["lapse_form"].as_str().unwrap();
    assert!(
        form.contains(&format!(", {} pairs (", kept.len())),
        "{form}"
    );

    // Same split: the pairs lift the held-out AUC, and leave the model no further from the
    // truth than the additive model is on the same book without interactions (+ 0.01).
    let (pairs_auc, truth_auc) =
        held_out_auc(&t.path().join("book/truth.csv"), &t.path().join("pairs"));
    let (additive_auc, _) =
        held_out_auc(&t.path().join("book/truth.csv"), &t.path().join("additive"));
    let (plain_auc, plain_truth) = held_out_auc(
        &t.path().join("plain/truth.csv"),
        &t.path().join("plain-models"),
    );
    let shown = format!(
        "pairs {pairs_auc:.4}, additive {additive_auc:.4}, truth {truth_auc:.4}; without \
         interactions: model {plain_auc:.4}, truth {plain_truth:.4}"
    );
    assert!(pairs_auc > additive_auc + 0.002, "{shown}");
    assert!(
        truth_auc - pairs_auc < plain_truth - plain_auc + 0.01,
        "{shown}"
    );
    // No pair is kept on the book without interactions that the CV did not ask for: its
    // pair CV points are recorded either way.
    let tried = plain["lapse"]["cv"].as_array().unwrap();
    assert!(tried.iter().any(|p| p["pairs"].as_u64().unwrap_or(0) > 0));

    // Labeling names a pair in its reasons, both sides in words.
    let reasons = labeled_reasons(t.path(), "pairs/latest", "book");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(" AND ") && r.contains("channel is online")),
        "{:?}",
        &reasons[..reasons.len().min(12)]
    );
    // The scorecard chart shows each pair as a table.
    let svg = std::fs::read_to_string(find(t.path().join("run"), "scorecard.svg")).unwrap();
    assert!(svg.contains("log income x channel") || svg.contains("channel x log income"));
}

/// The first file named `name` under `dir`.
fn find(dir: std::path::PathBuf, name: &str) -> std::path::PathBuf {
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == name) {
                return p;
            }
        }
    }
    panic!("no {name} under the run");
}

/// Flat mode gets pairs as relational mode does: a wide table whose churn depends on a
/// plan flag together with usage (the plan changes how usage drives churn) keeps that
/// pair, and scores better held out than with `pairs = 0`.
#[test]
fn a_flat_table_keeps_the_pair_its_churn_depends_on() {
    let t = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,minutes,calls,plan,churned\n");
    let mut uniform = uniform_draws(0x9E37_79B9_7F4A_7C15);
    for i in 0..12_000 {
        let minutes = (uniform() * 300.0).floor();
        let calls = (uniform() * 6.0).floor();
        let plan = if uniform() < 0.3 { "intl" } else { "basic" };
        // Usage drives churn only without the plan.
        let usage = if plan == "basic" {
            0.012 * (minutes - 150.0)
        } else {
            0.0
        };
        let z = -1.8 + usage + 0.3 * calls;
        let churned = uniform() < 1.0 / (1.0 + (-z).exp());
        csv.push_str(&format!(
            "C{i},{minutes},{calls},{plan},{}\n",
            u8::from(churned)
        ));
    }
    let config = "mode = \"flat\"\n[flat]\npath = \"features.csv\"\nid = \"id\"\nlabel = \"churned\"\nnumeric = [\"minutes\", \"calls\"]\ncategorical = [\"plan\"]\n";
    let (with_pairs, additive) = flat_fits(t.path(), &csv, config, ("pairs = 8", "pairs = 0"));
    let kept = kept_pairs(&with_pairs);
    assert!(
        kept.first()
            .is_some_and(|(a, b)| [a.as_str(), b.as_str()] == ["minutes", "plan"]),
        "{kept:?}"
    );
    let auc = |b: &serde_json::Value| b["metrics"]["test"]["roc_auc"].as_f64().unwrap();
    assert!(
        auc(&with_pairs) > auc(&additive) + 0.01,
        "{} vs {}",
        auc(&with_pairs),
        auc(&additive)
    );
}

/// The axes of the pairs are cross-validated like their number: where churn follows a
/// diagonal boundary between two usage measures (their sum over a threshold), 4 bins a
/// side draw it in coarse steps and 16 draw it closely, so the CV keeps 16; the 4-bin
/// candidates are tried and recorded, and no pair point beats the one kept by more than
/// the 0.1% a richer candidate must gain.
#[test]
fn the_cv_chooses_fine_pair_axes_for_a_diagonal_boundary() {
    let t = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,day,evening,churned\n");
    let mut uniform = uniform_draws(0x2545_F491_4F6C_DD1D);
    for i in 0..12_000 {
        let (day, evening) = ((uniform() * 300.0).floor(), (uniform() * 300.0).floor());
        // A bill over 400 minutes in all: the boundary runs across both axes' bins.
        let z: f64 = if day + evening > 400.0 { 1.5 } else { -2.5 };
        let churned = uniform() < 1.0 / (1.0 + (-z).exp());
        csv.push_str(&format!("C{i},{day},{evening},{}\n", u8::from(churned)));
    }
    let config = "mode = \"flat\"\n[flat]\npath = \"features.csv\"\nid = \"id\"\nlabel = \"churned\"\nnumeric = [\"day\", \"evening\"]\n";
    let (chosen, coarse) = flat_fits(
        t.path(),
        &csv,
        config,
        ("pairs = 2", "pairs = 2\npair_bins = 4"),
    );
    let form = &chosen["lapse"]["form"];
    assert_eq!(form["pair_bins"], 16, "{}", chosen["metrics"]["lapse_form"]);
    assert!(chosen["metrics"]["lapse_form"]
        .as_str()
        .unwrap()
        .ends_with("(16 bins a side)"));
    let points = chosen["lapse"]["cv"].as_array().unwrap();
    let loss_at = |axes: u64| {
        points
            .iter()
            .filter(|p| p["pair_bins"].as_u64() == Some(axes))
            .filter_map(|p| p["log_loss"].as_f64())
            .fold(f64::INFINITY, f64::min)
    };
    assert!(loss_at(4).is_finite() && loss_at(16) < loss_at(4));
    let kept = chosen_log_loss(&chosen);
    assert!(kept <= loss_at(16) * 1.001, "{kept} vs {}", loss_at(16));
    // The 4-bin candidates are the ones a run on 4 bins alone fits: the same CV points.
    let only_coarse: Vec<&serde_json::Value> =
        coarse["lapse"]["cv"].as_array().unwrap().iter().collect();
    let coarse_in_chosen: Vec<&serde_json::Value> = points
        .iter()
        .filter(|p| p["pair_bins"].as_u64() != Some(16))
        .collect();
    assert_eq!(coarse_in_chosen, only_coarse);
    let auc = |b: &serde_json::Value| b["metrics"]["test"]["roc_auc"].as_f64().unwrap();
    assert!(
        auc(&chosen) > auc(&coarse),
        "{} vs {}",
        auc(&chosen),
        auc(&coarse)
    );
}

/// The out-of-fold log loss of the CV point the bundle's model was chosen at.
fn chosen_log_loss(b: &serde_json::Value) -> f64 {
    let lapse = &b["lapse"];
    let form = &lapse["form"];
    let kept = form["pairs"].as_array().map_or(0, Vec::len) as u64;
    let axes = form["pair_bins"].as_u64().unwrap_or(0);
    let penalty = form["pair_penalty"].as_f64().unwrap_or(1.0);
    lapse["cv"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["alpha"] == lapse["alpha"]
                && p["bins"] == form["bins"]
                && p["pairs"].as_u64().unwrap_or(0) == kept
                && p["pair_bins"].as_u64().unwrap_or(0) == axes
                && p["pair_penalty"].as_f64().unwrap_or(1.0) == penalty
        })
        .and_then(|p| p["log_loss"].as_f64())
        .unwrap()
}

/// On the bundled sample the model with pairs never costs more than 0.002 out-of-fold
/// log loss against the additive one (`pairs = 0`), whose forms are cross-validated
/// exactly as before: the same CV points.
#[test]
fn on_the_sample_pairs_never_cost_out_of_fold_log_loss() {
    let t = tempfile::tempdir().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample");
    write(t.path(), "additive.toml", "[lapse]\npairs = 0\n");
    write(t.path(), "pairs.toml", "[lapse]\npairs = 8\n");
    let with_pairs = train_into(
        t.path(),
        sample,
        "pairs",
        &["--config", "pairs.toml", "--no-charts"],
    );
    let additive = train_into(
        t.path(),
        sample,
        "additive",
        &["--config", "additive.toml", "--no-charts"],
    );
    let (loss, additive_loss) = (chosen_log_loss(&with_pairs), chosen_log_loss(&additive));
    assert!(loss <= additive_loss + 0.002, "{loss} vs {additive_loss}");
    let additive_points: Vec<&serde_json::Value> = with_pairs["lapse"]["cv"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["pairs"].as_u64().unwrap_or(0) == 0)
        .collect();
    let before: Vec<&serde_json::Value> =
        additive["lapse"]["cv"].as_array().unwrap().iter().collect();
    assert_eq!(additive_points, before);
}
