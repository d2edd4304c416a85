//! JSON_SR: JSON values in Confluent's wire format (a magic byte and a schema id before the
//! JSON text), with JSON Schemas in the registry.
//!
//! The text reads and writes as JSON does; the schema only names the columns a statement
//! leaves out ([`infer_columns`]) and is registered for declared columns and query results in
//! the shape Kafka Connect's JSON Schema converter gives them ([`schema_json`]).

use serde_json::{Map, Value as Json, json};

use super::avro::{frame, unframe};
use super::{Result, json as json_format};
use crate::registry::{SchemaRegistry, SchemaType};
use crate::types::{Column, ColumnKind, SqlType, StructField};
use datafusion::scalar::ScalarValue;

/// Decodes a framed JSON record into one value per column.
pub fn deserialize(
    columns: &[Column],
    wrapped: bool,
    bytes: &[u8],
) -> Result<Option<Vec<ScalarValue>>> {
    let (_, text) = unframe(bytes)?;
    json_format::deserialize_row(columns, wrapped, text)
}

/// Encodes one value per column as JSON framed with the schema id `id`.
pub fn serialize(
    id: u32,
    columns: &[Column],
    wrapped: bool,
    values: &[ScalarValue],
    exact_scale: &[bool],
) -> Result<Option<Vec<u8>>> {
    Ok(
        json_format::serialize_with_scales(columns, wrapped, values, exact_scale)?
            .map(|text| frame(id, &text)),
    )
}

/// Registers the JSON Schema of these columns under `subject`, returning its id.
pub fn register(
    registry: &SchemaRegistry,
    subject: &str,
    columns: &[Column],
    wrapped: bool,
) -> u32 {
    let text = schema_json(columns, wrapped).to_string();
    registry.register(subject, SchemaType::Json, &text)
}

/// The JSON Schema of these columns: an object with a property per column, or, for a single
/// unwrapped column, that column's type; every type may be null.
pub fn schema_json(columns: &[Column], wrapped: bool) -> Json {
    if columns.len() == 1 && !wrapped {
        return optional(type_json(&columns[0].ty));
    }
    object_json(columns.iter().map(|c| (c.name.as_str(), &c.ty)))
}

fn object_json<'a>(fields: impl Iterator<Item = (&'a str, &'a SqlType)>) -> Json {
    let mut properties = Map::new();
    for (i, (name, ty)) in fields.enumerate() {
        let mut property = optional(type_json(ty));
        if let Json::Object(p) = &mut property {
            p.insert("connect.index".into(), json!(i));
        }
        properties.insert(name.to_string(), property);
    }
    json!({"type": "object", "properties": properties})
}

fn optional(ty: Json) -> Json {
    json!({"oneOf": [{"type": "null"}, ty]})
}

fn type_json(ty: &SqlType) -> Json {
    match ty {
        SqlType::Boolean => json!({"type": "boolean"}),
        SqlType::Int => json!({"type": "integer", "connect.type": "int32"}),
        SqlType::Bigint => json!({"type": "integer", "connect.type": "int64"}),
        SqlType::Double => json!({"type": "number", "connect.type": "float64"}),
        SqlType::String => json!({"type": "string"}),
        SqlType::Bytes => json!({"type": "string", "connect.type": "bytes"}),
        SqlType::Decimal { precision, scale } => json!({
            "type": "number",
            "title": "org.apache.kafka.connect.data.Decimal",
            "connect.version": 1,
            "connect.type": "bytes",
            "connect.parameters": {
                "scale": scale.to_string(),
                "connect.decimal.precision": precision.to_string(),
            },
        }),
        SqlType::Date => json!({
            "type": "integer",
            "title": "org.apache.kafka.connect.data.Date",
            "connect.version": 1,
            "connect.type": "int32",
        }),
        SqlType::Time => json!({
            "type": "integer",
            "title": "org.apache.kafka.connect.data.Time",
            "connect.version": 1,
            "connect.type": "int32",
        }),
        SqlType::Timestamp => json!({
            "type": "integer",
            "title": "org.apache.kafka.connect.data.Timestamp",
            "connect.version": 1,
            "connect.type": "int64",
        }),
        SqlType::Array(item) => json!({"type": "array", "items": optional(type_json(item))}),
        SqlType::Map(_, value) => json!({
            "type": "object",
            "additionalProperties": optional(type_json(value)),
            "connect.type": "map",
        }),
        SqlType::Struct(fields) => object_json(fields.iter().map(|f| (f.name.as_str(), &f.ty))),
    }
}

/// The columns of a registered JSON Schema: an object's properties for values, or a single
/// column `single_name` (keys, and values of any other type). Names are upper-cased when the
/// schema is the topic's latest and kept when a statement names it by id.
pub fn infer_columns(
    schema: &Json,
    kind: ColumnKind,
    single_name: &str,
    upper_case: bool,
) -> std::result::Result<Vec<Column>, String> {
    let column = |name: String, ty: SqlType| Column {
        name,
        ty,
        kind,
        header_key: None,
    };
    let schema = non_null(schema);
    match (kind, properties(schema)) {
        (ColumnKind::Value, Some(properties)) => properties
            .into_iter()
            .map(|(name, property)| {
                Ok(column(
                    field_name(name, upper_case),
                    sql_type(property, upper_case)?,
                ))
            })
            .collect(),
        _ => Ok(vec![column(
            single_name.to_string(),
            sql_type(schema, upper_case)?,
        )]),
    }
}

