//! One client's label (`ClientLabel`) and what every client of a part is labelled with
//! (`LabelContext`): the bundle, the tier cuts, the label rules and the part's features.

use super::needs::{self, Needs};
use super::rules;
use crate::bundle::Bundle;
use crate::config::LabelRules;
use crate::config::Mode;
use crate::date::Date;
use crate::features::{Feature, RawFeatures};
use crate::ingest::Book;
use crate::vocab::{LapseOutcome, LifecycleStage, RiskBand, ValueTier};
use ndarray::ArrayView1;

/// Everything labeling says about one client.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientLabel {
    /// `None` when the client is not in force (labelled, not scored).
    pub probability: Option<f64>,
    /// What the probability is of (the model's outcome), for a scored client.
    pub outcome: Option<LapseOutcome>,
    pub band: Option<RiskBand>,
    pub tier: ValueTier,
    pub stage: LifecycleStage,
    /// Up to three risk-raising reasons in words (scored clients only).
    pub reasons: Vec<String>,
    pub action: String,
    /// The action's stable code.
    pub action_code: String,
    /// The next-best product and its propensity (scored clients with one that clears
    /// its threshold and that their age and dependants do not rule out); for a prospect,
    /// the first policy its needs call for (no propensity).
    pub next_product: Option<(String, Option<f64>)>,
    /// Needs tags and the protection gap.
    pub needs: Needs,
    /// Each product model's propensity (`None`: held); empty unless the client is scored
    /// and the bundle has product models.
    pub propensities: Vec<Option<f64>>,
    /// A scored client with at least one imputed feature.
    pub imputed: bool,
    pub note: Option<String>,
    /// Held out of the action at random (`effect::HoldoutPlan`): the action is still
    /// written, and not carried out.
    pub holdout: bool,
    /// Annual premium in force x the probability of leaving within 12 months (scored
    /// clients, relational mode).
    pub premium_at_risk_12m: Option<f64>,
    /// Expected discounted premium still to come (scored clients of a bundle with
    /// retention models; docs/domain.md "Lifetime value").
    pub lifetime_value: Option<f64>,
}

/// Tiers cut on lifetime value need the training clients' values in the bundle.
fn check_tier_basis(b: &Bundle, tiers: &crate::config::TierSettings) -> crate::error::Result<()> {
    let has_values = b
        .retention
        .as_ref()
        .is_some_and(|r| r.value_distribution.is_some());
    if tiers.basis == crate::config::TierBasis::LifetimeValue
        && b.config.mode == Mode::Relational
        && !has_values
    {
        return Err(crate::error::Error::InvalidParameter(format!(
            "[tiers] basis = \"lifetime_value\": model {} holds no lifetime values of its \
             training clients (trained by an older clientele, or without enough clients \
             who stayed and left to fit retention): retrain it, or set basis = \"premium\"",
            b.version
        )));
    }
    Ok(())
}

/// What every client of a part is labelled with: the bundle, the tier cuts, the label
/// rules, and the part's raw features resolved by name once.
pub struct LabelContext<'a> {
    pub(super) b: &'a Bundle,
    rules: &'a LabelRules,
    cuts: rules::TierCuts,
    columns: rules::FeatureColumns<'a>,
    /// Products each client holds at the as-of date, in the bundle's product-model order.
    held: Option<Vec<u64>>,
    /// Each segment's name and description for prospects (no words about policies), in
    /// the run's words.
    pub(super) segment_words: Vec<crate::segment::SegmentWords>,
    need_cuts: needs::NeedCuts,
    reason_words: rules::ReasonWords,
}

