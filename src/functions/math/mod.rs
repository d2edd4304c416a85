//! Mathematical functions.

mod abs;
mod acos;
mod asin;
mod atan;
mod atan2;
mod cbrt;
mod ceil;
mod common;
mod cos;
mod cosh;
mod cot;
mod degrees;
mod exp;
mod extreme;
mod floor;
mod geo_distance;
mod greatest;
mod least;
mod ln;
mod log;
mod pi;
mod power;
mod radians;
mod random;
mod round;
mod sign;
mod sin;
mod sinh;
mod sqrt;
mod tan;
mod tanh;
mod trunc;

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![
        abs::function(),
        acos::function(),
        asin::function(),
        atan::function(),
        atan2::function(),
        cbrt::function(),
        ceil::function(),
        cos::function(),
        cosh::function(),
        cot::function(),
        degrees::function(),
        exp::function(),
        floor::function(),
        geo_distance::function(),
        greatest::function(),
        least::function(),
        ln::function(),
        log::function(),
        pi::function(),
        power::function(),
        radians::function(),
        random::function(),
        round::function(),
        sign::function(),
        sin::function(),
        sinh::function(),
        sqrt::function(),
        tan::function(),
        tanh::function(),
        trunc::function(),
    ]
}
