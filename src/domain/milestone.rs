//! Milestones of a car's delivery and the rules for moving between them.

use std::collections::VecDeque;

/// Where a car is in its delivery; one at a time per car.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    Ordered,
    Produced,
    Released,
    Loaded,
    InTransit,
    Arrived,
    Unloaded,
    GatedIn,
    InStorage,
    Pdi,
    InRepair,
    ReadyForDelivery,
    OutForDelivery,
    Delivered,
    OnHold,
    Cancelled,
}

/// How a scan's milestone relates to the car's current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The current milestone again: only its details change.
    Same,
    /// A direct next milestone.
    Direct,
    /// Reachable through missing scans; recorded as a gap.
    Gap,
    /// Cannot follow: `illegal_transition`.
    Illegal,
}

impl Verdict {
    /// One letter per verdict, as the Redis scripts read them.
    pub fn letter(self) -> char {
        match self {
            Verdict::Same => 'S',
            Verdict::Direct => 'D',
            Verdict::Gap => 'G',
            Verdict::Illegal => 'X',
        }
    }
}

impl Milestone {
    pub const ALL: [Milestone; 16] = [
        Milestone::Ordered,
        Milestone::Produced,
        Milestone::Released,
        Milestone::Loaded,
        Milestone::InTransit,
        Milestone::Arrived,
        Milestone::Unloaded,
        Milestone::GatedIn,
        Milestone::InStorage,
        Milestone::Pdi,
        Milestone::InRepair,
        Milestone::ReadyForDelivery,
        Milestone::OutForDelivery,
        Milestone::Delivered,
        Milestone::OnHold,
        Milestone::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Milestone::Ordered => "ordered",
            Milestone::Produced => "produced",
            Milestone::Released => "released",
            Milestone::Loaded => "loaded",
            Milestone::InTransit => "in_transit",
            Milestone::Arrived => "arrived",
            Milestone::Unloaded => "unloaded",
            Milestone::GatedIn => "gated_in",
            Milestone::InStorage => "in_storage",
            Milestone::Pdi => "pdi",
            Milestone::InRepair => "in_repair",
            Milestone::ReadyForDelivery => "ready_for_delivery",
            Milestone::OutForDelivery => "out_for_delivery",
            Milestone::Delivered => "delivered",
            Milestone::OnHold => "on_hold",
            Milestone::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The direct next milestones of DOMAIN.md. `on_hold` depends on what
    /// the car was held from, so it is judged in [`Milestone::judge`].
    pub fn next(self) -> &'static [Milestone] {
        use Milestone::*;
        match self {
            Ordered => &[Produced],
            Produced => &[Released, OnHold],
            Released => &[Loaded, OnHold],
            Loaded => &[InTransit, Unloaded],
            InTransit => &[Arrived],
            Arrived => &[Unloaded, InTransit],
            Unloaded => &[GatedIn, Loaded, Delivered],
            GatedIn => &[InStorage],
            InStorage => &[Pdi, Loaded, OnHold],
            Pdi => &[ReadyForDelivery, InRepair],
            InRepair => &[Pdi],
            ReadyForDelivery => &[OutForDelivery, InStorage],
            OutForDelivery => &[Delivered, InStorage],
            Delivered | OnHold | Cancelled => &[],
        }
    }

    /// Whether a car at this milestone is on a truck.
    pub fn on_truck(self) -> bool {
        matches!(
            self,
            Milestone::Loaded | Milestone::InTransit | Milestone::Arrived
        )
    }

    /// Whether the order is finished and leaves the live fleet.
    pub fn is_final(self) -> bool {
        matches!(self, Milestone::Delivered | Milestone::Cancelled)
    }

    /// Judges a scan of `to` against the current milestone `from`;
    /// `held_from` is what an `on_hold` car was held from.
    pub fn judge(from: Milestone, held_from: Option<Milestone>, to: Milestone) -> Verdict {
        // Nothing follows the end, not even the same milestone again, and
        // cancelling is the sales system's act, through the order API.
        if from.is_final() || to == Milestone::Cancelled {
            return Verdict::Illegal;
        }
        if from == to {
            return Verdict::Same;
        }
        if from == Milestone::OnHold {
            return match held_from {
                Some(h) if h == to => Verdict::Direct,
                Some(h) => match Self::judge(h, None, to) {
                    Verdict::Same => Verdict::Direct,
                    v => v,
                },
                None => Verdict::Illegal,
            };
        }
        if from.next().contains(&to) {
            return Verdict::Direct;
        }
        if Self::reachable_without_loading(from, to) {
            Verdict::Gap
        } else {
            Verdict::Illegal
        }
    }

