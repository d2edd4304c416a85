//! Coercion of user-supplied expression lists (`x IN (…)`, `ARRAY[…]`, `MAP(…)`) to one common
//! type, with ksqlDB's rules: the widest numeric type wins, string literals are parsed into the
//! common type (`'10'` in a list of BIGINTs), other literals are converted, and any other
//! expression that doesn't match is wrapped in a CAST — or rejected when no cast is allowed.

use std::sync::Arc;

use datafusion::common::ScalarValue;
use datafusion::physical_expr::expressions::Literal as LiteralExpr;

use super::PlanError;
use super::expr::{Compiled, ExprCompiler, parse_decimal};
use crate::sql::ast::{Expr, Literal};
use crate::sql::display::expr_to_sql;
use crate::types::{SqlType, StructField};
use crate::types::{can_widen, common_type};

type PResult<T> = Result<T, PlanError>;

fn invalid(message: String) -> PlanError {
    PlanError::Invalid(message)
}

/// "operator does not exist: BIGINT = STRING (VAL0)" and its hint.
fn coercion_failure(expr: &Expr, source: &SqlType, target: &SqlType) -> PlanError {
    invalid(format!(
        "operator does not exist: {target} = {source} ({})\nHint: You might need to add explicit type casts.",
        expr_to_sql(expr)
    ))
}

fn invalid_syntax(value: &str, target: &SqlType) -> PlanError {
    invalid(format!(
        "invalid input syntax for type {}: \"{value}\".",
        base_type_name(target)
    ))
}

/// The name of a type's family, as ksqlDB's SqlBaseType prints it.
pub fn base_type_name(ty: &SqlType) -> &'static str {
    match ty {
        SqlType::Boolean => "BOOLEAN",
        SqlType::Int => "INTEGER",
        SqlType::Bigint => "BIGINT",
        SqlType::Double => "DOUBLE",
        SqlType::Decimal { .. } => "DECIMAL",
        SqlType::String => "STRING",
        SqlType::Bytes => "BYTES",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Array(_) => "ARRAY",
        SqlType::Map(..) => "MAP",
        SqlType::Struct(_) => "STRUCT",
    }
}

/// ksqlDB's lax reading of a boolean string.
/// A case-insensitive prefix of "true" or "yes" is true; of "false" or "no", false.
pub fn parse_boolean(value: &str) -> Option<bool> {
    let v = value.trim().to_ascii_lowercase();
    if v.is_empty() {
        return None;
    }
    if "true".starts_with(&v) || "yes".starts_with(&v) {
        Some(true)
    } else if "false".starts_with(&v) || "no".starts_with(&v) {
        Some(false)
    } else {
        None
    }
}

/// The type a numeric string literal has: INT or BIGINT for plain integers, else the DECIMAL
/// that holds it exactly (`'2e1'` is DECIMAL(2, 0)); `None` if it is not a number.
fn string_numeric_type(value: &str) -> Option<SqlType> {
    let v = value.trim();
    let plain = !v.contains(['.', 'e', 'E']);
    if plain && let Ok(i) = v.parse::<i64>() {
        return Some(if i32::try_from(i).is_ok() {
            SqlType::Int
        } else {
            SqlType::Bigint
        });
    }
    let (unscaled, scale) = decimal_literal(v)?;
    let digits = i32::try_from(
        unscaled
            .unsigned_abs()
            .checked_ilog10()
            .map_or(1, |d| d + 1),
    )
    .ok()?;
    // A negative scale becomes trailing zeros of the integer part.
    let (digits, scale) = if scale < 0 {
        (digits - scale, 0)
    } else {
        (digits, scale)
    };
    let precision = digits.max(scale).max(1);
    if precision > i32::from(crate::types::MAX_DECIMAL_PRECISION) {
        return Some(SqlType::Double);
    }
    Some(SqlType::decimal(precision as u8, scale as u8))
}

/// A decimal string, with an optional exponent, as an unscaled value and a scale (negative when
/// the exponent leaves trailing zeros: `2e1` is 2 at scale -1).
fn decimal_literal(value: &str) -> Option<(i128, i32)> {
    let (mantissa, exponent) = match value.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (value, 0),
    };
    let (unscaled, _, scale) = parse_decimal(mantissa)?;
    Some((unscaled, i32::from(scale) - exponent))
}

/// A decimal string as the unscaled value of DECIMAL(_, `scale`), rounding half away from zero
/// when it has more fractional digits.
fn decimal_at_scale(value: &str, scale: u8) -> Option<i128> {
    let (unscaled, from) = decimal_literal(value.trim())?;
    let shift = i32::from(scale) - from;
    if shift >= 0 {
        unscaled.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)
    } else {
        let divisor = 10i128.checked_pow(u32::try_from(-shift).ok()?)?;
        let (q, r) = (unscaled / divisor, unscaled % divisor);
        Some(if r.abs() * 2 >= divisor {
            q + unscaled.signum()
        } else {
            q
        })
    }
}

