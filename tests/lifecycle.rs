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

fn plus_months((y, m, d): (i32, u32, u32), n: i32) -> (i32, u32, u32) {
    let total = y * 12 + (m as i32 - 1) + n;
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
        let at = days(plus_months(start, k as i32 - 1)) + 30;
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

type Ymd = (i32, u32, u32);

/// The book's policies per client, as (start, end, lost), from policies.csv: rows the
/// run quarantined and exact duplicates after the first left out, as in `recount`.
fn policies_by_client(
    policies: &Path,
    quarantine: &Path,
    as_of: Ymd,
) -> std::collections::BTreeMap<String, Vec<(Ymd, Option<Ymd>, bool)>> {
    let skipped: std::collections::BTreeSet<usize> = read_csv(quarantine)
        .iter()
        .filter(|q| q["source"] == "policies")
        .map(|q| q["row"].parse().unwrap())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut out: std::collections::BTreeMap<String, Vec<_>> = Default::default();
    for (i, r) in read_csv(policies).into_iter().enumerate() {
        if skipped.contains(&(i + 1)) || !seen.insert(format!("{r:?}")) {
            continue;
        }
        let Some(start) = date(&r["start_date"]).filter(|&s| days(s) <= days(as_of)) else {
            continue;
        };
        let end = date(&r["end_date"]).filter(|&e| days(e) <= days(as_of));
        let reason = r["end_reason"].trim().to_lowercase();
        let lost =
            end.is_some() && matches!(reason.as_str(), "lapse" | "surrender" | "non_renewal");
        out.entry(r["client_id"].trim().to_string())
            .or_default()
            .push((start, end, lost));
    }
    out
}

/// ((losses of cover, won back), (first policies, second bought)) within 12 months, for
/// events in the 3 years before as_of less 12 months: the documented defaults.
fn recount_repeat(policies: &Path, quarantine: &Path, as_of: Ymd) -> ((u64, u64), (u64, u64)) {
    let until = days(plus_months(as_of, -12));
    let from = days(plus_months(as_of, -48));
    let in_window = |d: Ymd| days(d) > from && days(d) <= until;
    let (mut win, mut second) = ((0, 0), (0, 0));
    for held in policies_by_client(policies, quarantine, as_of).values() {
        let bought_within = |event: Ymd| {
            let end = days(plus_months(event, 12));
            held.iter()
                .any(|h| days(h.0) > days(event) && days(h.0) <= end)
        };
        let first = held.iter().map(|h| h.0).min_by_key(|&d| days(d)).unwrap();
        if in_window(first) {
            second.0 += 1;
            second.1 += u64::from(bought_within(first));
        }
        let mut losses: Vec<Ymd> = held
            .iter()
            .filter(|h| h.2)
            .filter_map(|h| h.1)
            .filter(|&e| {
                !held
                    .iter()
                    .any(|q| days(q.0) <= days(e) && q.1.is_none_or(|qe| days(qe) > days(e)))
            })
            .collect();
        losses.sort_unstable();
        losses.dedup();
        for lost in losses.into_iter().filter(|&d| in_window(d)) {
            win.0 += 1;
            win.1 += u64::from(bought_within(lost));
        }
    }
    (win, second)
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

    // Win-back and second purchase: a recount, and the same in parts.
    let ((lost, won), (first, second)) = recount_repeat(
        &Path::new(&next).join("policies.csv"),
        &t.path().join("one/quarantine.csv"),
        as_of,
    );
    let repeat = &summary["repeat"];
    eprintln!("win-back {won} of {lost}; second policy {second} of {first}");
    assert!(lost > 100 && won > 10 && first > 500 && second > 10);
    assert_eq!(repeat["months"], 12);
    assert_eq!(repeat["win_back"]["eligible"], lost);
    assert_eq!(repeat["win_back"]["bought"], won);
    assert_eq!(repeat["second_purchase"]["eligible"], first);
    assert_eq!(repeat["second_purchase"]["bought"], second);
    assert!(report.contains("won back after losing cover"));

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
    assert_eq!(parted["repeat"], summary["repeat"]);
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
    let mut tiers = std::collections::BTreeMap::<(String, String), u64>::new();
    for (id, (_, tier)) in &after {
        if let Some((_, t0)) = before.get(id) {
            *tiers.entry((t0.clone(), tier.clone())).or_default() += 1;
        }
    }
    // Stages: an exit state where cover ended since September, from the policies.
    let stages = expected_stage_moves(t.path(), &next, &before, &after);
    let exits: u64 = stages
        .iter()
        .filter(|((_, to), _)| to.starts_with("exit_"))
        .map(|(_, n)| n)
        .sum();
    assert!(exits > 10, "{stages:?}");
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
    assert!(report.contains("surrendered") && report.contains("id=\"chart-stage_migration\""));
    assert!(t.path().join("october/charts/stage_migration.svg").exists());

    // Clients of last month missing from this month's book: "not in the book", counted
    // once whatever the parts. Last month's labels as CSV with three clients more.
    let more = t.path().join("september-more");
    std::fs::create_dir_all(&more).unwrap();
    std::fs::copy(
        t.path().join("september/summary.json"),
        more.join("summary.json"),
    )
    .unwrap();
    let mut csv = std::fs::read_to_string(t.path().join("september/labels.csv")).unwrap();
    let header: Vec<String> = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .map(String::from)
        .collect();
    let template: Vec<String> = read_csv(&t.path().join("september/labels.csv"))
        .into_iter()
        .find(|r| r["stage_code"] == "loyal")
        .map(|r| header.iter().map(|h| r[h].clone()).collect())
        .unwrap();
    for i in 0..3 {
        let mut row = template.clone();
        row[header.iter().position(|h| h == "client_id").unwrap()] = format!("GONE{i}");
        let quoted: Vec<String> = row
            .iter()
            .map(|v| format!("\"{}\"", v.replace('"', "\"\"")))
            .collect();
        csv.push_str(&quoted.join(","));
        csv.push('\n');
    }
    std::fs::write(more.join("labels.csv"), csv).unwrap();
    for (out, parts) in [("gone1", "1"), ("gone3", "3")] {
        label(
            &next,
            "2026-10-31",
            out,
            &["--previous-run", "september-more", "--partitions", parts],
        );
    }
    let mut with_gone = stages.clone();
    *with_gone
        .entry(("loyal".to_string(), "not_in_book".to_string()))
        .or_default() += 3;
    assert_eq!(flows(&summary("gone1")["stage_migration"]), with_gone);
    assert_eq!(
        summary("gone3")["stage_migration"],
        summary("gone1")["stage_migration"]
    );

    // Last month's labels of a release without stage and tier codes: the moves are
    // skipped with a note, the run goes on.
    let old = t.path().join("september-old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::copy(
        t.path().join("september/summary.json"),
        old.join("summary.json"),
    )
    .unwrap();
    let text = std::fs::read_to_string(t.path().join("september/labels.csv")).unwrap();
    let mut lines = text.lines().map(split_csv);
    let head = lines.next().unwrap();
    let keep: Vec<usize> = (0..head.len())
        .filter(|&i| !matches!(head[i].as_str(), "stage_code" | "tier_code"))
        .collect();
    let quote = |cells: &[String]| -> String {
        let cells: Vec<String> = keep
            .iter()
            .map(|&i| format!("\"{}\"", cells[i].replace('"', "\"\"")))
            .collect();
        cells.join(",") + "\n"
    };
    let mut csv = quote(&head);
    for cells in lines {
        csv.push_str(&quote(&cells));
    }
    std::fs::write(old.join("labels.csv"), csv).unwrap();
    label(
        &next,
        "2026-10-31",
        "since-old",
        &["--previous-run", "september-old"],
    );
    let s = summary("since-old");
    assert!(
        s.get("stage_migration").is_none(),
        "{}",
        s["stage_migration"]
    );
    let notes = s["outcomes"]["notes"].to_string();
    assert!(notes.contains("no stage moves"), "{notes}");
    assert!(!s["migration"].as_array().unwrap().is_empty());
}

/// How cover ended between two dates, on a hand-built book with one client per case.
#[test]
fn exit_states_follow_how_the_last_policy_ended_since_the_previous_run() {
    use clientele::config::Config;
    use clientele::ingest::{load_from, Frames, Input, LoadOptions};
    use clientele::lifecycle::ExitState;
    use clientele::schema::Source;
    use clientele::Date;
    use polars::prelude::*;
    let d = |s: &str| Date::parse(s).unwrap();
    // (client, start, end, end reason)
    let rows = [
        (
            "surrendered",
            "2020-01-01",
            Some("2026-10-15"),
            Some("surrender"),
        ),
        (
            "died",
            "2019-05-01",
            Some("2026-10-20"),
            Some("death_claim"),
        ),
        (
            "matured",
            "2006-10-31",
            Some("2026-10-31"),
            Some("maturity"),
        ),
        ("lapsed", "2024-02-01", Some("2026-10-05"), Some("lapse")),
        (
            "not_renewed",
            "2021-02-01",
            Some("2026-10-05"),
            Some("non_renewal"),
        ),
        (
            "lapse_and_death",
            "2018-01-01",
            Some("2026-10-10"),
            Some("lapse"),
        ),
        (
            "lapse_and_death",
            "2018-03-01",
            Some("2026-10-10"),
            Some("death_claim"),
        ),
        (
            "still_covered",
            "2018-01-01",
            Some("2026-10-10"),
            Some("surrender"),
        ),
        ("still_covered", "2022-01-01", None, None),
        (
            "ended_before",
            "2015-01-01",
            Some("2026-08-01"),
            Some("lapse"),
        ),
        (
            "other_reason",
            "2015-01-01",
            Some("2026-10-12"),
            Some("other"),
        ),
        (
            "bought_again",
            "2015-01-01",
            Some("2026-10-05"),
            Some("lapse"),
        ),
        ("bought_again", "2026-10-20", None, None),
    ];
    let ids: Vec<&str> = {
        let mut v: Vec<&str> = rows.iter().map(|r| r.0).collect();
        v.dedup();
        v
    };
    let clients = df!(
        "client_id" => ids.clone(),
        "age" => vec![50.0; ids.len()],
        "annual_income" => vec![50_000.0; ids.len()],
    )
    .unwrap();
    let policies = df!(
        "policy_id" => (0..rows.len()).map(|i| format!("P{i}")).collect::<Vec<_>>(),
        "client_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "product" => vec!["whole_life"; rows.len()],
        "start_date" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "end_date" => rows.iter().map(|r| r.2).collect::<Vec<Option<&str>>>(),
        "end_reason" => rows.iter().map(|r| r.3).collect::<Vec<Option<&str>>>(),
        "annual_premium" => vec![1000.0; rows.len()],
    )
    .unwrap();
    let frames = Frames::new()
        .with(Source::Clients, clients)
        .with(Source::Policies, policies);
    let config = Config::default();
    let mut opts = LoadOptions::from_config(&config, false);
    opts.extract_date = d("2026-10-31");
    let book = load_from(&config, Input::Frames(&frames), &opts, None)
        .unwrap()
        .book;
    let exits = clientele::lifecycle::exits::cover_ended(&book, d("2026-09-30"), d("2026-10-31"));
    let state = |id: &str| exits[book.client_ids.iter().position(|c| c == id).unwrap()];
    assert_eq!(state("surrendered"), Some(ExitState::Surrendered));
    assert_eq!(state("died"), Some(ExitState::Died));
    assert_eq!(state("matured"), Some(ExitState::Matured));
    assert_eq!(state("lapsed"), Some(ExitState::Lapsed));
    assert_eq!(state("not_renewed"), Some(ExitState::Lapsed));
    assert_eq!(state("lapse_and_death"), Some(ExitState::Died));
    for id in [
        "still_covered",
        "ended_before",
        "other_reason",
        "bought_again",
    ] {
        assert_eq!(state(id), None, "{id}");
    }

    // The same book as competing exits since each client's first policy.
    let policies = clientele::lifecycle::CompactPolicies::of(&book);
    let exits = policies.client_exits(d("2026-10-31"));
    let exit = |id: &str| {
        exits[book.client_ids.iter().position(|c| c == id).unwrap()]
            .clone()
            .unwrap()
    };
    assert_eq!(exit("surrendered").months, 81);
    assert_eq!(exit("surrendered").cause.as_deref(), Some("surrender"));
    assert_eq!(exit("lapse_and_death").cause.as_deref(), Some("death"));
    assert_eq!(exit("other_reason").cause.as_deref(), Some("other"));
    // In force at the date: censored there, from the first policy.
    assert_eq!(exit("still_covered").cause, None);
    assert_eq!(exit("still_covered").months, 105);
    assert_eq!(exit("bought_again").cause, None);
}

/// The stage moves of last month's clients, recounted from the two months' labels and
/// the next month's policies: an exit state where cover ended since, else the new stage.
fn expected_stage_moves(
    t: &Path,
    next: &str,
    before: &std::collections::BTreeMap<String, (String, String)>,
    after: &std::collections::BTreeMap<String, (String, String)>,
) -> std::collections::BTreeMap<(String, String), u64> {
    use polars::prelude::*;
    let file = std::fs::File::open(Path::new(next).join("policies.parquet")).unwrap();
    let p = ParquetReader::new(file).finish().unwrap();
    let text = |name: &str| -> Vec<Option<String>> {
        p.column(name)
            .unwrap()
            .cast(&DataType::String)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    };
    let skipped: std::collections::BTreeSet<usize> = read_csv(&t.join("october/quarantine.csv"))
        .iter()
        .filter(|q| q["source"] == "policies")
        .map(|q| q["row"].parse().unwrap())
        .collect();
    let (ids, starts, ends, reasons) = (
        text("client_id"),
        text("start_date"),
        text("end_date"),
        text("end_reason"),
    );
    let (since, now) = (days((2026, 9, 30)), days((2026, 10, 31)));
    // client -> (in force at since, in force now, last ending (day, rank, state), a
    // death claim since: died whatever ended after it)
    type Held<'a> = (bool, bool, Option<(i64, u8, &'a str)>, bool);
    let mut held: std::collections::BTreeMap<String, Held> = Default::default();
    for i in 0..p.height() {
        let (Some(id), Some(start)) = (&ids[i], starts[i].as_deref().and_then(date)) else {
            continue;
        };
        if skipped.contains(&(i + 1)) {
            continue;
        }
        let start = days(start);
        let end = ends[i].as_deref().and_then(date).map(days);
        let entry = held.entry(id.trim().to_string()).or_default();
        let in_force = |at: i64| start <= at && end.is_none_or(|e| e > at);
        entry.0 |= in_force(since);
        entry.1 |= in_force(now);
        let Some(e) = end.filter(|&e| e > since && e <= now) else {
            continue;
        };
        // The loader's cleaning: case and blanks, and the contract's aliases.
        let reason = reasons[i].as_deref().map(|r| r.trim().to_lowercase());
        let (rank, state) = match reason.as_deref() {
            Some("death_claim" | "death") => (4, "exit_died"),
            Some("maturity" | "matured") => (3, "exit_matured"),
            Some("surrender" | "surrendered") => (2, "exit_surrendered"),
            Some("lapse" | "lapsed" | "non_renewal" | "non-renewal" | "not renewed") => {
                (1, "exit_lapsed")
            }
            _ => (0, ""),
        };
        entry.3 |= rank == 4;
        if entry
            .2
            .is_none_or(|(d, r, _)| e > d || (e == d && rank > r))
        {
            entry.2 = Some((e, rank, state));
        }
    }
    let mut moves = std::collections::BTreeMap::<(String, String), u64>::new();
    for (id, (s0, _)) in before {
        let now = match after.get(id) {
            None => "not_in_book".to_string(),
            Some((stage, _)) => match held.get(id) {
                Some((true, false, _, true)) => "exit_died".to_string(),
                Some((true, false, Some((_, _, state)), _)) if !state.is_empty() => {
                    state.to_string()
                }
                _ => stage.clone(),
            },
        };
        *moves.entry((s0.clone(), now)).or_default() += 1;
    }
    moves
}

