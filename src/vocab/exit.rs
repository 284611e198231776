//! How a policy's cover ended: the absorbing states of the stage migration, the causes
//! of the competing exits, and what a former client's action rules see.

/// An absorbing state of the stage migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitState {
    Lapsed,
    Surrendered,
    Died,
    Matured,
    NotInBook,
}

impl ExitState {
    pub const ALL: [ExitState; 5] = [
        ExitState::Lapsed,
        ExitState::Surrendered,
        ExitState::Died,
        ExitState::Matured,
        ExitState::NotInBook,
    ];

    /// The state's code in `summary.json`'s `stage_migration` (never a stage code).
    pub fn code(self) -> &'static str {
        match self {
            ExitState::Lapsed => "exit_lapsed",
            ExitState::Surrendered => "exit_surrendered",
            ExitState::Died => "exit_died",
            ExitState::Matured => "exit_matured",
            ExitState::NotInBook => "not_in_book",
        }
    }

    /// The exit as a competing risk's cause (`incidence.csv`).
    pub fn cause(self) -> &'static str {
        match self {
            ExitState::Lapsed => "lapse",
            ExitState::Surrendered => "surrender",
            ExitState::Died => "death",
            ExitState::Matured => "maturity",
            ExitState::NotInBook => "other",
        }
    }

    /// The state's key in the vocabulary's `[exit]` section.
    pub fn word_key(self) -> &'static str {
        match self {
            ExitState::Lapsed => "lapsed",
            ExitState::Surrendered => "surrendered",
            ExitState::Died => "died",
            ExitState::Matured => "matured",
            ExitState::NotInBook => "not_in_book",
        }
    }

    pub fn from_code(code: &str) -> Option<ExitState> {
        ExitState::ALL.into_iter().find(|e| e.code() == code)
    }

    /// The exit state of a policy's `end_reason`; `None` for other reasons.
    pub fn of_reason(reason: &str) -> Option<ExitState> {
        match reason {
            "lapse" | "non_renewal" => Some(ExitState::Lapsed),
            "surrender" => Some(ExitState::Surrendered),
            "death_claim" => Some(ExitState::Died),
            "maturity" => Some(ExitState::Matured),
            _ => None,
        }
    }

    /// Of two policies ending on the same day, the one whose reason names the state:
    /// a death ends cover whatever else ended that day, then maturity, surrender, lapse.
    pub fn precedence(self) -> u8 {
        match self {
            ExitState::Died => 4,
            ExitState::Matured => 3,
            ExitState::Surrendered => 2,
            ExitState::Lapsed => 1,
            ExitState::NotInBook => 0,
        }
    }

    /// The same-day rank of a policy's end (`None`: another or no reason, lowest): an end
    /// is the later of two when `(date, rank)` is greater.
    pub fn rank(state: Option<ExitState>) -> u8 {
        state.map_or(0, ExitState::precedence)
    }
}
