//! Typed errors of the `nn` module: invalid layer or optimizer settings.
//!
//! Settings are validated once, at construction; each variant names the
//! field and the offending value so a config file can be fixed from the
//! message alone.

use thiserror::Error;

/// An invalid setting of a layer, optimizer, schedule or architecture spec.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum NnError {
    /// A numeric field outside its valid range.
    #[error("{field} = {value} is invalid: {reason}")]
    InvalidValue {
        /// Field name as written in a config file, e.g. `dropout`.
        field: &'static str,
        /// The offending value, printed.
        value: String,
        /// What the valid range is.
        reason: &'static str,
    },
    /// Two settings that cannot be combined.
    #[error("{0}")]
    Conflict(String),
}

impl NnError {
    /// Shorthand for [`NnError::InvalidValue`].
    pub fn invalid(
        field: &'static str,
        value: impl std::fmt::Display,
        reason: &'static str,
    ) -> Self {
        NnError::InvalidValue {
            field,
            value: value.to_string(),
            reason,
        }
    }
}

/// Checks `0 <= value < 1` (a probability that must leave something).
pub(crate) fn check_unit_open(field: &'static str, value: f32) -> Result<(), NnError> {
    if value.is_finite() && (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(NnError::invalid(field, value, "must be in [0, 1)"))
    }
}

/// Checks `value > 0` and finite.
pub(crate) fn check_positive(field: &'static str, value: f32) -> Result<(), NnError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(NnError::invalid(field, value, "must be finite and > 0"))
    }
}

/// Checks `value >= 0` and finite.
pub(crate) fn check_non_negative(field: &'static str, value: f32) -> Result<(), NnError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(NnError::invalid(field, value, "must be finite and >= 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_field_and_value() {
        let e = check_unit_open("dropout", 1.5).unwrap_err();
        assert_eq!(e.to_string(), "dropout = 1.5 is invalid: must be in [0, 1)");
        assert!(check_positive("lr", 0.0).is_err());
        assert!(check_non_negative("l2", f32::NAN).is_err());
        assert!(check_non_negative("l2", 0.0).is_ok());
    }
}
