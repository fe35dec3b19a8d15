//! Vehicle identification numbers (ISO 3779; in China GB 16735).

use std::fmt;

/// A VIN that follows the rules of DOMAIN.md: 17 characters from `0-9A-Z`
/// without `I`, `O`, `Q`, and a correct check digit wherever the country of
/// manufacture requires one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Vin(String);

/// A VIN accepted with a doubt the caller should hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VinWarning {
    /// The check digit is wrong, but the country of manufacture does not
    /// require one, so many makers skip it.
    CheckDigit { vin: String, expected: char },
}

impl fmt::Display for VinWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VinWarning::CheckDigit { vin, expected } => write!(
                f,
                "VIN {vin}: check digit (position 9) should be {expected}; accepted because its country of manufacture does not require it"
            ),
        }
    }
}

const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

fn value(c: char) -> Option<u32> {
    Some(match c {
        '0'..='9' => c as u32 - '0' as u32,
        'A' | 'J' => 1,
        'B' | 'K' | 'S' => 2,
        'C' | 'L' | 'T' => 3,
        'D' | 'M' | 'U' => 4,
        'E' | 'N' | 'V' => 5,
        'F' | 'W' => 6,
        'G' | 'P' | 'X' => 7,
        'H' | 'Y' => 8,
        'R' | 'Z' => 9,
        _ => return None,
    })
}

/// The check digit a VIN's other characters call for.
fn check_digit(chars: &[char]) -> char {
    let sum: u32 = chars
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| value(*c).unwrap_or(0) * w)
        .sum();
    match sum % 11 {
        10 => 'X',
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

/// China (`L`) and North America (`1` to `5`) require the check digit.
fn check_required(first: char) -> bool {
    matches!(first, 'L' | '1'..='5')
}

impl Vin {
    /// Parses a VIN, upper-casing it first. A wrong check digit is an error
    /// where the country requires it and a warning elsewhere.
    pub fn parse(s: &str) -> Result<(Self, Option<VinWarning>), String> {
        let upper = s.trim().to_ascii_uppercase();
        let chars: Vec<char> = upper.chars().collect();
        if chars.len() != 17 {
            return Err(format!("a VIN has 17 characters, not {}", chars.len()));
        }
        if let Some(bad) = chars.iter().find(|c| value(**c).is_none()) {
            return Err(format!(
                "a VIN holds only 0-9 and A-Z without I, O and Q, not {bad:?}"
            ));
        }
        let expected = check_digit(&chars);
        if chars[8] == expected {
            return Ok((Self(upper), None));
        }
        if check_required(chars[0]) {
            return Err(format!(
                "check digit (position 9) is {} but should be {expected}",
                chars[8]
            ));
        }
        let warning = VinWarning::CheckDigit {
            vin: upper.clone(),
            expected,
        };
        Ok((Self(upper), Some(warning)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What a customer's page shows: the maker (WMI) and the last four
    /// characters, the rest hidden.
    pub fn masked(vin: &str) -> String {
        vin.chars()
            .enumerate()
            .map(|(i, c)| if (3..13).contains(&i) { '*' } else { c })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_vins_from_the_domain_pass_without_warning() {
        for vin in [
            "1G1BL52P7TR115520",
            "JHMCM56557C404453",
            "LSJA24U62JG269225",
            "LNAA2AA17SF000001",
            "LNAA2AA19SF000002",
        ] {
            assert_eq!(Vin::parse(vin).unwrap().1, None, "{vin}");
        }
    }

    #[test]
    fn a_chinese_vin_with_a_wrong_check_digit_is_refused() {
        assert!(Vin::parse("LNAA2AA18SF000001").is_err());
        assert!(Vin::parse("2G1BL52P6TR115520").is_err());
    }

    #[test]
    fn elsewhere_a_wrong_check_digit_is_a_warning() {
        let (vin, warning) = Vin::parse("WVWZZZ1JZXW000001").unwrap();
        assert_eq!(vin.as_str(), "WVWZZZ1JZXW000001");
        assert!(matches!(warning, Some(VinWarning::CheckDigit { .. })));
    }

    #[test]
    fn shape_is_checked() {
        assert!(Vin::parse("LNAA2AA17SF00000").is_err());
        assert!(Vin::parse("LNAA2AA17SF0000O1").is_err());
        assert!(Vin::parse("LNAI2AA17SF000001").is_err());
        assert_eq!(
            Vin::parse("lnaa2aa17sf000001").unwrap().0.as_str(),
            "LNAA2AA17SF000001"
        );
    }

    #[test]
    fn masking_keeps_maker_and_last_four() {
        assert_eq!(Vin::masked("LNAA2AA17SF000001"), "LNA**********0001");
    }
}
