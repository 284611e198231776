//! Marketing effect end to end: holdout flags in the labels (the same in one piece and in
//! parts, never changing the action), the readout next month (equal in one piece and in
//! parts, counts equal to a join of the two months' labels), a previous run without
//! holdouts, bad settings, and the readout against the generator's known treatment
//! effects on a 200,000-client book.

mod common;
use common::*;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

fn label(t: &Path, data: &str, extract: &str, out: &str, extra: &[&str]) {
    let r = infer_month(t, data, extract, out, extra);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn summary(t: &Path, run: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(t.join(run).join("summary.json")).unwrap()).unwrap()
}

/// client id -> (action, holdout) of a run's labels.csv.
fn flags(t: &Path, run: &str) -> BTreeMap<String, (String, String)> {
    read_csv(&t.join(run).join("labels.csv"))
        .into_iter()
        .map(|r| {
            (
                r["client_id"].clone(),
                (r["action"].clone(), r["holdout"].clone()),
            )
        })
        .collect()
}

#[test]
fn holdouts_and_their_readout_are_the_same_in_one_piece_and_in_parts() {
    let t = tempfile::tempdir().unwrap();
    train_on_sample(t.path());
    let sample = sample_dir();
    let next = format!("{sample}/next-month");
    label(t.path(), &sample, "2026-09-30", "september", &[]);
    label(
        t.path(),
        &sample,
        "2026-09-30",
        "september3",
        &["--partitions", "3"],
    );
    let (one, parts) = (flags(t.path(), "september"), flags(t.path(), "september3"));
    assert_eq!(one, parts);
    // About a tenth of each action's clients held out; none of the catch-all's.
    let mut by_action: BTreeMap<&str, [usize; 2]> = BTreeMap::new();
    for (action, holdout) in one.values() {
        let e = by_action.entry(action).or_default();
        e[0] += 1;
        e[1] += usize::from(holdout == "true");
    }
    assert_eq!(by_action["standard service"][1], 0);
    let (n, held) = by_action
        .iter()
        .filter(|(a, _)| **a != "standard service")
        .fold((0, 0), |(n, h), (_, c)| (n + c[0], h + c[1]));
    let share = held as f64 / n as f64;
    assert!((share - 0.10).abs() < 0.015, "{share} of {n}");
    let sizes = &summary(t.path(), "september")["holdouts"];
    let listed: BTreeMap<String, u64> = sizes
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().to_string(),
                s["held_out"].as_u64().unwrap(),
            )
        })
        .collect();
    for (action, c) in &by_action {
        assert_eq!(listed[*action], c[1] as u64, "{action}");
    }

    // Holdouts never change the action: a run drawing 30% holds out more, same actions.
    let config = write(t.path(), "more.toml", "[effect]\nholdout_share = 0.3\n");
    label(
        t.path(),
        &sample,
        "2026-09-30",
        "september30",
        &["--config", config.to_str().unwrap()],
    );
    let more = flags(t.path(), "september30");
    assert_eq!(more.len(), one.len());
    let mut extra = 0;
    for (id, (action, holdout)) in &one {
        assert_eq!(&more[id].0, action, "{id}");
        // The same draw: a client held out at 10% is held out at 30%.
        if holdout == "true" {
            assert_eq!(more[id].1, "true", "{id}");
        }
        extra += usize::from(more[id].1 == "true" && holdout != "true");
    }
    assert!(extra > held, "{extra} vs {held}");

    // The readout next month, in one piece and in 3 parts.
    label(
        t.path(),
        &next,
        "2026-10-31",
        "october",
        &["--previous-run", "september"],
    );
    label(
        t.path(),
        &next,
        "2026-10-31",
        "october3",
        &["--previous-run", "september", "--partitions", "3"],
    );
    let csv = |run: &str| std::fs::read_to_string(t.path().join(run).join("effect.csv")).unwrap();
    assert_eq!(csv("october"), csv("october3"));
    assert_eq!(
        summary(t.path(), "october")["effect"],
        summary(t.path(), "october3")["effect"]
    );
    // Every client of September still in October's book counts once, in its arm.
    let october: std::collections::BTreeSet<String> =
        flags(t.path(), "october").into_keys().collect();
    let mut joined: BTreeMap<(String, bool), u64> = BTreeMap::new();
    for (id, (action, holdout)) in &one {
        if october.contains(id) {
            *joined
                .entry((action.clone(), holdout == "true"))
                .or_default() += 1;
        }
    }
    let rows = read_csv(&t.path().join("october/effect.csv"));
    let mut totals = 0;
    for r in rows
        .iter()
        .filter(|r| r["level"] == "action" && r["outcome"] == "new_policy")
    {
        let action = r["action"].clone();
        let get = |h: bool| joined.get(&(action.clone(), h)).copied().unwrap_or(0);
        assert_eq!(r["treated"].parse::<u64>().unwrap(), get(false), "{r:?}");
        assert_eq!(r["holdout"].parse::<u64>().unwrap(), get(true), "{r:?}");
        totals += 1;
    }
    assert_eq!(totals, by_action.len());
    let effect = &summary(t.path(), "october")["effect"];
    assert_eq!(effect["identified"], true);
    let report = std::fs::read_to_string(t.path().join("october/report.html")).unwrap();
    assert!(report.contains("id=\"effect\""));
    assert!(t.path().join("october/charts/effect.svg").is_file());
    assert!(!report.contains("C0000001"), "a client id in the report");

    // September's labels without the holdout column: not identified, said plainly.
    let old = t.path().join("old");
    std::fs::create_dir(&old).unwrap();
    std::fs::copy(
        t.path().join("september/summary.json"),
        old.join("summary.json"),
    )
    .unwrap();
    let text = std::fs::read_to_string(t.path().join("september/labels.csv")).unwrap();
    let holdout = split_csv(text.lines().next().unwrap())
        .iter()
        .position(|h| h == "holdout")
        .unwrap();
    let stripped: String = text
        .lines()
        .map(|l| {
            let mut fields = split_csv(l);
            fields.remove(holdout);
            let kept: Vec<String> = fields
                .iter()
                .map(|f| {
                    if f.contains([',', '"']) {
                        format!("\"{}\"", f.replace('"', "\"\""))
                    } else {
                        f.clone()
                    }
                })
                .collect();
            kept.join(",") + "\n"
        })
        .collect();
    std::fs::write(old.join("labels.csv"), stripped).unwrap();
    label(
        t.path(),
        &next,
        "2026-10-31",
        "october-old",
        &["--previous-run", "old"],
    );
    let effect = &summary(t.path(), "october-old")["effect"];
    assert_eq!(effect["identified"], false);
    let notes = effect["notes"].to_string();
    assert!(
        notes.contains("no randomised holdout; effect not identified"),
        "{notes}"
    );
    let report = std::fs::read_to_string(t.path().join("october-old/report.html")).unwrap();
    assert!(report.contains("effect not identified"));
}

