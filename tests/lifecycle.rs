//! Lifecycle outputs of a labeling run, checked against an independent recount from the
//! source files: persistency by issue cohort, the same in one piece and in parts.

mod common;
use common::*;
use std::path::Path;

fn date(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.trim();
    (b.len() == 10).then(|| {
        (
            b[0..4].parse().unwrap(),
            b[5..7].parse().unwrap(),
            b[8..10].parse().unwrap(),
        )
    })
}

/// Days since 0000-03-01 (a plain civil-day count, independent of the crate's).
fn days((y, m, d): (i32, u32, u32)) -> i64 {
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let y = i64::from(y);
    365 * y + y / 4 - y / 100 + y / 400 + (153 * (i64::from(m) - 3) + 2) / 5 + i64::from(d)
}

fn plus_months((y, m, d): (i32, u32, u32), n: u32) -> (i32, u32, u32) {
    let total = y * 12 + (m as i32 - 1) + n as i32;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let last = match m {
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    };
    (y, m, d.min(last))
}

/// (denominator, persisting) of month `k` over every cohort, by count, recounted from
/// policies.csv with the documented rules (grace 30 days, free look 15 days).
/// Rows the run quarantined (its quarantine.csv) and exact duplicates after the first
/// are not policies of the book.
fn recount(policies: &Path, quarantine: &Path, as_of: (i32, u32, u32), k: u32) -> (usize, usize) {
    let skipped: std::collections::BTreeSet<usize> = read_csv(quarantine)
        .iter()
        .filter(|q| q["source"] == "policies")
        .map(|q| q["row"].parse().unwrap())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let rows = read_csv(policies);
    let (mut n, mut kept) = (0, 0);
    for (i, r) in rows.into_iter().enumerate() {
        if skipped.contains(&(i + 1)) || !seen.insert(format!("{r:?}")) {
            continue;
        }
        let word = |f: &str| {
            r.get(f)
                .map(|s| s.trim().to_lowercase().replace([' ', '-'], "_"))
        };
        if word("payment_frequency").as_deref() == Some("single") {
            continue;
        }
        let Some(start) = date(&r["start_date"]) else {
            continue;
        };
        let end = r.get("end_date").and_then(|e| date(e)).map(days);
        let at = days(plus_months(start, k - 1)) + 30;
        if at > days(as_of) {
            continue;
        }
        let natural = matches!(
            r.get("end_reason")
                .map(|s| s.trim().to_lowercase())
                .as_deref(),
            Some("death_claim" | "maturity")
        );
        match end {
            Some(e) if e <= days(start) + 15 => continue,
            Some(e) if e <= at && natural => continue,
            Some(e) if e <= at => n += 1,
            _ => {
                n += 1;
                kept += 1;
            }
        }
    }
    (n, kept)
}