/// Whether an expression is a literal (literal coercion is lax: anything converts to STRING).
fn is_literal(expr: &Expr) -> bool {
    matches!(expr, Expr::Literal(_))
}

impl ExprCompiler<'_> {
    /// Brings a list of expressions to their common type. Returns the compiled expressions (all
    /// of the common type) and that type (`None` when all are NULL literals).
    pub fn coerce_user_list(&self, exprs: &[&Expr]) -> PResult<(Vec<Compiled>, Option<SqlType>)> {
        let compiled = exprs
            .iter()
            .map(|e| self.compile(e))
            .collect::<PResult<Vec<_>>>()?;
        let mut common: Option<SqlType> = None;
        for (expr, c) in exprs.iter().zip(&compiled) {
            common = self.resolve_common(expr, c.ty.as_ref(), common)?;
        }
        let Some(target) = common else {
            return Ok((compiled, None));
        };
        let converted = exprs
            .iter()
            .zip(compiled)
            .map(|(e, c)| self.convert(e, c, &target))
            .collect::<PResult<Vec<_>>>()?;
        Ok((converted, Some(target)))
    }

    fn resolve_common(
        &self,
        expr: &Expr,
        ty: Option<&SqlType>,
        common: Option<SqlType>,
    ) -> PResult<Option<SqlType>> {
        let Some(target) = common else {
            return Ok(ty.cloned());
        };
        let Some(source) = ty else {
            return Ok(Some(target));
        };
        match expr {
            Expr::Array(items) => {
                let SqlType::Array(item) = &target else {
                    return Err(coercion_failure(expr, source, &target));
                };
                let element = self
                    .resolve_structured(item, items.iter().collect())
                    .map_err(|e| wrap_nested(e, expr, source, &target))?;
                return Ok(Some(SqlType::Array(Box::new(element))));
            }
            Expr::Map(entries) => {
                let SqlType::Map(k, v) = &target else {
                    return Err(coercion_failure(expr, source, &target));
                };
                let keys = self
                    .resolve_structured(k, entries.iter().map(|(k, _)| k).collect())
                    .map_err(|e| wrap_nested(e, expr, source, &target))?;
                let values = self
                    .resolve_structured(v, entries.iter().map(|(_, v)| v).collect())
                    .map_err(|e| wrap_nested(e, expr, source, &target))?;
                return Ok(Some(SqlType::Map(Box::new(keys), Box::new(values))));
            }
            Expr::Struct(fields) => {
                let SqlType::Struct(target_fields) = &target else {
                    return Err(coercion_failure(expr, source, &target));
                };
                let mut names: Vec<&String> = fields.iter().map(|(n, _)| n).collect();
                for f in target_fields {
                    if !names.contains(&&f.name) {
                        names.push(&f.name);
                    }
                }
                let mut out = Vec::with_capacity(names.len());
                for name in names {
                    let source_field = fields.iter().find(|(n, _)| n == name).map(|(_, e)| e);
                    let target_field = target_fields.iter().find(|f| &f.name == name);
                    let ty = match (source_field, target_field) {
                        (Some(e), None) => self.compile(e)?.sql_type(),
                        (None, Some(t)) => t.ty.clone(),
                        (Some(e), Some(t)) => {
                            let c = self.compile(e)?;
                            self.resolve_common(e, c.ty.as_ref(), Some(t.ty.clone()))
                                .map_err(|_| coercion_failure(expr, source, &target))?
                                .unwrap_or_else(|| t.ty.clone())
                        }
                        (None, None) => continue,
                    };
                    out.push(StructField {
                        name: name.clone(),
                        ty,
                    });
                }
                return Ok(Some(SqlType::Struct(out)));
            }
            Expr::Literal(Literal::String(value)) if target.is_numeric() => {
                let Some(from) = string_numeric_type(value) else {
                    return Err(invalid_syntax(value, &target));
                };
                return Ok(Some(match (&from, &target) {
                    (SqlType::Double, _) | (_, SqlType::Double) => SqlType::Double,
                    (SqlType::Decimal { .. }, _) | (_, SqlType::Decimal { .. }) => {
                        common_type(&from, &target).unwrap_or(SqlType::Double)
                    }
                    _ if can_widen(&from, &target) => target,
                    _ => from,
                }));
            }
            Expr::Literal(Literal::String(value)) if target == SqlType::Boolean => {
                if parse_boolean(value).is_none() {
                    return Err(invalid_syntax(value, &target));
                }
                return Ok(Some(target));
            }
            _ => {}
        }
        let literal = is_literal(expr);
        if let Some(t) = can_coerce(source, &target, literal) {
            return Ok(Some(t));
        }
        if let Some(t) = can_coerce(&target, source, literal) {
            return Ok(Some(t));
        }
        Err(coercion_failure(expr, source, &target))
    }

    fn resolve_structured(&self, target: &SqlType, exprs: Vec<&Expr>) -> PResult<SqlType> {
        let mut common = Some(target.clone());
        for e in exprs {
            let c = self.compile(e)?;
            common = self.resolve_common(e, c.ty.as_ref(), common)?;
        }
        Ok(common.unwrap_or_else(|| target.clone()))
    }

    /// Converts one expression to the common type: literals by value, others by CAST.
    fn convert(&self, expr: &Expr, compiled: Compiled, target: &SqlType) -> PResult<Compiled> {
        if compiled.ty.as_ref() == Some(target) {
            return Ok(compiled);
        }
        if let Expr::Literal(Literal::String(value)) = expr {
            let scalar = match target {
                SqlType::Boolean => ScalarValue::Boolean(parse_boolean(value)),
                SqlType::Decimal { precision, scale } => ScalarValue::Decimal128(
                    Some(
                        decimal_at_scale(value, *scale)
                            .filter(|v| {
                                10i128
                                    .checked_pow(u32::from(*precision))
                                    .is_none_or(|limit| v.abs() < limit)
                            })
                            .ok_or_else(|| invalid_syntax(value, target))?,
                    ),
                    *precision,
                    *scale as i8,
                ),
                t if t.is_numeric() => ScalarValue::Utf8(Some(value.trim().to_string()))
                    .cast_to(&t.to_arrow())
                    .map_err(|_| invalid_syntax(value, t))?,
                _ => return Ok(self.cast(compiled, target)),
            };
            return Ok(Compiled {
                expr: Arc::new(LiteralExpr::new(scalar)),
                ty: Some(target.clone()),
            });
        }
        Ok(self.cast(compiled, target))
    }
}

