//! The industry's damage codes: AIAG / ECG areas (where on the car), types
//! (scratch, dent, broken...) and severities (by size), with their names
//! in English and Chinese. The tables are data (`damage_codes.json`, its
//! `source` says where they come from), read once.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// One code of a table, with its names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DamageCode {
    pub code: String,
    pub name: String,
    pub name_zh: String,
}

/// The three tables.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DamageCodes {
    pub source: String,
    pub areas: Vec<DamageCode>,
    pub types: Vec<DamageCode>,
    pub severities: Vec<DamageCode>,
}

static CODES: LazyLock<DamageCodes> = LazyLock::new(|| {
    // The file is part of the build and checked by a test below.
    serde_json::from_str(include_str!("damage_codes.json")).expect("damage_codes.json parses")
});

impl DamageCodes {
    pub fn get() -> &'static DamageCodes {
        &CODES
    }

    pub fn area(&self, code: &str) -> Option<&DamageCode> {
        self.areas.iter().find(|c| c.code == code)
    }

    pub fn kind(&self, code: &str) -> Option<&DamageCode> {
        self.types.iter().find(|c| c.code == code)
    }

    pub fn severity(&self, code: &str) -> Option<&DamageCode> {
        self.severities.iter().find(|c| c.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_whole_and_named_in_both_languages() {
        let c = DamageCodes::get();
        assert!(c.areas.len() > 70 && c.types.len() > 25 && c.severities.len() == 6);
        for t in [&c.areas, &c.types, &c.severities] {
            let mut codes: Vec<_> = t.iter().map(|c| c.code.as_str()).collect();
            codes.dedup();
            assert_eq!(codes.len(), t.len(), "codes are unique and sorted");
            assert!(
                t.iter()
                    .all(|c| !c.name.is_empty() && !c.name_zh.is_empty())
            );
        }
        assert_eq!(c.area("03").unwrap().name, "Bumper/Cover/Ext - Front");
        assert_eq!(c.kind("12").unwrap().name_zh, "划痕（玻璃除外）");
        assert!(c.area("99").is_none());
    }
}