    /// Whether `to` is reachable from `from` through a chain of next
    /// milestones whose hidden steps include no loading and no hold.
    fn reachable_without_loading(from: Milestone, to: Milestone) -> bool {
        let mut seen = [false; 16];
        let mut queue = VecDeque::from([from]);
        seen[from as usize] = true;
        while let Some(m) = queue.pop_front() {
            for &n in m.next() {
                if n == to {
                    return true;
                }
                let hidden_ok = !matches!(n, Milestone::Loaded | Milestone::OnHold);
                if hidden_ok && !seen[n as usize] {
                    seen[n as usize] = true;
                    queue.push_back(n);
                }
            }
        }
        false
    }

    /// What the API's `cancel` may do: any milestone but `delivered`.
    pub fn may_cancel(from: Milestone) -> bool {
        !matches!(from, Milestone::Delivered | Milestone::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::Milestone::*;
    use super::*;

    #[test]
    fn direct_moves_are_direct() {
        assert_eq!(Milestone::judge(Released, None, Loaded), Verdict::Direct);
        assert_eq!(Milestone::judge(Arrived, None, InTransit), Verdict::Direct);
        assert_eq!(Milestone::judge(Unloaded, None, Loaded), Verdict::Direct);
        assert_eq!(Milestone::judge(InStorage, None, Loaded), Verdict::Direct);
    }

    #[test]
    fn lost_scans_are_gaps_but_never_hide_a_loading() {
        assert_eq!(Milestone::judge(InTransit, None, Unloaded), Verdict::Gap);
        assert_eq!(Milestone::judge(Ordered, None, Released), Verdict::Gap);
        assert_eq!(Milestone::judge(Ordered, None, InTransit), Verdict::Illegal);
        assert_eq!(
            Milestone::judge(Released, None, InTransit),
            Verdict::Illegal
        );
        assert_eq!(Milestone::judge(GatedIn, None, Loaded), Verdict::Gap);
        assert_eq!(Milestone::judge(Loaded, None, Delivered), Verdict::Gap);
    }

    #[test]
    fn same_milestone_is_same() {
        assert_eq!(Milestone::judge(Loaded, None, Loaded), Verdict::Same);
    }

    #[test]
    fn nothing_follows_the_end() {
        for to in Milestone::ALL {
            assert_eq!(Milestone::judge(Delivered, None, to), Verdict::Illegal);
            assert_eq!(Milestone::judge(Cancelled, None, to), Verdict::Illegal);
        }
    }

    #[test]
    fn backwards_is_illegal() {
        assert_eq!(
            Milestone::judge(InTransit, None, Released),
            Verdict::Illegal
        );
        assert_eq!(Milestone::judge(Delivered, None, Loaded), Verdict::Illegal);
    }

    #[test]
    fn a_hold_resumes_where_it_was_held() {
        assert_eq!(Milestone::judge(Produced, None, OnHold), Verdict::Direct);
        assert_eq!(
            Milestone::judge(OnHold, Some(Produced), Produced),
            Verdict::Direct
        );
        assert_eq!(
            Milestone::judge(OnHold, Some(Produced), Released),
            Verdict::Direct
        );
        assert_eq!(
            Milestone::judge(OnHold, Some(InStorage), Loaded),
            Verdict::Direct
        );
        assert_eq!(
            Milestone::judge(OnHold, Some(InStorage), ReadyForDelivery),
            Verdict::Gap
        );
        assert_eq!(
            Milestone::judge(OnHold, Some(Released), InTransit),
            Verdict::Illegal
        );
    }

    #[test]
    fn cancelled_is_not_a_scan() {
        assert_eq!(Milestone::judge(Ordered, None, Cancelled), Verdict::Illegal);
        assert!(Milestone::may_cancel(InTransit));
        assert!(!Milestone::may_cancel(Delivered));
    }

    #[test]
    fn names_round_trip() {
        for m in Milestone::ALL {
            assert_eq!(Milestone::parse(m.as_str()), Some(m));
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }
}
