//! Lifecycle analytics of a contractual book: persistency by issue cohort and the
//! shifted-beta-geometric retention model behind lifetime value.

pub mod competing;
pub mod persistency;
pub mod repeat;
pub mod sbg;
pub mod value;

pub use competing::{cumulative_incidence, Exit, Incidence};
pub use persistency::{persistency, Basis, CohortPeriod, PersistencyRow, PersistencySettings};
pub use repeat::{RateCount, RepeatCounts};
pub use sbg::{residual_premiums, DiscountRate, ShiftedBetaGeometric};
pub use value::{premium_at_risk_12m, RetentionModel, RetentionRow, ValueInput};