fn wrap_nested(e: PlanError, expr: &Expr, source: &SqlType, target: &SqlType) -> PlanError {
    match &e {
        PlanError::Invalid(m) if m.starts_with("invalid input syntax") => e,
        _ => coercion_failure(expr, source, target),
    }
}

/// ksqlDB's DefaultSqlValueCoercer.canCoerce: strict for expressions (numeric widening and
/// structurally), lax for literals (which may also become strings).
fn can_coerce(source: &SqlType, target: &SqlType, lax: bool) -> Option<SqlType> {
    if source == target {
        return Some(target.clone());
    }
    if source.is_numeric() && target.is_numeric() {
        if can_widen(source, target) {
            return Some(match target {
                SqlType::Decimal { .. } => common_type(source, target)?,
                _ => target.clone(),
            });
        }
        return None;
    }
    match (source, target) {
        (SqlType::Array(s), SqlType::Array(t)) => {
            can_coerce(s, t, lax).map(|i| SqlType::Array(Box::new(i)))
        }
        (SqlType::Map(sk, sv), SqlType::Map(tk, tv)) => Some(SqlType::Map(
            Box::new(can_coerce(sk, tk, lax)?),
            Box::new(can_coerce(sv, tv, lax)?),
        )),
        (SqlType::Struct(sf), SqlType::Struct(tf)) => {
            if sf.len() != tf.len() {
                return None;
            }
            let mut out = Vec::with_capacity(tf.len());
            for t in tf {
                let s = sf.iter().find(|f| f.name == t.name)?;
                out.push(StructField {
                    name: t.name.clone(),
                    ty: can_coerce(&s.ty, &t.ty, lax)?,
                });
            }
            Some(SqlType::Struct(out))
        }
        (s, SqlType::String) if lax && s.is_primitive() => Some(SqlType::String),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_strings_take_the_narrowest_exact_type() {
        assert_eq!(string_numeric_type(" 12 "), Some(SqlType::Int));
        assert_eq!(string_numeric_type("3000000000"), Some(SqlType::Bigint));
        assert_eq!(string_numeric_type("2e1"), Some(SqlType::decimal(2, 0)));
        assert_eq!(string_numeric_type("1.50"), Some(SqlType::decimal(3, 2)));
        assert_eq!(string_numeric_type("15E-3"), Some(SqlType::decimal(3, 3)));
        assert_eq!(string_numeric_type("abc"), None);
    }

    #[test]
    fn decimal_strings_rescale_with_rounding() {
        assert_eq!(decimal_at_scale("2e1", 0), Some(20));
        assert_eq!(decimal_at_scale("1.25", 1), Some(13));
        assert_eq!(decimal_at_scale("-1.25", 1), Some(-13));
        assert_eq!(decimal_at_scale("7", 2), Some(700));
    }
}