impl<'a> LabelContext<'a> {
    /// # Errors
    /// `[tiers] basis = "lifetime_value"` with a bundle that holds no lifetime values.
    pub fn new(
        b: &'a Bundle,
        raw: &'a RawFeatures,
        label_rules: &'a LabelRules,
    ) -> crate::error::Result<Self> {
        check_tier_basis(b, &label_rules.tiers)?;
        Ok(LabelContext {
            b,
            rules: label_rules,
            cuts: rules::TierCuts::from_bundle(b, &label_rules.tiers),
            columns: rules::FeatureColumns::new(b, raw),
            held: None,
            need_cuts: needs::NeedCuts::from_bundle(b, &label_rules.needs),
            reason_words: rules::ReasonWords::new(label_rules.words.clone(), b),
            segment_words: b
                .segments
                .display_names(&b.features.numeric, &label_rules.words),
        })
    }

    /// With the products each client of `book` holds at the as-of date (relational mode,
    /// a bundle with product models): labels then name a next-best product.
    #[must_use]
    pub fn with_holdings(mut self, book: &Book, as_of: Date) -> Self {
        self.held = self.b.products.as_ref().and_then(|p| {
            let names = p.names();
            crate::features::products::product_facts(book, as_of, as_of, Some(&names))
                .map(|f| f.held)
        });
        self
    }

    /// The client's annual premium in force (NaN outside relational mode).
    pub(super) fn premium_in_force(&self, c: usize) -> f64 {
        let view = rules::ClientView {
            columns: &self.columns,
            client: c,
        };
        view.get(Feature::PremiumInForce)
    }

    /// Labels client `c` from its model-matrix row: a pure function of the bundle, the
    /// client's features and whether it is in force.
    /// `segment`: the id of the client's segment.
    pub fn label_client(
        &self,
        c: usize,
        active: bool,
        row: ArrayView1<f64>,
        segment: u32,
    ) -> ClientLabel {
        let b = self.b;
        let view = rules::ClientView {
            columns: &self.columns,
            client: c,
        };
        let probability = active.then(|| b.lapse.probability(row));
        let band = probability.map(|p| b.lapse.bands.band(p));
        let (premium_at_risk_12m, lifetime_value) = probability
            .and_then(|p| self.value_of(&view, segment, p))
            .unzip();
        let tier = rules::value_tier(&self.cuts, &view, lifetime_value.flatten());
        let stage = rules::lifecycle(b.config.mode, &self.rules.stages, &view, active, band);
        let products = self.b.products.as_ref().filter(|_| active);
        let propensities = products
            .zip(self.held(c))
            .map(|(p, held)| p.propensities(row, held))
            .unwrap_or_default();
        let needs = needs::needs(b.config.mode, &self.need_cuts, &view);
        let next_product = self.next_product(stage, &needs, &propensities, &view);
        let product = next_product.as_ref().map(|(name, _)| name.as_str());
        let outcome = active.then_some(b.config.lapse.outcome);
        let signals = rules::signals(
            b.config.mode,
            &self.rules.stages,
            &self.cuts,
            &view,
            outcome,
        );
        let action = self
            .rules
            .actions
            .action_for(tier, band, stage, product, signals);
        let reasons = if active {
            // A row of the chunk's matrix is contiguous: read in place, copied otherwise.
            let row_values = row.as_slice().map_or_else(
                || std::borrow::Cow::Owned(row.to_vec()),
                std::borrow::Cow::Borrowed,
            );
            let words = &self.reason_words;
            rules::reasons(words, b, &row_values, &b.lapse.contributions(row), &view, 3)
        } else {
            Vec::new()
        };
        let (imputed_scored, note) = self.notes(c, active);
        ClientLabel {
            probability,
            outcome,
            band,
            tier,
            stage,
            reasons,
            action: action.words.clone(),
            action_code: action.code.clone(),
            next_product,
            needs,
            propensities,
            imputed: imputed_scored,
            holdout: false,
            note,
            premium_at_risk_12m,
            lifetime_value: lifetime_value.flatten(),
        }
    }

