//! The console summary of a training run: what a data scientist reads in ten seconds.

use super::train::{describe_paths, TrainOutcome};
use std::fmt::Write as _;

pub fn summary(o: &TrainOutcome) -> String {
    let b = &o.bundle;
    let m = &b.metrics;
    let mut s = String::new();
    let _ = writeln!(s, "\nclientele-train: model {}", b.version);
    let _ = writeln!(
        s,
        "data      {} clients, {} in force at the cut-off {}, {} labelled over {} months \
         ({:.1}% lapsed); train {} / test {}",
        m.clients,
        m.active_clients,
        m.cutoff,
        m.labelled_clients,
        m.horizon_months,
        m.lapse_rate * 100.0,
        m.train_clients,
        m.test_clients
    );
    let _ = writeln!(s, "cut-off   {}: {}", m.cutoff, o.cutoff_why);
    if !m.dropped_features.is_empty() {
        let dropped: Vec<String> = m
            .dropped_features
            .iter()
            .map(|d| format!("{} ({})", d.name, d.reason))
            .collect();
        let _ = writeln!(s, "dropped   {}", dropped.join("; "));
    }
    segments_lines(&mut s, b);
    let f = &b.lapse.form;
    let chosen_form = (f.bins, f.smooth, f.pairs.len());
    lapse_lines(&mut s, m, chosen_form);
    for (what, path) in describe_paths(o) {
        let _ = writeln!(s, "{what:<13} {}", path.display());
    }
    s
}

/// The segment table and, with a previous model, what carried over.
fn segments_lines(s: &mut String, b: &crate::bundle::Bundle) {
    let m = &b.metrics;
    let _ = writeln!(s, "segments  {}", m.k_reason);
    let apart = b.segments.segments.iter().any(|s| s.exit_rates.is_some());
    let pct = |r: Option<f64>| r.map_or_else(|| "n/a".into(), |r| format!("{:.1}%", r * 100.0));
    let mut head = format!(
        "          {:>4}  {:<44} {:>7} {:>8}",
        "id", "name", "share", "leaving"
    );
    if apart {
        head.push_str(&format!(" {:>8} {:>9}", "lapse", "surrender"));
    }
    let _ = writeln!(s, "{}", head.trim_end());
    for seg in &b.segments.segments {
        let mut line = format!(
            "          {:>4}  {:<44} {:>6.1}% {:>8}",
            seg.id,
            crate::charts::short(&seg.name, 44),
            seg.share * 100.0,
            pct(seg.lapse_rate)
        );
        if apart {
            let (l, r) = seg.exit_rates.map(|e| (e.lapse, e.surrender)).unzip();
            line.push_str(&format!(" {:>8} {:>9}", pct(l), pct(r)));
        }
        let _ = writeln!(s, "{line}");
    }
    if let Some(t) = &b.segments.transition {
        let carried = t.matches.iter().filter(|m| m.1.is_some()).count();
        let _ = writeln!(
            s,
            "          {carried} segments carried over from {}, {} new, {} retired",
            t.previous_version,
            t.matches.len() - carried,
            t.retired.len()
        );
    }
}

/// The best out-of-fold log loss of each form tried, in the order tried.
/// Each form's best cross-validation point (least log loss), in the order tried.
fn best_points(cv: &[crate::lapse::CvPoint]) -> Vec<&crate::lapse::CvPoint> {
    let mut best: Vec<&crate::lapse::CvPoint> = Vec::new();
    for p in cv {
        match best.iter_mut().find(|b| form_key(b) == form_key(p)) {
            Some(b) if p.log_loss < b.log_loss => *b = p,
            Some(_) => {}
            None => best.push(p),
        }
    }
    best
}

/// A form as the CV points name it: bins (0: linear), smoothed or not, pairs.
type FormKey = (usize, bool, usize);

fn form_key(p: &crate::lapse::CvPoint) -> FormKey {
    (p.bins, p.smooth, p.pairs)
}

fn form_name((bins, smooth, pairs): FormKey) -> String {
    let smoothed = if smooth { " smoothed" } else { "" };
    match (bins, pairs) {
        (0, _) => "linear".to_string(),
        (n, 0) => format!("{n}{smoothed} bins"),
        (n, k) => format!("{n}{smoothed} bins + {k} pairs"),
    }
}

fn form_lines(cv: &[crate::lapse::CvPoint]) -> Vec<String> {
    best_points(cv)
        .into_iter()
        .map(|p| format!("{} {:.4}", form_name(form_key(p)), p.log_loss))
        .collect()
}

/// When the chosen form was tried after the one with the least log loss (forms come
/// simplest first) and has the higher log loss, it won on ranking (`[lapse]
/// form_auc_margin`): the out-of-fold ROC AUCs that decided it. (A simpler form kept
/// against a richer one's slightly lower log loss is the usual tie rule, not noted.)
fn ranking_note(cv: &[crate::lapse::CvPoint], chosen: FormKey) -> Option<String> {
    let points = best_points(cv);
    let (least_at, least) = points
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.log_loss.total_cmp(&b.1.log_loss))?;
    let (mine_at, mine) = points
        .iter()
        .enumerate()
        .find(|(_, p)| form_key(p) == chosen)?;
    (mine_at > least_at && mine.log_loss > least.log_loss).then(|| {
        format!(
            "; chosen for its ranking: out-of-fold ROC AUC {:.4} against {:.4} for {}",
            mine.roc_auc,
            least.roc_auc,
            form_name(form_key(least))
        )
    })
}

/// Held-out and out-of-time lapse metrics, and the decision threshold.
fn lapse_lines(s: &mut String, m: &crate::bundle::TrainMetrics, chosen_form: FormKey) {
    let _ = writeln!(
        s,
        "lapse     ROC AUC {:.3} (cross-validated) / {:.3} (held-out test); PR AUC {:.3}; \
         lift at 10% {:.2}; Brier {:.4}; ECE {:.3}",
        m.cv_roc_auc,
        m.test.roc_auc,
        m.test.pr_auc,
        m.test.lift_at(0.1).unwrap_or(f64::NAN),
        m.test.brier,
        m.test.ece
    );
    let c = &m.test.confusion;
    let _ = writeln!(
        s,
        "          threshold {:.3} ({}): precision {:.2}, recall {:.2}; L2 alpha {}",
        c.threshold, m.threshold_rule, c.precision, c.recall, m.alpha
    );
    let forms = form_lines(&m.cv);
    if forms.len() > 1 {
        let _ = writeln!(
            s,
            "          form {} (out-of-fold log loss: {}{})",
            m.lapse_form,
            forms.join(", "),
            ranking_note(&m.cv, chosen_form).unwrap_or_default()
        );
    }
    match (&m.out_of_time, &m.out_of_time_skipped) {
        (Some(o), _) => {
            let _ = writeln!(
                s,
                "          out of time: fitted at {}, scored at {}: ROC AUC {:.3}, lift at 10% {:.2}",
                o.fit_cutoff,
                o.score_cutoff,
                o.metrics.roc_auc,
                o.metrics.lift_at(0.1).unwrap_or(f64::NAN)
            );
        }
        (None, Some(why)) => {
            let _ = writeln!(s, "          out of time: skipped ({why})");
        }
        (None, None) => {}
    }
}