/// Aalen-Johansen incidence of each cause at `months`, computed here from (months,
/// cause) pairs (`None`: censored) by the textbook recursion.
fn aalen_johansen(exits: &[(u32, Option<String>)], months: &[u32]) -> Vec<(String, Vec<f64>)> {
    let mut causes: Vec<String> = exits.iter().filter_map(|e| e.1.clone()).collect();
    causes.sort();
    causes.dedup();
    let mut times: Vec<u32> = exits.iter().map(|e| e.0).collect();
    times.sort_unstable();
    times.dedup();
    let (mut s, mut cif) = (1.0, vec![0.0; causes.len()]);
    let mut reads = vec![Vec::new(); causes.len()];
    let mut next = 0;
    for &t in &times {
        while next < months.len() && months[next] < t {
            for (r, c) in reads.iter_mut().zip(&cif) {
                r.push(*c);
            }
            next += 1;
        }
        let at_risk = exits.iter().filter(|e| e.0 >= t).count() as f64;
        let d: Vec<f64> = causes
            .iter()
            .map(|c| {
                exits
                    .iter()
                    .filter(|e| e.0 == t && e.1.as_ref() == Some(c))
                    .count() as f64
            })
            .collect();
        for (c, dc) in cif.iter_mut().zip(&d) {
            *c += s * dc / at_risk;
        }
        s *= 1.0 - d.iter().sum::<f64>() / at_risk;
    }
    while next < months.len() {
        for (r, c) in reads.iter_mut().zip(&cif) {
            r.push(*c);
        }
        next += 1;
    }
    causes.into_iter().zip(reads).collect()
}