    /// Whether a scored client had features imputed, and the label's note: not in force,
    /// the imputed columns.
    fn notes(&self, c: usize, active: bool) -> (bool, Option<String>) {
        let b = self.b;
        let imputed: Vec<&str> = b
            .features
            .numeric
            .iter()
            .zip(self.columns.model_numeric_columns())
            .filter(|(_, col)| col.and_then(|col| col.get(c)).is_none_or(|v| v.is_nan()))
            .map(|(f, _)| f.name.as_str())
            .collect();
        let w = &self.rules.words;
        let mut notes = Vec::new();
        if !active {
            notes.push(match b.config.mode {
                Mode::Transactions => w.word("note.no_transaction").to_string(),
                _ => w.word("note.no_policy").to_string(),
            });
        }
        let imputed_scored = !imputed.is_empty() && active;
        if imputed_scored {
            // Column names, as in the data: a reader searches for them there.
            let names = imputed.join(" ");
            notes.push(w.fill("note.imputed", &[("columns", &names)]));
        }
        let note = (!notes.is_empty()).then(|| notes.join(w.word("note.separator")));
        (imputed_scored, note)
    }

    /// A scored client's premium at risk over 12 months and lifetime value (relational
    /// mode with a premium in force; the value needs the bundle's retention models).
    fn value_of(
        &self,
        view: &rules::ClientView,
        segment: u32,
        p: f64,
    ) -> Option<(f64, Option<f64>)> {
        let premium = view.get(Feature::PremiumInForce);
        if !premium.is_finite() {
            return None;
        }
        let at_risk = crate::lifecycle::premium_at_risk_12m(premium, p, self.b.horizon_months);
        let value = self.b.retention.as_ref().and_then(|model| {
            let input = crate::lifecycle::ValueInput {
                segment,
                annual_premium: premium,
                tenure_years: view.get(Feature::TenureYears),
                age: view.get(Feature::Age),
                p,
            };
            model.lifetime_value(&input, &self.rules.value).ok()
        });
        Some((at_risk, value))
    }

    /// A prospect's first policy from its needs; for others, the next-best product among
    /// those the client's age and dependants do not rule out.
    fn next_product(
        &self,
        stage: LifecycleStage,
        needs: &Needs,
        propensities: &[Option<f64>],
        view: &rules::ClientView,
    ) -> Option<(String, Option<f64>)> {
        let allowed = |product: &str| !needs::ruled_out(&self.rules.needs, product, view);
        if stage == LifecycleStage::Prospect {
            let first = needs.tags.iter().map(|n| n.product()).find(|p| allowed(p));
            return first.map(|p| (p.to_string(), None));
        }
        let p = self.b.products.as_ref()?;
        let offered: Vec<Option<f64>> = propensities
            .iter()
            .zip(&p.models)
            .map(|(q, m)| q.filter(|_| allowed(&m.product)))
            .collect();
        let (k, propensity) = p.next_of(&offered)?;
        Some((p.models.get(k)?.product.clone(), Some(propensity)))
    }

    /// The products client `c` holds at the as-of date (bits in product-model order),
    /// when the bundle has product models.
    pub(super) fn held(&self, c: usize) -> Option<u64> {
        self.held.as_ref().map(|h| h.get(c).copied().unwrap_or(0))
    }

    /// Client `c`'s numeric features in original units, cleaned as the model sees them.
    pub(super) fn cleaned_originals(&self, c: usize) -> impl Iterator<Item = f64> + '_ {
        self.b
            .features
            .numeric
            .iter()
            .zip(self.columns.model_numeric_columns())
            .map(move |(f, col)| {
                f.clean(col.and_then(|col| col.get(c)).copied().unwrap_or(f64::NAN))
            })
    }
}

/// Which part of how many this is: seeds and sizes the part's share of the projection
/// chart's sample, so the chart is the same for the same inputs. (Here, beside the
/// label, because labeling and its totals both use it.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartOf {
    pub index: u64,
    pub parts: usize,
}

impl PartOf {
    /// A book labelled in one piece.
    pub const WHOLE: PartOf = PartOf { index: 0, parts: 1 };
}