#[test]
fn persistency_equals_an_independent_recount_in_one_piece_and_in_parts() {
    let t = tempfile::tempdir().unwrap();
    train_on_sample(t.path());
    // The sample's own month: its policies are CSV, read below by plain parsing.
    let next = sample_dir();
    for (out, extra) in [("one", &[][..]), ("parts", &["--partitions", "3"][..])] {
        let mut args = vec![
            "--model",
            "models/latest",
            "--data",
            &next,
            "--extract-date",
            "2026-10-31",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        let r = infer(&args, t.path());
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let one = std::fs::read_to_string(t.path().join("one/persistency.csv")).unwrap();
    let parts = std::fs::read_to_string(t.path().join("parts/persistency.csv")).unwrap();
    assert_eq!(one, parts, "persistency depends on the number of parts");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.path().join("one/summary.json")).unwrap()).unwrap();
    let as_of = date(summary["as_of"].as_str().unwrap()).unwrap();
    let rows = read_csv(&t.path().join("one/persistency.csv"));
    for k in [13u32, 25] {
        let total = rows
            .iter()
            .find(|r| {
                r["cohort"] == "all"
                    && ["channel", "product", "payment_frequency", "segment"]
                        .iter()
                        .all(|g| r[*g] == "all")
                    && r["month"] == k.to_string()
                    && r["basis"] == "count"
            })
            .unwrap();
        let (n, kept) = recount(
            &Path::new(&next).join("policies.csv"),
            &t.path().join("one/quarantine.csv"),
            as_of,
            k,
        );
        assert!(n > 100, "month {k}: only {n} policies");
        assert_eq!(total["denominator"], n.to_string(), "month {k}");
        assert_eq!(total["persisting"], kept.to_string(), "month {k}");
    }
    let report = std::fs::read_to_string(t.path().join("one/report.html")).unwrap();
    assert!(report.contains("id=\"persistency\""));

    // Premium at risk: segments and tiers each add up to the total, at risk below in
    // force, and the same in parts (sums of floats: to rounding).
    let lines = |s: &serde_json::Value, by: &str| -> Vec<(f64, f64)> {
        s["premium_at_risk"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["by"] == by)
            .map(|p| {
                (
                    p["premium_in_force"].as_f64().unwrap(),
                    p["premium_at_risk"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let total = lines(&summary, "all")[0];
    assert!(
        total.0 > 0.0 && total.1 > 0.0 && total.1 < total.0,
        "{total:?}"
    );
    for by in ["segment", "tier"] {
        let sum = lines(&summary, by)
            .iter()
            .fold((0.0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1));
        assert!(
            (sum.0 - total.0).abs() < 1e-6 * total.0,
            "{by}: {sum:?} vs {total:?}"
        );
        assert!(
            (sum.1 - total.1).abs() < 1e-6 * total.1,
            "{by}: {sum:?} vs {total:?}"
        );
    }
    let parted: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.path().join("parts/summary.json")).unwrap())
            .unwrap();
    let other = lines(&parted, "all")[0];
    assert!(
        (other.0 - total.0).abs() < 1e-9 * total.0 && (other.1 - total.1).abs() < 1e-9 * total.1
    );
    assert!(report.contains("id=\"premium\""));
}

#[test]
fn stage_and_tier_moves_equal_a_join_of_the_two_months_labels() {
    let t = tempfile::tempdir().unwrap();
    train_on_sample(t.path());
    let sample = sample_dir();
    let next = format!("{sample}/next-month");
    let label = |data: &str, extract: &str, out: &str, extra: &[&str]| {
        let r = infer_month(t.path(), data, extract, out, extra);
        assert_eq!(r.code, 0, "{}", r.stderr);
    };
    label(&sample, "2026-09-30", "september", &[]);
    label(
        &next,
        "2026-10-31",
        "october",
        &["--previous-run", "september"],
    );
    label(
        &next,
        "2026-10-31",
        "october3",
        &["--previous-run", "september", "--partitions", "3"],
    );
    let by_id = |dir: &str| -> std::collections::BTreeMap<String, (String, String)> {
        read_csv(&t.path().join(dir).join("labels.csv"))
            .into_iter()
            .map(|r| {
                (
                    r["client_id"].clone(),
                    (r["stage_code"].clone(), r["tier_code"].clone()),
                )
            })
            .collect()
    };
    let (before, after) = (by_id("september"), by_id("october"));
    let mut stages = std::collections::BTreeMap::<(String, String), u64>::new();
    let mut tiers = std::collections::BTreeMap::<(String, String), u64>::new();
    for (id, (stage, tier)) in &after {
        if let Some((s0, t0)) = before.get(id) {
            *stages.entry((s0.clone(), stage.clone())).or_default() += 1;
            *tiers.entry((t0.clone(), tier.clone())).or_default() += 1;
        }
    }
    let summary = |dir: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(t.path().join(dir).join("summary.json")).unwrap())
            .unwrap()
    };
    let flows = |v: &serde_json::Value| -> std::collections::BTreeMap<(String, String), u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    (
                        f[0].as_str().unwrap().to_string(),
                        f[1].as_str().unwrap().to_string(),
                    ),
                    f[2].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let one = summary("october");
    assert_eq!(flows(&one["stage_migration"]), stages);
    assert_eq!(flows(&one["tier_migration"]), tiers);
    assert!(stages.len() > 5, "{stages:?}");
    let parts = summary("october3");
    assert_eq!(parts["stage_migration"], one["stage_migration"]);
    assert_eq!(parts["tier_migration"], one["tier_migration"]);
    let report = std::fs::read_to_string(t.path().join("october/report.html")).unwrap();
    assert!(report.contains("id=\"migration\""));
}