/// The lifecycle tables a training run wrote, by file name.
fn training_lifecycle(dir: &Path) -> Vec<(String, String)> {
    let (_, bundle) = latest_bundle(&dir.join("models"));
    let version = bundle["version"].as_str().unwrap();
    let out = dir.join("out").join(format!("train-{version}"));
    ["persistency.csv", "incidence.csv"]
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(out.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            ((*f).to_string(), text)
        })
        .collect()
}

#[test]
fn training_in_parts_counts_the_lifecycle_the_book_in_one_piece_counts() {
    // Every row fitted, so the parts' segments are the one-piece run's: the parts'
    // persistency and exits, counted from what each part's features pass kept, must add
    // up to the one-piece counts.
    let t = tempfile::tempdir().unwrap();
    let sample = sample_dir();
    let every_row = t.path().join("every-row.toml");
    std::fs::write(&every_row, "[training]\nfit_sample = 1000000\n").unwrap();
    let every_row = every_row.display().to_string();
    let (one, parts) = (t.path().join("one"), t.path().join("parts"));
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&parts).unwrap();
    let r = train_with_flags(&one, &sample, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = train_with_flags(
        &parts,
        &sample,
        &["--partitions", "3", "--config", &every_row],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (one, parts) = (training_lifecycle(&one), training_lifecycle(&parts));
    assert!(one[0].1.lines().count() > 10, "{}", one[0].1);
    assert_eq!(one, parts);
}

#[test]
fn training_writes_persistency_as_labeling_counts_it_and_exits_by_segment() {
    let t = tempfile::tempdir().unwrap();
    let sample = sample_dir();
    let r = train_with_flags(t.path(), &sample, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, bundle) = latest_bundle(&t.path().join("models"));
    let version = bundle["version"].as_str().unwrap();
    let dir = t.path().join("out").join(format!("train-{version}"));
    let cutoff = bundle["cutoff"].as_str().unwrap().to_string();
    // The same counts as a labeling run as of the cut-off: one pipeline.
    let r = infer(
        &[
            "--model",
            "models/latest",
            "--data",
            &sample,
            "--extract-date",
            "2026-09-30",
            "--as-of",
            &cutoff,
            "--out",
            "at-cutoff",
        ],
        t.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let trained = std::fs::read_to_string(dir.join("persistency.csv")).unwrap();
    let labelled = std::fs::read_to_string(t.path().join("at-cutoff/persistency.csv")).unwrap();
    assert_eq!(trained, labelled);
    for chart in ["persistency", "incidence"] {
        assert!(dir.join(format!("{chart}.svg")).exists(), "{chart}");
        assert!(dir.join(format!("{chart}.png")).exists(), "{chart}");
    }

    // Incidence over all clients, recomputed from policies.csv as documented.
    let rows = read_csv(&dir.join("incidence.csv"));
    let as_of = date(&cutoff).unwrap();
    let quarantine = t.path().join("out/train-data-quality/quarantine.csv");
    // Per client: (tie rank, start, end, cause) of each policy.
    type Policy = (i64, Ymd, Option<Ymd>, String);
    let mut by_client: std::collections::BTreeMap<String, Vec<Policy>> = Default::default();
    let skipped: std::collections::BTreeSet<usize> = read_csv(&quarantine)
        .iter()
        .filter(|q| q["source"] == "policies")
        .map(|q| q["row"].parse().unwrap())
        .collect();
    for (i, r) in read_csv(&Path::new(&sample).join("policies.csv"))
        .into_iter()
        .enumerate()
    {
        let Some(start) = date(&r["start_date"]).filter(|&s| days(s) <= days(as_of)) else {
            continue;
        };
        if skipped.contains(&(i + 1)) {
            continue;
        }
        let end = date(&r["end_date"]).filter(|&e| days(e) <= days(as_of));
        let reason = match r["end_reason"].trim().to_lowercase().as_str() {
            "lapse" | "non_renewal" => "lapse",
            "surrender" => "surrender",
            "death_claim" => "death",
            "maturity" => "maturity",
            _ => "other",
        };
        let rank = ["other", "lapse", "surrender", "maturity", "death"]
            .iter()
            .position(|x| *x == reason)
            .unwrap() as i64;
        by_client
            .entry(r["client_id"].trim().to_string())
            .or_default()
            .push((rank, start, end, reason.to_string()));
    }
    let months_between = |a: Ymd, b: Ymd| {
        let m = (b.0 - a.0) * 12 + b.1 as i32 - a.1 as i32 - i32::from(b.2 < a.2);
        m.max(0) as u32
    };
    let exits: Vec<(u32, Option<String>)> = by_client
        .values()
        .map(|held| {
            let first = held.iter().map(|h| h.1).min_by_key(|&d| days(d)).unwrap();
            if held.iter().any(|h| h.2.is_none()) {
                return (months_between(first, as_of), None);
            }
            let last = held
                .iter()
                .max_by_key(|h| (days(h.2.unwrap()), h.0))
                .unwrap();
            (months_between(first, last.2.unwrap()), Some(last.3.clone()))
        })
        .collect();
    let months: Vec<u32> = (1..=10).map(|y| 12 * y).collect();
    let expected = aalen_johansen(&exits, &months);
    for (cause, values) in &expected {
        for (year, v) in (1..=10).zip(values) {
            let row = rows
                .iter()
                .find(|r| {
                    r["segment"] == "all"
                        && r["cause"] == *cause
                        && r["policy_year"] == year.to_string()
                })
                .unwrap_or_else(|| panic!("{cause} {year}"));
            assert_eq!(row["clients"], exits.len().to_string());
            let got: f64 = row["cumulative_incidence"].parse().unwrap();
            assert!((got - v).abs() < 2e-6, "{cause} year {year}: {got} vs {v}");
        }
    }
    let lapse10 = expected.iter().find(|(c, _)| c == "lapse").unwrap().1[9];
    assert!(lapse10 > 0.05, "lapse by year 10: {lapse10}");
    // Per segment: every segment of the model has its panel's rows.
    let segments = bundle["segments"]["segments"].as_array().unwrap();
    for s in segments {
        let id = s["id"].to_string();
        assert!(rows.iter().any(|r| r["segment"] == id), "segment {id}");
    }
}

#[test]
fn value_and_repeat_settings_out_of_range_exit_2_naming_the_file_and_key() {
    let t = tempfile::tempdir().unwrap();
    for (body, key) in [
        ("[value]\ndiscount_rate = -0.1\n", "[value] discount_rate"),
        ("[value]\nmargin = 2\n", "[value] margin"),
        ("[value]\nmax_age = 500\n", "[value] max_age"),
        (
            "[persistency]\nrepeat_months = 0\n",
            "[persistency] repeat_months",
        ),
    ] {
        let config = write(t.path(), "bad-value.toml", body);
        let r = train_without_charts(
            t.path(),
            &sample_dir(),
            &["--config", config.to_str().unwrap()],
        );
        assert_bad_input(&r, &["bad-value.toml", key]);
    }
}

#[test]
fn value_tiers_can_be_cut_on_lifetime_value() {
    let t = tempfile::tempdir().unwrap();
    let sample = sample_dir();
    let r = train_without_charts(t.path(), &sample, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, bundle) = latest_bundle(&t.path().join("models"));
    // The training clients' lifetime values are stored beside the retention models.
    let d = &bundle["retention"]["value_distribution"];
    let edges: Vec<f64> = d["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(edges.len(), 9, "{d}");
    let (low_cut, high_cut) = (edges[4], edges[7]);
    let config = write(
        t.path(),
        "ltv.toml",
        "[tiers]\nbasis = \"lifetime_value\"\n",
    );
    let label = |out: &str, extra: &[&str]| {
        let mut args = vec!["--model", "models/latest", "--data", &sample];
        args.extend_from_slice(&["--extract-date", "2026-09-30", "--out", out]);
        args.extend_from_slice(extra);
        let r = infer(&args, t.path());
        assert_eq!(r.code, 0, "{}", r.stderr);
        read_csv(&t.path().join(out).join("labels.csv"))
    };
    let by_value = label("by-value", &["--config", config.to_str().unwrap()]);
    let by_premium = label("by-premium", &[]);
    let (mut high, mut moved) = (0, 0);
    let (mut high_sum, mut other_sum, mut others) = (0.0, 0.0, 0);
    for (v, p) in by_value.iter().zip(&by_premium) {
        assert_eq!(v["client_id"], p["client_id"]);
        // Everything but the tier (and what follows from it) is the same run's.
        assert_eq!(v["lifetime_value"], p["lifetime_value"]);
        let Ok(value) = v["lifetime_value"].parse::<f64>() else {
            assert_ne!(v["tier_code"], "high", "{v:?}");
            continue;
        };
        if v["tier_code"] == "high" {
            high += 1;
            high_sum += value;
            assert!(value >= high_cut - 1e-6, "{value} < {high_cut}");
        } else {
            others += 1;
            other_sum += value;
        }
        if v["tier_code"] == "low" && value >= low_cut {
            // Low with a value at or above the low cut: only by heavy claims, which
            // premium-based tiers call low too.
            assert_eq!(p["tier_code"], "low", "{v:?}");
        }
        moved += usize::from(v["tier_code"] != p["tier_code"]);
    }
    let scored = high + others;
    assert!(
        high > 300 && (high as f64) < 0.21 * scored as f64,
        "{high} of {scored}"
    );
    assert!(high_sum / high as f64 > 3.0 * other_sum / others as f64);
    assert!(moved > 100, "only {moved} clients changed tier");
}

#[test]
fn former_clients_stages_and_actions_follow_how_their_cover_ended() {
    let t = tempfile::tempdir().unwrap();
    let sample = sample_dir();
    let r = train_without_charts(t.path(), &sample, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let args = ["--model", "models/latest", "--data", &sample];
    let r = infer(
        &[&args[..], &["--extract-date", "2026-09-30", "--out", "run"]].concat(),
        t.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run = t.path().join("run");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let as_of = date(summary["as_of"].as_str().unwrap()).unwrap();
    // Independently from policies.csv: per client, in force at as_of, and the policy
    // that ended last (on the same day: death, maturity, surrender, lapse).
    let skipped: std::collections::BTreeSet<usize> = read_csv(&run.join("quarantine.csv"))
        .iter()
        .filter(|q| q["source"] == "policies")
        .map(|q| q["row"].parse().unwrap())
        .collect();
    let rank = |reason: &str| match reason {
        "death_claim" => 4,
        "maturity" => 3,
        "surrender" => 2,
        "lapse" | "non_renewal" => 1,
        _ => 0,
    };
    let mut in_force = std::collections::BTreeSet::new();
    let mut died = std::collections::BTreeSet::new();
    let mut last: std::collections::BTreeMap<String, (i64, u8, String)> = Default::default();
    for (i, p) in read_csv(&Path::new(&sample).join("policies.csv"))
        .into_iter()
        .enumerate()
    {
        let started = date(&p["start_date"]).is_some_and(|s| days(s) <= days(as_of));
        if !started || skipped.contains(&(i + 1)) {
            continue;
        }
        let client = p["client_id"].trim().to_string();
        let Some(end) = date(&p["end_date"]).map(days).filter(|&e| e <= days(as_of)) else {
            in_force.insert(client);
            continue;
        };
        let reason = p["end_reason"].trim().to_lowercase();
        if reason == "death_claim" {
            died.insert(client.clone());
        }
        let this = (end, rank(&reason), reason);
        let slot = last.entry(client).or_insert_with(|| this.clone());
        if (this.0, this.1) > (slot.0, slot.1) {
            *slot = this;
        }
    }
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let labels = read_csv(&run.join("labels.csv"));
    let former = ["deceased", "matured", "surrendered", "lapsed"];
    let former_count = labels
        .iter()
        .filter(|l| former.contains(&l["stage_code"].as_str()))
        .count();
    for l in &labels {
        let Some((end, _, reason)) = last.get(l["client_id"].as_str()) else {
            continue;
        };
        let id = l["client_id"].as_str();
        if in_force.contains(id) {
            continue;
        }
        // A death claim on any policy, else how the policy that ended last ended.
        // The reinstatement period (2 years) and the win-back window (3 years).
        let years = (days(as_of) - end) as f64 / 365.25;
        let (stage, action) = match reason.as_str() {
            _ if died.contains(id) => ("deceased", "no_contact_deceased"),
            "maturity" if years <= 3.0 => ("matured", "maturity_reinvestment_offer"),
            "maturity" => ("matured", "standard_service"),
            "lapse" if years <= 2.0 => ("lapsed", "reinstatement_offer"),
            "surrender" if years <= 3.0 => ("surrendered", "win_back_offer"),
            "surrender" => ("surrendered", "standard_service"),
            _ if years <= 3.0 => ("lapsed", "win_back_offer"),
            _ => ("lapsed", "standard_service"),
        };
        assert_eq!(l["stage_code"], stage, "{id}: {reason} on day {end}");
        assert_eq!(l["action_code"], action, "{id}: {reason} on day {end}");
        *seen.entry(format!("{stage}/{action}")).or_default() += 1;
    }
    // Every kind of former client is in the sample, and no one else has a former stage.
    assert!(seen.len() >= 6, "{seen:?}");
    assert_eq!(seen.values().sum::<usize>(), former_count);
    assert!(
        seen["lapsed/reinstatement_offer"] > 1000
            && seen["lapsed/standard_service"] > 500
            && seen["deceased/no_contact_deceased"] > 20
            && seen["surrendered/win_back_offer"] > 100,
        "{seen:?}"
    );
}
