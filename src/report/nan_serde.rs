//! Deserializers that read JSON `null` back as NaN.
//!
//! serde_json writes a non-finite float as `null` (JSON has no NaN), but by
//! default refuses to read `null` into a float. These helpers, used with
//! `#[serde(deserialize_with = ...)]` in [`super::model`], accept a number or
//! `null` (= NaN), so a report with missing metrics round-trips through JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// An `f64`, with `null` read as NaN.
pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A `Vec<f32>`, with `null` entries read as NaN.
pub fn vec_f32<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
    let raw = Vec::<Option<f32>>::deserialize(d)?;
    Ok(raw.into_iter().map(|v| v.unwrap_or(f32::NAN)).collect())
}

/// A matrix of `f32` as rows, with `null` entries read as NaN.
pub fn matrix_f32<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f32>>, D::Error> {
    let raw = Vec::<Vec<Option<f32>>>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|row| row.into_iter().map(|v| v.unwrap_or(f32::NAN)).collect())
        .collect())
}

/// A name-to-`f64` map, with `null` values read as NaN.
pub fn map_f64<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    let raw = BTreeMap::<String, Option<f64>>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(deserialize_with = "super::f64")]
        a: f64,
        #[serde(deserialize_with = "super::vec_f32")]
        v: Vec<f32>,
    }

    #[test]
    fn null_reads_as_nan_and_numbers_stay() {
        let p: Probe = serde_json::from_str(r#"{"a":null,"v":[1.5,null]}"#).unwrap();
        assert!(p.a.is_nan());
        assert_eq!(p.v[0], 1.5);
        assert!(p.v[1].is_nan());
        let q: Probe = serde_json::from_str(r#"{"a":2.25,"v":[]}"#).unwrap();
        assert_eq!(q.a, 2.25);
    }

    #[test]
    fn wrong_types_are_still_errors() {
        let r: Result<Probe, _> = serde_json::from_str(r#"{"a":"x","v":[]}"#);
        assert!(r.is_err());
    }
}
