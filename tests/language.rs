//! Words in the reader's language (docs/language.md): `--lang zh-CN` writes the labels'
//! display columns, the charts and the report in Chinese with the codes unchanged, the
//! same in one part or several; a house vocabulary renames words; bad languages and
//! vocabulary files exit 2 naming the file and key; every glyph drawn is in the font.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

fn vocabulary(dir: &Path, bytes: &[u8]) -> String {
    let p = dir.join("house.toml");
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn unknown_languages_and_bad_vocabulary_files_exit_2_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    // Checked before anything is read: no model or data is needed to be refused.
    let r = common::infer(&["--lang", "fr", "--model", "nowhere"], dir.path());
    common::assert_bad_input(&r, &["'fr'", "en, zh-CN"]);
    let r = common::train(&["--lang", "zh", "--models", "m"], dir.path());
    common::assert_bad_input(&r, &["'zh'", "zh-CN"]);
    let cases: [(&[u8], &[&str]); 8] = [
        (
            b"[tier]\nhigh = \"top\"\n",
            &["house.toml", "missing the word for", "base"],
        ),
        (
            b"base = \"en\"\n[tier]\nsupreme = \"x\"\n",
            &["house.toml", "unknown key 'tier.supreme'"],
        ),
        (
            b"base = \"en\"\n[tier]\nhigh = \"\xff\xfe\"\n",
            &["house.toml", "not UTF-8"],
        ),
        (
            b"base = \"en\"\n[tier\n",
            &["house.toml", "not a vocabulary (TOML)"],
        ),
        (
            "base = \"zh-CN\"\n[tier]\nhigh = \"\u{20000}客户\"\n".as_bytes(),
            &["house.toml", "tier.high", "U+20000", "font"],
        ),
        (
            b"base = \"en\"\n[segment]\nduplicate = \"{name} {oops}\"\n",
            &["house.toml", "segment.duplicate", "{oops}"],
        ),
        (b"base = \"de\"\n", &["house.toml", "base", "'de'"]),
        (
            b"base = \"en\"\n[tier]\nhigh = 3\n",
            &["house.toml", "tier.high", "expected a string"],
        ),
    ];
    for (bytes, needles) in cases {
        let file = vocabulary(dir.path(), bytes);
        let r = common::infer(&["--vocabulary", &file, "--model", "nowhere"], dir.path());
        common::assert_bad_input(&r, needles);
    }
}

/// Rows of a labels.csv by client id.
fn labels(path: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    common::read_csv(path)
        .into_iter()
        .map(|row| (row["client_id"].clone(), row))
        .collect()
}

#[test]
fn chinese_labels_charts_and_report_keep_the_codes_and_agree_over_parts() {
    let dir = tempfile::tempdir().unwrap();
    common::train_on_sample(dir.path());
    let next = format!("{}/next-month", common::sample_dir());
    let run = |out: &str, extra: &[&str]| {
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
        let r = common::infer(&args, dir.path());
        assert_eq!(r.code, 0, "{}", r.stderr);
    };
    run("en", &[]);
    run("zh", &["--lang", "zh-CN"]);
    run("zh3", &["--lang", "zh-CN", "--partitions", "3"]);
    let house = vocabulary(
        dir.path(),
        "base = \"zh-CN\"\n[tier]\nhigh = \"VIP客户\"\n[action]\nstandard_service = \"日常维护\"\n"
            .as_bytes(),
    );
    run("house", &["--vocabulary", &house]);
    let (en, zh) = (
        labels(&dir.path().join("en/labels.csv")),
        labels(&dir.path().join("zh/labels.csv")),
    );
    assert_eq!(en.len(), 20_000);
    assert_eq!(zh, labels(&dir.path().join("zh3/labels.csv")));
    let stage_words = [
        ("at_risk", "有流失风险"),
        ("prospect", "潜在客户"),
        ("lapsed", "已失效"),
        ("surrendered", "已退保"),
    ];
    let mut seen = 0;
    for (id, e) in &en {
        let z = &zh[id];
        for code in [
            "tier_code",
            "stage_code",
            "action_code",
            "lapse_outcome",
            "needs",
            "coverage_band",
            "segment_id",
            "lapse_probability",
        ] {
            assert_eq!(e[code], z[code], "{id} {code}");
        }
        for (code, word) in stage_words {
            if z["stage_code"] == code {
                assert_eq!(z["lifecycle_stage"], word, "{id}");
                seen += 1;
            }
        }
        if e["reason_1"].is_empty() {
            assert!(z["reason_1"].is_empty());
        } else {
            assert_ne!(e["reason_1"], z["reason_1"]);
        }
        assert!(!z["segment_name"].is_ascii(), "{id}: {}", z["segment_name"]);
    }
    assert!(seen > 1000, "{seen}");
    let house = labels(&dir.path().join("house/labels.csv"));
    assert!(house.values().any(|r| r["tier_code"] == "high"));
    for r in house.values() {
        assert_eq!(r["tier_code"] == "high", r["value_tier"] == "VIP客户");
        assert_eq!(
            r["action_code"] == "standard_service",
            r["action"] == "日常维护"
        );
    }
    let report = std::fs::read_to_string(dir.path().join("zh/report.html")).unwrap();
    assert!(report.contains("<html lang=\"zh-CN\">") && report.contains("客户分群"));
    assert!(report.contains("@font-face") && !report.contains("Client segments and lapse risk"));
    // Every glyph drawn is in the font: outlines never use glyph 0 (.notdef), and the
    // report's own text is covered by the font it embeds.
    let font = clientele::vocab::Vocabulary::shipped("zh-CN").unwrap();
    let text: String = report
        .split('<')
        .filter_map(|t| t.split_once('>').map(|(_, text)| text))
        .collect();
    assert_eq!(font.font().missing_glyph(&text), None);
    let charts = dir.path().join("zh/charts");
    let mut svgs = 0;
    for entry in std::fs::read_dir(&charts).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "svg") {
            let svg = std::fs::read_to_string(&path).unwrap();
            assert!(!svg.contains("<text"), "{}", path.display());
            assert!(
                svg.contains("<use href=") && !svg.contains("-g0\""),
                "{}",
                path.display()
            );
            svgs += 1;
        }
    }
    assert!(svgs >= 6);
    // The English run is untouched by the machinery: text stays text.
    let en_svg = std::fs::read_to_string(dir.path().join("en/charts/segment_risk.svg")).unwrap();
    assert!(en_svg.contains("<text") && !en_svg.contains("<use"));
}
