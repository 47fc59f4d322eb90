//! The front end's one error type.

/// Why a front end could not be built or configured.
///
/// Every variant names the offending field (dotted path, e.g. `dct.num_ceps`)
/// and its value, so a message alone says what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrontendError {
    /// A field holds a value the front end cannot use, e.g.
    /// `dct.num_ceps (40) > mel.num_bins (23)`.
    #[error("{field} ({value}) {reason}")]
    Invalid {
        /// Dotted path of the field.
        field: &'static str,
        /// The value as given.
        value: String,
        /// Why it is rejected, phrased to follow the value.
        reason: String,
    },
    /// A TOML table could not be applied (unknown key, wrong type).
    #[error("front-end config: {0}")]
    Config(String),
}

impl FrontendError {
    /// Shorthand for [`FrontendError::Invalid`].
    pub(crate) fn invalid(
        field: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        FrontendError::Invalid {
            field,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_field_and_value() {
        let e = FrontendError::invalid("dct.num_ceps", 40, "> mel.num_bins (23)");
        assert_eq!(e.to_string(), "dct.num_ceps (40) > mel.num_bins (23)");
    }
}
