//! GEO_DISTANCE(lat1, lon1, lat2, lon2 [, units]): the great-circle (haversine) distance
//! between two points given in decimal degrees, in kilometres (radius 6371) or, with units
//! `mi`/`mile`/`miles` (any case, trimmed), miles (radius 3959).
//!
//! ksqlDB declares the coordinates as Java primitives, so a null coordinate fails the call, as do
//! coordinates out of range and unknown units; a null or blank unit means kilometres.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::common::doubles;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

const EARTH_RADIUS_KM: f64 = 6371.0;
const EARTH_RADIUS_MILES: f64 = 3959.0;
const MILES: [&str; 3] = ["mi", "mile", "miles"];
const KILOMETRES: [&str; 5] = ["km", "kilometer", "kilometers", "kilometre", "kilometres"];

pub fn function() -> ScalarFunction {
    let d = SqlType::Double;
    ScalarFunction {
        name: "GEO_DISTANCE",
        category: "OTHER",
        description: "Compute the distance between two points on the surface of the earth, according to the Haversine formula for \"great circle distance\".",
        overloads: vec![
            Overload::fixed(
                &[d.clone(), d.clone(), d.clone(), d.clone(), SqlType::String],
                SqlType::Double,
                kernel,
            ),
            Overload::fixed(
                &[d.clone(), d.clone(), d.clone(), d.clone()],
                SqlType::Double,
                kernel,
            ),
        ],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let coordinates = args[..4]
        .iter()
        .map(doubles)
        .collect::<DfResult<Vec<_>>>()?;
    let units = args.get(4).map(|a| a.as_string::<i32>());
    let rows = args[0].len();
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        if coordinates.iter().any(|c| c.is_null(row)) {
            return exec_err!(
                "Failed to invoke function GEO_DISTANCE: null for a primitive parameter"
            );
        }
        let [lat1, lon1, lat2, lon2] = [0, 1, 2, 3].map(|i| coordinates[i].value(row));
        let unit = units.and_then(|u| (!u.is_null(row)).then(|| u.value(row)));
        out.push(distance(lat1, lon1, lat2, lon2, unit)?);
    }
    Ok(Arc::new(Float64Array::from(out)))
}

fn distance(lat1: f64, lon1: f64, lat2: f64, lon2: f64, units: Option<&str>) -> DfResult<f64> {
    if lat1 < -90.0 || lat2 < -90.0 || lat1 > 90.0 || lat2 > 90.0 {
        return exec_err!(
            "valid latitude values for GeoDistance function are in the range of -90 to 90 decimal degrees"
        );
    }
    if lon1 < -180.0 || lon2 < -180.0 || lon1 > 180.0 || lon2 > 180.0 {
        return exec_err!(
            "valid longitude values for GeoDistance function are in the range of -180 to +180 decimal degrees"
        );
    }
    let radius = radius(units)?;
    let delta_lat = (lat2 - lat1).to_radians();
    let delta_lon = (lon2 - lon1).to_radians();
    let a = haversin(delta_lat)
        + haversin(delta_lon) * lat1.to_radians().cos() * lat2.to_radians().cos();
    Ok(2.0 * a.sqrt().asin() * radius)
}

fn radius(units: Option<&str>) -> DfResult<f64> {
    let Some(units) = units.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(EARTH_RADIUS_KM);
    };
    let unit = units.to_lowercase();
    if MILES.contains(&unit.as_str()) {
        Ok(EARTH_RADIUS_MILES)
    } else if KILOMETRES.contains(&unit.as_str()) {
        Ok(EARTH_RADIUS_KM)
    } else {
        let all: Vec<&str> = MILES.iter().chain(KILOMETRES.iter()).copied().collect();
        let (last, rest) = all.split_last().expect("units are listed");
        exec_err!(
            "GeoDistance function units parameter must be one of {} or {last}. Values are case-insensitive.",
            rest.join(", ")
        )
    }
}

fn haversin(v: f64) -> f64 {
    (v / 2.0).sin().powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_like_ksqldb() {
        let d = distance(37.4439, -122.1663, 51.5257, -0.1122, None).unwrap();
        assert!((d - 8634.659796579544).abs() < 1e-9);
        let m = distance(37.4439, -122.1663, 51.5257, -0.1122, Some(" MI ")).unwrap();
        assert!((m - 5365.659729188262).abs() < 1e-9);
        assert!(distance(91.0, 0.0, 0.0, 0.0, None).is_err());
        assert!(radius(Some("furlongs")).is_err());
    }
}
