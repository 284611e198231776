//! Lifecycle analytics of a contractual book: persistency by issue cohort and the
//! shifted-beta-geometric retention model behind lifetime value.

pub mod competing;
pub mod exits;
pub mod persistency;
pub mod policies;
pub mod repeat;
pub mod sbg;
pub mod training;
pub mod value;

pub use competing::{cumulative_incidence, Exit, ExitTable, Incidence};
pub use exits::ExitState;
pub use persistency::{persistency, Basis, CohortPeriod, PersistencyRow, PersistencySettings};
pub use policies::CompactPolicies;
pub use repeat::{RateCount, RepeatCounts};
pub use sbg::{residual_premiums, DiscountRate, ShiftedBetaGeometric};
pub use training::TrainingLifecycle;
pub use value::{premium_at_risk_12m, RetentionModel, RetentionRow, ValueInput};
