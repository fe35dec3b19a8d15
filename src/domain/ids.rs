//! Identifiers chosen by people outside vinpath (orders, carriers, trucks,
//! sites, events). Each exists only in a form that is safe inside a Redis key
//! and a URL path.

use std::fmt;

/// Characters allowed in ids that become part of Redis keys: letters and
/// digits (any script, so `粤A12345` plates work) and `-`, `_`, `.`.
fn key_safe(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

macro_rules! key_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, String> {
                let n = s.chars().count();
                if n == 0 || n > 64 {
                    return Err(format!("{} must be 1 to 64 characters", $what));
                }
                if !key_safe(s) {
                    return Err(format!(
                        "{} may hold only letters, digits, '-', '_' and '.'",
                        $what
                    ));
                }
                Ok(Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

key_id!(
    /// A retailer's order number, such as `JD-2026-000123`.
    OrderId,
    "an order id"
);
key_id!(
    /// A carrier company, such as `sf-auto`.
    CarrierId,
    "a carrier id"
);
key_id!(
    /// A car-carrier truck, usually its plate; scoped to its carrier.
    TruckId,
    "a truck id"
);
key_id!(
    /// A plant, warehouse or compound.
    SiteId,
    "a site id"
);

/// A carrier-chosen event id: 1 to 128 printable characters. It never
/// becomes a key name by itself, only a set member, so any printable text is
/// fine.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let n = s.chars().count();
        if n == 0 || n > 128 {
            return Err("event_id must be 1 to 128 characters".into());
        }
        if s.chars().any(char::is_control) {
            return Err("event_id must be printable".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_plates_and_order_numbers() {
        assert!(OrderId::parse("JD-2026-000123").is_ok());
        assert!(TruckId::parse("粤A12345").is_ok());
        assert!(TruckId::parse("YUE-A-12345").is_ok());
    }

    #[test]
    fn ids_refuse_key_breaking_text() {
        for bad in ["", "a b", "a{b}", "a:b", "a/b", &"x".repeat(65)] {
            assert!(OrderId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn event_ids_are_printable_and_bounded() {
        assert!(EventId::parse("sf-0001 retry #2").is_ok());
        assert!(EventId::parse("").is_err());
        assert!(EventId::parse("a\nb").is_err());
        assert!(EventId::parse(&"x".repeat(129)).is_err());
        assert!(EventId::parse(&"x".repeat(128)).is_ok());
    }
}