#[test]
fn bad_effect_settings_and_holdout_flags_exit_2_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[effect]\nholdout_share = 1.5\n", "[effect] holdout_share"),
        ("[effect]\nholdout_share = 1\n", "[effect] holdout_share"),
        (
            "[effect]\nuniversal_control = -0.1\n",
            "[effect] universal_control",
        ),
        (
            "[effect.actions.vip_retention_call]\ncontact_cost = -5\n",
            "[effect] actions.vip_retention_call.contact_cost",
        ),
        (
            "[effect.actions.payment_reminder]\nholdout_share = 2\n",
            "[effect] actions.payment_reminder.holdout_share",
        ),
    ] {
        let config = write(dir.path(), "bad.toml", text);
        let r = train(
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
        assert_bad_input(&r, &["bad.toml", key]);
    }
    // Last month's labels with a holdout cell that is not true or false.
    train_on_sample(dir.path());
    let prev = dir.path().join("prev");
    write(
        &prev,
        "labels.csv",
        "client_id,segment_id,lapse_probability,risk_band,action,holdout\n\
         C0000001,1,0.1,low,standard service,false\nC0000002,1,0.1,low,standard service,maybe\n",
    );
    let next = format!("{}/next-month", sample_dir());
    let r = infer_month(
        dir.path(),
        &next,
        "2026-10-31",
        "run",
        &["--previous-run", "prev"],
    );
    assert_bad_input(&r, &["labels.csv", "row 2", "holdout \"maybe\""]);
}