fn field_name(name: &str, upper_case: bool) -> String {
    if upper_case {
        name.to_uppercase()
    } else {
        name.to_string()
    }
}

/// The schema without its `oneOf` with null.
fn non_null(schema: &Json) -> &Json {
    match schema.get("oneOf").and_then(Json::as_array) {
        Some(options) => {
            let mut rest = options
                .iter()
                .filter(|o| o.get("type").and_then(Json::as_str) != Some("null"));
            match (rest.next(), rest.next()) {
                (Some(only), None) => non_null(only),
                _ => schema,
            }
        }
        None => schema,
    }
}

/// An object schema's properties, in `connect.index` order (then as written).
fn properties(schema: &Json) -> Option<Vec<(&str, &Json)>> {
    let properties = schema.get("properties")?.as_object()?;
    let mut listed: Vec<(&str, &Json)> = properties.iter().map(|(k, v)| (k.as_str(), v)).collect();
    listed.sort_by_key(|(_, v)| {
        v.get("connect.index")
            .and_then(Json::as_u64)
            .unwrap_or(u64::MAX)
    });
    Some(listed)
}

fn sql_type(schema: &Json, upper_case: bool) -> std::result::Result<SqlType, String> {
    let schema = non_null(schema);
    let text = |name: &str| schema.get(name).and_then(Json::as_str);
    let connect_type = text("connect.type");
    let title = text("title").unwrap_or("");
    Ok(match text("type") {
        Some("boolean") => SqlType::Boolean,
        Some("integer") => match (title, connect_type) {
            ("org.apache.kafka.connect.data.Date", _) => SqlType::Date,
            ("org.apache.kafka.connect.data.Time", _) => SqlType::Time,
            ("org.apache.kafka.connect.data.Timestamp", _) => SqlType::Timestamp,
            (_, Some("int8" | "int16" | "int32")) => SqlType::Int,
            _ => SqlType::Bigint,
        },
        Some("number") if title == "org.apache.kafka.connect.data.Decimal" => {
            let parameter = |name: &str| {
                schema
                    .get("connect.parameters")
                    .and_then(|p| p.get(name))
                    .and_then(Json::as_str)
                    .and_then(|v| v.parse::<u8>().ok())
            };
            SqlType::checked_decimal(
                parameter("connect.decimal.precision").unwrap_or(64),
                parameter("scale").unwrap_or(0),
            )?
        }
        Some("number") => SqlType::Double,
        Some("string") if connect_type == Some("bytes") => SqlType::Bytes,
        Some("string") => SqlType::String,
        Some("array") => SqlType::Array(Box::new(sql_type(
            schema.get("items").unwrap_or(&Json::Null),
            upper_case,
        )?)),
        Some("object") => match (properties(schema), schema.get("additionalProperties")) {
            (Some(properties), _) => SqlType::Struct(
                properties
                    .into_iter()
                    .map(|(name, property)| {
                        Ok(StructField {
                            name: field_name(name, upper_case),
                            ty: sql_type(property, upper_case)?,
                        })
                    })
                    .collect::<std::result::Result<_, String>>()?,
            ),
            (None, Some(values)) if values.is_object() => SqlType::Map(
                Box::new(SqlType::String),
                Box::new(sql_type(values, upper_case)?),
            ),
            _ => SqlType::Struct(Vec::new()),
        },
        _ => return Err(format!("Unsupported JSON schema: {schema}")),
    })
}

/// A JSON Schema's text, checked to be JSON.
pub fn parse_schema(text: &str) -> std::result::Result<Json, String> {
    serde_json::from_str(text).map_err(|e| format!("Invalid JSON schema: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_of_columns_infer_back_to_them() {
        let columns = vec![
            Column::value("I", SqlType::Int),
            Column::value(
                "D",
                SqlType::Decimal {
                    precision: 4,
                    scale: 2,
                },
            ),
            Column::value(
                "S",
                SqlType::Struct(vec![StructField {
                    name: "F".to_string(),
                    ty: SqlType::Array(Box::new(SqlType::Bigint)),
                }]),
            ),
            Column::value(
                "M",
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bytes)),
            ),
        ];
        let schema = schema_json(&columns, true);
        let inferred = infer_columns(&schema, ColumnKind::Value, "ROWVAL", true).unwrap();
        assert_eq!(inferred, columns);
        let key = infer_columns(&schema, ColumnKind::Key, "ROWKEY", true).unwrap();
        assert_eq!(key.len(), 1);
        assert!(matches!(key[0].ty, SqlType::Struct(_)));
    }

    #[test]
    fn records_are_framed_json() {
        let columns = vec![Column::value("V", SqlType::Int)];
        let bytes = serialize(7, &columns, true, &[ScalarValue::Int32(Some(3))], &[])
            .unwrap()
            .unwrap();
        assert_eq!(bytes, b"\0\0\0\0\x07{\"V\":3}");
        let row = deserialize(&columns, true, &bytes).unwrap().unwrap();
        assert_eq!(row, vec![ScalarValue::Int32(Some(3))]);
        assert!(deserialize(&columns, true, b"{\"V\":3}").is_err());
    }
}
