//! ksqlDB's implicit type rules: which types widen to which, and the common type two values
//! are brought to. The planner, the functions' overload resolution and inserts all use them.

use super::{MAX_DECIMAL_PRECISION, SqlType};

/// Whether ksqlDB widens `from` to `to` implicitly.
pub fn can_widen(from: &SqlType, to: &SqlType) -> bool {
    use SqlType::*;
    match (from, to) {
        (a, b) if a == b => true,
        (Int, Bigint | Double | Decimal { .. }) => true,
        (Bigint, Double | Decimal { .. }) => true,
        (Decimal { .. }, Double) => true,
        (Decimal { .. }, Decimal { .. }) => true,
        (Array(a), Array(b)) => can_widen(a, b),
        (Map(ak, av), Map(bk, bv)) => can_widen(ak, bk) && can_widen(av, bv),
        _ => false,
    }
}

/// The type two values are brought to before they are compared or combined.
pub fn common_type(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    use SqlType::*;
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (Double, x) | (x, Double) if x.is_numeric() => Some(Double),
        (Decimal { .. }, x) | (x, Decimal { .. }) if x.is_numeric() => {
            let (p1, s1) = a.as_decimal()?;
            let (p2, s2) = b.as_decimal()?;
            let scale = s1.max(s2);
            let integral = (p1 - s1).max(p2 - s2);
            Some(SqlType::decimal(
                (integral + scale).min(MAX_DECIMAL_PRECISION),
                scale,
            ))
        }
        (Int, Bigint) | (Bigint, Int) => Some(Bigint),
        // A DATE compared with a TIMESTAMP is midnight of that day.
        (Date, Timestamp) | (Timestamp, Date) => Some(Timestamp),
        (Array(x), Array(y)) => Some(Array(Box::new(common_type(x, y)?))),
        (Map(xk, xv), Map(yk, yv)) => Some(Map(
            Box::new(common_type(xk, yk)?),
            Box::new(common_type(xv, yv)?),
        )),
        _ => None,
    }
}