/// Label a 200,000-client book in September, apply known effects to October's outcomes
/// of the treated (a call halving lapses in every segment, an offer that raises lapses
/// by 30 points in one segment), label October with September as the previous run: the
/// readout's 95% intervals cover the true effect of at least 90% of cells, and the
/// harmful cell is flagged.
#[test]
fn the_readout_recovers_the_generators_treatment_effects() {
    use clientele_synth::{apply_treatment, Assignment, OutputFormat, TrueEffect, WriteOptions};
    let t = tempfile::tempdir().unwrap();
    train_on_sample(t.path());
    let (sept, oct) = (
        clientele::Date::parse("2026-09-30").unwrap(),
        clientele::Date::parse("2026-10-31").unwrap(),
    );
    let mut book = clientele_synth::generate(&clientele_synth::BookParams {
        clients: 200_000,
        seed: 31,
        end: sept,
        extra_months: 1,
        history_years: 3,
        income_factor: 1.0,
        lapse_shift: 0.0,
        nonlinear_lapse: false,
        interaction_lapse: false,
    });
    let write = |book: &clientele_synth::SynthBook, dir: &str, view| {
        let opts = WriteOptions {
            view,
            format: OutputFormat::Parquet,
            dirt: false,
        };
        clientele_synth::write_book(book, &t.path().join(dir), &opts).unwrap();
    };
    write(&book, "book-sept", sept);
    label(t.path(), "book-sept", "2026-09-30", "september", &[]);
    let rows = read_csv(&t.path().join("september/labels.csv"));
    let labels: Vec<Assignment> = rows
        .iter()
        .map(|r| Assignment {
            client_id: r["client_id"].clone(),
            action: r["action"].clone(),
            segment: r["segment_id"].clone(),
            holdout: r["holdout"] == "true",
        })
        .collect();
    // The two retention actions given most, and the segment most of the second is in.
    let mut given: HashMap<(String, String), usize> = HashMap::new();
    for a in &labels {
        *given
            .entry((a.action.clone(), a.segment.clone()))
            .or_default() += 1;
    }
    let mut actions: HashMap<String, usize> = HashMap::new();
    for ((action, _), n) in &given {
        *actions.entry(action.clone()).or_default() += n;
    }
    let mut ranked: Vec<(String, usize)> = actions
        .into_iter()
        .filter(|(a, _)| {
            ![
                "standard service",
                "cross-sell",
                "first-policy offer",
                "reinstatement offer",
                "win-back offer",
                "maturity reinvestment offer",
                "no contact (deceased)",
            ]
            .contains(&a.as_str())
        })
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let (helpful, harmful) = (ranked[0].0.clone(), ranked[1].0.clone());
    let harmed_segment = given
        .iter()
        .filter(|((a, _), _)| *a == harmful)
        .max_by(|a, b| a.1.cmp(b.1).then(b.0 .1.cmp(&a.0 .1)))
        .map(|((_, s), _)| s.clone())
        .unwrap();
    let mut effects: Vec<TrueEffect> = given
        .keys()
        .filter(|(a, _)| *a == helpful)
        .map(|(a, s)| TrueEffect {
            action: a.clone(),
            segment: s.clone(),
            change: -0.5,
        })
        .collect();
    effects.push(TrueEffect {
        action: harmful.clone(),
        segment: harmed_segment.clone(),
        change: 0.3,
    });
    let potential = apply_treatment(&mut book, &labels, &effects, (sept, oct), 7);
    write(&book, "book-oct", oct);
    label(
        t.path(),
        "book-oct",
        "2026-10-31",
        "october",
        &["--previous-run", "september"],
    );

    // The true effect of each cell: mean of (treated - untreated) over its clients in
    // force last month.
    let cell_of: HashMap<&str, (&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["client_id"].as_str(),
                (
                    r["action"].as_str(),
                    r["segment_id"].as_str(),
                    r["value_tier"].as_str(),
                ),
            )
        })
        .collect();
    let mut truth: HashMap<(String, String, String), (f64, usize)> = HashMap::new();
    for p in potential.iter().filter(|p| p.in_force_at_start) {
        let (a, s, tier) = cell_of[p.client_id.as_str()];
        let diff = f64::from(u8::from(p.treated)) - f64::from(u8::from(p.untreated));
        for key in [
            (a.to_string(), s.to_string(), tier.to_string()),
            (a.to_string(), s.to_string(), "all".to_string()),
        ] {
            let e = truth.entry(key).or_default();
            e.0 += diff;
            e.1 += 1;
        }
    }
    let effect = read_csv(&t.path().join("october/effect.csv"));
    // Every cell and segment row with both arms (small ones too), a segment of one tier
    // counted once.
    let lapse: Vec<_> = effect
        .iter()
        .filter(|r| r["outcome"] == "lapse" && r["level"] != "action")
        .filter(|r| r["treated"] != "0" && r["holdout"] != "0")
        .collect();
    let mut seen = std::collections::HashSet::new();
    let (mut covered, mut cells) = (0, 0);
    for r in &lapse {
        if !seen.insert((
            r["action"].clone(),
            r["segment"].clone(),
            r["treated"].clone(),
            r["holdout"].clone(),
            r["uplift"].clone(),
        )) {
            continue;
        }
        let key = (r["action"].clone(), r["segment"].clone(), r["tier"].clone());
        let (sum, n) = truth[&key];
        let true_effect = sum / n as f64;
        let (low, high) = (
            r["ci_low"].parse::<f64>().unwrap(),
            r["ci_high"].parse::<f64>().unwrap(),
        );
        cells += 1;
        covered += usize::from(low <= true_effect && true_effect <= high);
    }
    eprintln!("the readout's intervals cover the true effect in {covered} of {cells} cells");
    assert!(cells >= 20, "{cells} cells");
    assert!(
        covered as f64 >= 0.9 * cells as f64,
        "{covered} of {cells} cells covered"
    );
    let harmed = lapse
        .iter()
        .find(|r| r["action"] == harmful && r["segment"] == harmed_segment && r["tier"] == "all")
        .unwrap();
    eprintln!("harmful cell: {harmed:?}");
    assert_eq!(harmed["verdict"], "harms", "{harmed:?}");
    let helped = effect
        .iter()
        .find(|r| r["action"] == helpful && r["level"] == "action" && r["outcome"] == "lapse")
        .unwrap();
    assert_eq!(helped["verdict"], "helps", "{helped:?}");
}

