//! Next-best product, end to end on the sample: a propensity model per product in the
//! bundle and metrics, `next_product` in the labels, the action table matching on it,
//! and the products-by-segment chart in the report.

mod common;
use common::*;
use std::collections::BTreeMap;

#[test]
fn each_client_in_force_is_offered_the_likeliest_product_it_does_not_hold() {
    let t = tempfile::tempdir().unwrap();
    train_on_sample(t.path());
    let data = sample_dir();
    let (dir, bundle) = latest_bundle(&t.path().join("models"));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    let products = metrics["products"].as_array().unwrap();
    assert!(products.len() >= 5, "{metrics}");
    for p in products {
        assert!(p["roc_auc"].as_f64().unwrap() > 0.6, "{p}");
        assert!(p["acquisitions"].as_u64().unwrap() >= 50, "{p}");
    }
    let thresholds: BTreeMap<String, f64> = bundle["products"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let name = m["product"].as_str().unwrap().to_string();
            (name, m["model"]["threshold"].as_f64().unwrap())
        })
        .collect();

    // The next month, with an action for clients whose next product is an annuity.
    // (A config of actions only keeps the default data contract.)
    write(
        t.path(),
        "actions.toml",
        "[[actions]]\nproduct = \"annuity\"\naction = \"annuity offer\"\n[[actions]]\naction = \"standard service\"\n",
    );
    let next = format!("{data}/next-month");
    let r = infer(
        &[
            "--model",
            "models/latest",
            "--data",
            &next,
            "--extract-date",
            "2026-11-30",
            "--out",
            "run",
            "--config",
            "actions.toml",
        ],
        t.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let labels = read_csv(&t.path().join("run/labels.csv"));
    let offered: Vec<_> = labels
        .iter()
        .filter(|l| !l["next_product"].is_empty())
        .collect();
    assert!(offered.len() > 500, "{} offered", offered.len());
    for l in &offered {
        // A prospect's first policy comes from its needs (docs/domain.md), unscored.
        if l["stage_code"] == "prospect" {
            assert!(l["lapse_probability"].is_empty(), "{l:?}");
            continue;
        }
        // Otherwise only scored clients, each above its product's threshold.
        assert!(!l["lapse_probability"].is_empty());
        let p: f64 = l["next_product_propensity"].parse().unwrap();
        assert!(p >= thresholds[&l["next_product"]], "{l:?}");
        let annuity = l["next_product"] == "annuity";
        assert_eq!(l["action"] == "annuity offer", annuity, "{l:?}");
    }
    assert!(labels
        .iter()
        .filter(|l| l["lapse_probability"].is_empty() && l["stage_code"] != "prospect")
        .all(|l| l["next_product"].is_empty()));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("run/summary.json")).unwrap())
            .unwrap();
    let counted: u64 = summary["products"]["next_product_clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, offered.len());
    assert!(t.path().join("run/charts/products.png").is_file());
    let report = std::fs::read_to_string(t.path().join("run/report.html")).unwrap();
    assert!(report.contains("Next-best product"));
}
