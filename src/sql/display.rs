//! Expressions rendered back to SQL, the way ksqlDB prints them in messages and plans.

use super::ast::*;

/// `(A + B)`, `SUM(V)`, `'x'`, `S->F`: ksqlDB's ExpressionFormatter style.
pub fn expr_to_sql(expr: &Expr) -> String {
    match expr {
        Expr::Column {
            qualifier, name, ..
        } => match qualifier {
            Some(q) => format!("{}.{}", ident(q), ident(name)),
            None => ident(name),
        },
        Expr::Literal(l) => literal_to_sql(l),
        Expr::TypedLiteral { ty, value } => format!("{ty} '{}'", value.replace('\'', "''")),
        Expr::Binary { op, left, right } => {
            format!(
                "({} {} {})",
                expr_to_sql(left),
                op.symbol(),
                expr_to_sql(right)
            )
        }
        Expr::Unary { op, expr } => match op {
            UnaryOp::Minus => format!("-{}", expr_to_sql(expr)),
            UnaryOp::Plus => format!("+{}", expr_to_sql(expr)),
            UnaryOp::Not => format!("(NOT {})", expr_to_sql(expr)),
        },
        Expr::IsNull { expr, negated } => format!(
            "({} IS {}NULL)",
            expr_to_sql(expr),
            if *negated { "NOT " } else { "" }
        ),
        Expr::IsDistinctFrom {
            left,
            right,
            negated,
        } => format!(
            "({} IS {}DISTINCT FROM {})",
            expr_to_sql(left),
            if *negated { "NOT " } else { "" },
            expr_to_sql(right)
        ),
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => format!(
            "({} {}BETWEEN {} AND {})",
            expr_to_sql(expr),
            if *negated { "NOT " } else { "" },
            expr_to_sql(low),
            expr_to_sql(high)
        ),
        Expr::InList {
            expr,
            list,
            negated,
        } => format!(
            "({} {}IN ({}))",
            expr_to_sql(expr),
            if *negated { "NOT " } else { "" },
            join(list)
        ),
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
        } => {
            let mut s = format!(
                "({} {}LIKE {}",
                expr_to_sql(expr),
                if *negated { "NOT " } else { "" },
                expr_to_sql(pattern)
            );
            if let Some(c) = escape {
                s.push_str(&format!(" ESCAPE '{c}'"));
            }
            s.push(')');
            s
        }
        Expr::Case {
            operand,
            whens,
            else_result,
        } => {
            let mut s = String::from("(CASE");
            if let Some(o) = operand {
                s.push(' ');
                s.push_str(&expr_to_sql(o));
            }
            for (w, t) in whens {
                s.push_str(&format!(" WHEN {} THEN {}", expr_to_sql(w), expr_to_sql(t)));
            }
            if let Some(e) = else_result {
                s.push_str(&format!(" ELSE {}", expr_to_sql(e)));
            }
            s.push_str(" END)");
            s
        }
        Expr::Cast { expr, ty } => format!("CAST({} AS {ty})", expr_to_sql(expr)),
        Expr::Dereference { expr, field } => format!("{}->{}", expr_to_sql(expr), ident(field)),
        Expr::Subscript { expr, index } => {
            format!("{}[{}]", expr_to_sql(expr), expr_to_sql(index))
        }
        Expr::Function { name, args, .. } => format!("{}({})", name, join(args)),
        Expr::CountStar { .. } => "COUNT(*)".to_string(),
        Expr::Lambda { params, body } => {
            let params = params.iter().map(|p| ident(p)).collect::<Vec<_>>();
            if params.len() == 1 {
                format!("{} => {}", params[0], expr_to_sql(body))
            } else {
                format!("({}) => {}", params.join(", "), expr_to_sql(body))
            }
        }
        Expr::Array(items) => format!("ARRAY[{}]", join(items)),
        Expr::Map(entries) => format!(
            "MAP({})",
            entries
                .iter()
                .map(|(k, v)| format!("{}:={}", expr_to_sql(k), expr_to_sql(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Expr::Struct(fields) => format!(
            "STRUCT({})",
            fields
                .iter()
                .map(|(k, v)| format!("{}:={}", ident(k), expr_to_sql(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Expr::IntervalUnit(u) => u.clone(),
        Expr::StructAll(e) => format!("{}->*", expr_to_sql(e)),
    }
}

fn join(list: &[Expr]) -> String {
    list.iter().map(expr_to_sql).collect::<Vec<_>>().join(", ")
}

pub fn literal_to_sql(l: &Literal) -> String {
    match l {
        Literal::Null => "null".to_string(),
        Literal::Boolean(b) => b.to_string(),
        Literal::Integer(n) | Literal::Decimal(n) | Literal::Double(n) => n.clone(),
        Literal::String(s) => format!("'{}'", s.replace('\'', "''")),
    }
}

/// An identifier as ksqlDB prints it in expressions: bare when it is upper-case and plain,
/// back-quoted otherwise.
pub fn ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}