/// Three months of a generated book: October reads out September's holdouts, November
/// October's; November's run adds both readouts up (its `effect-history.json`), the same
/// in one piece and in parts, with intervals narrower than one month's.
#[test]
fn readouts_accumulate_over_months() {
    use clientele_synth::{OutputFormat, WriteOptions};
    let t = tempfile::tempdir().unwrap();
    train_on_sample(t.path());
    let end = clientele::Date::parse("2026-09-30").unwrap();
    let book = clientele_synth::generate(&clientele_synth::BookParams {
        clients: 30_000,
        seed: 5,
        end,
        extra_months: 2,
        history_years: 3,
        income_factor: 1.0,
        lapse_shift: 0.0,
        nonlinear_lapse: false,
        interaction_lapse: false,
    });
    for (months, dir) in [(0, "m0"), (1, "m1"), (2, "m2")] {
        let opts = WriteOptions {
            view: end.month_end_offset(months),
            format: OutputFormat::Parquet,
            dirt: false,
        };
        clientele_synth::write_book(&book, &t.path().join(dir), &opts).unwrap();
    }
    label(t.path(), "m0", "2026-09-30", "sep", &[]);
    label(
        t.path(),
        "m1",
        "2026-10-31",
        "oct",
        &["--previous-run", "sep"],
    );
    label(
        t.path(),
        "m2",
        "2026-11-30",
        "nov",
        &["--previous-run", "oct"],
    );
    label(
        t.path(),
        "m2",
        "2026-11-30",
        "nov2",
        &["--previous-run", "oct", "--partitions", "2"],
    );
    let history = |run: &str| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(t.path().join(run).join("effect-history.json")).unwrap(),
        )
        .unwrap()
    };
    assert_eq!(history("oct")["months"], serde_json::json!(["2026-10-31"]));
    assert!(summary(t.path(), "oct").get("effect_history").is_none());
    assert_eq!(
        history("nov")["months"],
        serde_json::json!(["2026-10-31", "2026-11-30"])
    );
    assert_eq!(history("nov"), history("nov2"));
    let (oct, nov) = (summary(t.path(), "oct"), summary(t.path(), "nov"));
    assert_eq!(
        nov["effect_history"],
        summary(t.path(), "nov2")["effect_history"]
    );
    let total =
        |s: &serde_json::Value, key: &str, outcome: &str| -> BTreeMap<String, serde_json::Value> {
            s[key]["rows"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["level"] == "action" && r["outcome"] == outcome)
                .map(|r| (r["action"].as_str().unwrap().to_string(), r.clone()))
                .collect()
        };
    let (one, two, all) = (
        total(&oct, "effect", "new_policy"),
        total(&nov, "effect", "new_policy"),
        total(&nov, "effect_history", "new_policy"),
    );
    let n = |m: &BTreeMap<String, serde_json::Value>, a: &str, arm: &str| {
        m.get(a).map_or(0, |r| r[arm].as_u64().unwrap())
    };
    for action in all.keys() {
        for arm in ["treated", "holdout"] {
            assert_eq!(
                n(&all, action, arm),
                n(&one, action, arm) + n(&two, action, arm),
                "{action} {arm}"
            );
        }
    }
    // The largest action's lapse interval narrows with two months' clients.
    let lapse = total(&nov, "effect_history", "lapse");
    let (action, _) = lapse
        .iter()
        .filter(|(_, r)| r["holdout"].as_u64().unwrap() > 0)
        .max_by_key(|(_, r)| r["treated"].as_u64().unwrap())
        .unwrap();
    let width =
        |r: &serde_json::Value| r["ci_high"].as_f64().unwrap() - r["ci_low"].as_f64().unwrap();
    let month = total(&oct, "effect", "lapse");
    assert!(width(&lapse[action]) < width(&month[action]), "{action}");
    let report = std::fs::read_to_string(t.path().join("nov/report.html")).unwrap();
    assert!(report.contains("Every readout so far"));
}
