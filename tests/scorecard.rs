//! The binned (scorecard) lapse model, end to end: on a book whose lapse truth has a
//! threshold and a U-shape, cross-validation picks bins, the binned model beats the
//! linear one on held-out clients, and its reasons, charts and bundle say so in words.

mod common;
use common::*;

#[test]
fn a_threshold_and_a_u_shape_are_found_by_bins_and_explained_in_words() {
    let t = tempfile::tempdir().unwrap();
    nonlinear_book(&t.path().join("data"), 30_000, 11);
    let binned = train_into(t.path(), "data", "models", &[]);
    write(t.path(), "linear.toml", "[lapse]\nbins = [0]\n");
    let linear = train_into(
        t.path(),
        "data",
        "linear",
        &["--config", "linear.toml", "--no-charts"],
    );

    // Cross-validation chose bins, and says which forms it compared.
    let form = &binned["lapse"]["form"];
    assert!(form["bins"].as_u64().unwrap() > 0, "{form}");
    assert_eq!(
        binned["metrics"]["lapse_form"],
        format!("{} quantile bins", form["bins"])
    );
    let tried: Vec<u64> = binned["lapse"]["cv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["bins"].as_u64().unwrap())
        .collect();
    assert!(tried.contains(&0) && tried.iter().any(|&b| b > 0));
    assert_eq!(linear["metrics"]["lapse_form"], "linear");
    assert!(linear["lapse"]["form"]["binned"]
        .as_array()
        .unwrap()
        .is_empty());

    // Same split (same seed): the binned model is closer to the truth than the linear.
    let (binned_auc, truth_auc) =
        held_out_auc(&t.path().join("data/truth.csv"), &t.path().join("models"));
    let (linear_auc, truth_again) =
        held_out_auc(&t.path().join("data/truth.csv"), &t.path().join("linear"));
    assert_eq!(truth_auc, truth_again);
    assert!(
        binned_auc > linear_auc + 0.005,
        "binned {binned_auc:.4}, linear {linear_auc:.4}, truth {truth_auc:.4}"
    );
    // ... and closes a good part of the linear model's gap to the true probabilities
    // (on 30,000 clients; benches/scorecard.sh measures 1M).
    assert!(
        truth_auc - binned_auc < 0.7 * (truth_auc - linear_auc),
        "binned {binned_auc:.4}, linear {linear_auc:.4}, truth {truth_auc:.4}"
    );

    // Odds ratios per bin, named in words.
    let names: Vec<&str> = binned["lapse"]["odds_ratios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["feature"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"missed_12m: 0"), "{names:?}");
    assert!(names
        .iter()
        .any(|n| n.starts_with("age: ") && n.ends_with(" or more")));

    // The scorecard chart is drawn with the training charts.
    let version = std::fs::read_to_string(t.path().join("models/latest")).unwrap();
    let charts = t
        .path()
        .join(format!("models-out/train-{}", version.trim()));
    assert!(charts.join("scorecard.png").is_file());
    let svg = std::fs::read_to_string(charts.join("scorecard.svg")).unwrap();
    assert!(
        svg.contains("missed 12m"),
        "scorecard without missed payments"
    );

    // Labeling explains a binned score by the client's bin.
    let reasons = labeled_reasons(t.path(), "models/latest", "data");
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("missed 12m: ") && r.contains("or more")),
        "{:?}",
        &reasons[..reasons.len().min(12)]
    );
    let report = std::fs::read_to_string(t.path().join("run/report.html")).unwrap();
    assert!(report.contains("scorecard:"), "model card without the form");

    // A bundle of format 1 (before forms) is a linear model and still labels.
    let mut old = linear.clone();
    old["format_version"] = 1.into();
    old["lapse"].as_object_mut().unwrap().remove("form");
    old["metrics"].as_object_mut().unwrap().remove("lapse_form");
    write(t.path(), "old/bundle.json", &old.to_string());
    let r = infer(
        &[
            "--model",
            "old",
            "--data",
            "data",
            "--extract-date",
            "2026-09-30",
            "--out",
            "old-run",
        ],
        t.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Flat mode uses the same forms: a U-shaped effect in one column of a wide table is
/// binned, a 0/1 column stays linear (bins would say nothing a slope does not), and
/// `bins = [0]` keeps everything linear.
#[test]
fn a_flat_table_gets_bins_where_its_effect_bends() {
    let t = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,age,online,churned\n");
    // A seeded, deterministic draw: lapse risk is U-shaped in age, higher online.
    let mut uniform = uniform_draws(0x2545_F491_4F6C_DD1D);
    for i in 0..6000 {
        let age = 20.0 + (uniform() * 60.0).floor();
        let online = u8::from(uniform() < 0.4);
        let z = -2.0 + 0.004 * (age - 50.0) * (age - 50.0) + 0.8 * f64::from(online);
        let churned = uniform() < 1.0 / (1.0 + (-z).exp());
        csv.push_str(&format!("C{i},{age},{online},{}\n", u8::from(churned)));
    }
    let config = "mode = \"flat\"\n[flat]\npath = \"features.csv\"\nid = \"id\"\nlabel = \"churned\"\nnumeric = [\"age\", \"online\"]\n";
    let (binned, linear) = flat_fits(t.path(), &csv, config, ("", "bins = [0]"));
    let form = &binned["lapse"]["form"];
    assert!(form["bins"].as_u64().unwrap() > 0, "{form}");
    assert_eq!(form["binned"][0]["column"], 0, "{form}");
    assert_eq!(
        form["kept_linear"][0][1], "2 distinct training values",
        "{form}"
    );
    let auc = |b: &serde_json::Value| b["metrics"]["test"]["roc_auc"].as_f64().unwrap();
    assert!(
        auc(&binned) > auc(&linear) + 0.05,
        "{} vs {}",
        auc(&binned),
        auc(&linear)
    );
}
