//! The lambda functions TRANSFORM, FILTER and REDUCE over arrays and maps.
//!
//! A lambda's body is an ordinary compiled expression over a scope of its parameters followed
//! by the enclosing scope's columns. TRANSFORM and FILTER evaluate the body once over all the
//! elements of the batch (the enclosing columns repeated per element); REDUCE folds element by
//! element, since each step needs the previous one.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, MapArray, NullBufferBuilder, UInt32Array,
};
use datafusion::arrow::buffer::{OffsetBuffer, ScalarBuffer};
use datafusion::arrow::compute::{filter, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;

/// Which lambda function, over which kind of collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LambdaKind {
    TransformArray,
    /// Two bodies: the new key and the new value.
    TransformMap,
    FilterArray,
    FilterMap,
    ReduceArray,
    ReduceMap,
}

/// A call of a lambda function, evaluated over whole batches.
#[derive(Debug)]
pub struct LambdaCall {
    pub kind: LambdaKind,
    /// The array or map.
    pub input: Arc<dyn PhysicalExpr>,
    /// REDUCE's initial state.
    pub init: Option<Arc<dyn PhysicalExpr>>,
    /// The bodies, compiled on (parameters ++ enclosing columns).
    pub bodies: Vec<Arc<dyn PhysicalExpr>>,
    /// The types of the lambda's parameters.
    pub params: Vec<DataType>,
    pub return_type: DataType,
}

// Calls are compared by what they print: the kind, the input and the bodies.
impl PartialEq for LambdaCall {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.return_type == other.return_type
            && self.input.to_string() == other.input.to_string()
            && self.bodies.len() == other.bodies.len()
            && self
                .bodies
                .iter()
                .zip(&other.bodies)
                .all(|(a, b)| a.to_string() == b.to_string())
    }
}

impl Eq for LambdaCall {}

impl Hash for LambdaCall {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.input.to_string().hash(state);
        for b in &self.bodies {
            b.to_string().hash(state);
        }
    }
}

impl fmt::Display for LambdaCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({})", self.kind, self.input)
    }
}

/// A batch of the parameters' values followed by the enclosing columns, repeated for each
/// element (`rows[i]` is the enclosing row of element i).
fn body_batch(
    params: Vec<ArrayRef>,
    param_types: &[DataType],
    outer: &RecordBatch,
    rows: &[u32],
) -> DfResult<RecordBatch> {
    let indices = UInt32Array::from(rows.to_vec());
    let mut fields: Vec<Field> = param_types
        .iter()
        .enumerate()
        .map(|(i, t)| Field::new(format!("p{i}"), t.clone(), true))
        .collect();
    let mut columns = params;
    for (i, column) in outer.columns().iter().enumerate() {
        fields.push(Field::new(
            format!("c{i}"),
            column.data_type().clone(),
            true,
        ));
        columns.push(take(column.as_ref(), &indices, None)?);
    }
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )?)
}

/// For each element of each (non-null) row, the row it belongs to.
fn element_rows(offsets: &[i32], valid: impl Fn(usize) -> bool) -> Vec<u32> {
    let mut rows = Vec::new();
    for row in 0..offsets.len() - 1 {
        if valid(row) {
            for _ in offsets[row]..offsets[row + 1] {
                rows.push(row as u32);
            }
        }
    }
    rows
}

impl LambdaCall {
    fn evaluate_body(&self, body: usize, batch: &RecordBatch) -> DfResult<ArrayRef> {
        self.bodies[body]
            .evaluate(batch)?
            .into_array(batch.num_rows())
    }

    fn transform_array(&self, list: &ListArray, outer: &RecordBatch) -> DfResult<ArrayRef> {
        let (elements, offsets, rows) = flatten_list(list);
        let batch = body_batch(vec![elements], &self.params, outer, &rows)?;
        let values = self.evaluate_body(0, &batch)?;
        let DataType::List(field) = &self.return_type else {
            return exec_err!("TRANSFORM of an array returns an array");
        };
        Ok(Arc::new(ListArray::try_new(
            field.clone(),
            offsets,
            values,
            list.nulls().cloned(),
        )?))
    }

    fn filter_array(&self, list: &ListArray, outer: &RecordBatch) -> DfResult<ArrayRef> {
        let (elements, offsets, rows) = flatten_list(list);
        let batch = body_batch(vec![elements.clone()], &self.params, outer, &rows)?;
        let mask = self.evaluate_body(0, &batch)?;
        let mask = true_only(mask.as_boolean());
        let kept = filter(elements.as_ref(), &mask)?;
        let offsets = filtered_offsets(&offsets, &mask);
        let DataType::List(field) = &self.return_type else {
            return exec_err!("FILTER of an array returns an array");
        };
        Ok(Arc::new(ListArray::try_new(
            field.clone(),
            offsets,
            kept,
            list.nulls().cloned(),
        )?))
    }

    fn map_entries(map: &MapArray) -> (ArrayRef, ArrayRef, OffsetBuffer<i32>, Vec<u32>) {
        let offsets = map.value_offsets();
        let start = offsets[0] as usize;
        let end = offsets[offsets.len() - 1] as usize;
        let keys = crate::types::map::keys(map).slice(start, end - start);
        let values = map.values().slice(start, end - start);
        let rebased: Vec<i32> = offsets.iter().map(|o| o - offsets[0]).collect();
        let rows = element_rows(&rebased, |row| map.is_valid(row));
        // Null maps still own their (empty or ignored) entries in the offsets; keep them.
        let rows = if rows.len() == end - start {
            rows
        } else {
            element_rows(&rebased, |_| true)
        };
        (
            keys,
            values,
            OffsetBuffer::new(ScalarBuffer::from(rebased)),
            rows,
        )
    }

    fn transform_map(&self, map: &MapArray, outer: &RecordBatch) -> DfResult<ArrayRef> {
        let (keys, values, offsets, rows) = Self::map_entries(map);
        let batch = body_batch(vec![keys, values], &self.params, outer, &rows)?;
        let new_keys = self.evaluate_body(0, &batch)?;
        let new_values = self.evaluate_body(1, &batch)?;
        let (new_keys, new_values) = in_java_map_order(&offsets, new_keys, new_values)?;
        let transformed = build_map(&self.return_type, offsets, new_keys, new_values, map)?;
        null_rows_with_duplicate_keys(transformed)
    }

    fn filter_map(&self, map: &MapArray, outer: &RecordBatch) -> DfResult<ArrayRef> {
        let (keys, values, offsets, rows) = Self::map_entries(map);
        let batch = body_batch(
            vec![keys.clone(), values.clone()],
            &self.params,
            outer,
            &rows,
        )?;
        let mask = self.evaluate_body(0, &batch)?;
        let mask = true_only(mask.as_boolean());
        let keys = filter(keys.as_ref(), &mask)?;
        let values = filter(values.as_ref(), &mask)?;
        let offsets = filtered_offsets(&offsets, &mask);
        build_map(&self.return_type, offsets, keys, values, map)
    }

    /// REDUCE: row by row, element by element.
    fn reduce(&self, input: &ArrayRef, outer: &RecordBatch) -> DfResult<ArrayRef> {
        let Some(init) = &self.init else {
            return exec_err!("REDUCE needs an initial state");
        };
        let init = init.evaluate(outer)?.into_array(outer.num_rows())?;
        let mut results = Vec::with_capacity(outer.num_rows());
        for row in 0..outer.num_rows() {
            let mut acc = ScalarValue::try_from_array(&init, row)?;
            if input.is_null(row) || acc.is_null() {
                results.push(acc);
                continue;
            }
            let element_columns: Vec<ArrayRef> = match self.kind {
                LambdaKind::ReduceArray => vec![input.as_list::<i32>().value(row)],
                _ => {
                    let entries = input.as_map().value(row);
                    vec![
                        crate::types::map::entry_keys(&entries).clone(),
                        entries.column(1).clone(),
                    ]
                }
            };
            let count = element_columns.first().map(|c| c.len()).unwrap_or(0);
            for e in 0..count {
                let mut params = vec![acc.to_array()?];
                for column in &element_columns {
                    params.push(column.slice(e, 1));
                }
                let batch = body_batch(params, &self.params, outer, &[row as u32])?;
                let next = self.evaluate_body(0, &batch)?;
                acc = ScalarValue::try_from_array(&next, 0)?;
                if acc.data_type() != self.return_type && !acc.is_null() {
                    acc = acc.cast_to(&self.return_type)?;
                }
            }
            results.push(acc);
        }
        crate::functions::util::to_array(results, &self.return_type)
    }
}

/// A list's elements (rebased to start at 0), its offsets and each element's row.
fn flatten_list(list: &ListArray) -> (ArrayRef, OffsetBuffer<i32>, Vec<u32>) {
    let offsets = list.value_offsets();
    let start = offsets[0] as usize;
    let end = offsets[offsets.len() - 1] as usize;
    let elements = list.values().slice(start, end - start);
    let rebased: Vec<i32> = offsets.iter().map(|o| o - offsets[0]).collect();
    let rows = element_rows(&rebased, |_| true);
    (
        elements,
        OffsetBuffer::new(ScalarBuffer::from(rebased)),
        rows,
    )
}

/// A mask where null counts as false.
fn true_only(mask: &BooleanArray) -> BooleanArray {
    mask.iter().map(|v| Some(v.unwrap_or(false))).collect()
}

/// The offsets after filtering the elements with `mask`.
fn filtered_offsets(offsets: &OffsetBuffer<i32>, mask: &BooleanArray) -> OffsetBuffer<i32> {
    let mut out = Vec::with_capacity(offsets.len());
    out.push(0i32);
    let mut kept = 0i32;
    for w in offsets.windows(2) {
        for e in w[0]..w[1] {
            if mask.value(e as usize) {
                kept += 1;
            }
        }
        out.push(kept);
    }
    OffsetBuffer::new(ScalarBuffer::from(out))
}

/// Each row's entries in the order the Java `HashMap` ksqlDB collects a transformed map into
/// iterates them (by STRING key hash), which later steps observe (REDUCE, MAP_KEYS, the order
/// entries are written in).
fn in_java_map_order(
    offsets: &OffsetBuffer<i32>,
    keys: ArrayRef,
    values: ArrayRef,
) -> DfResult<(ArrayRef, ArrayRef)> {
    let Some(strings) = keys.as_string_opt::<i32>() else {
        return Ok((keys, values));
    };
    let mut order: Vec<u32> = Vec::with_capacity(keys.len());
    for row in offsets.windows(2) {
        let (start, end) = (row[0] as usize, row[1] as usize);
        let row_keys = (start..end).map(|i| strings.value(i));
        order.extend(
            crate::format::json::java_hash_map_order(row_keys, 16)
                .into_iter()
                .map(|i| (start + i) as u32),
        );
    }
    if order.iter().enumerate().all(|(i, &o)| i as u32 == o) {
        return Ok((keys, values));
    }
    let indices = UInt32Array::from(order);
    Ok((
        datafusion::arrow::compute::take(keys.as_ref(), &indices, None)?,
        datafusion::arrow::compute::take(values.as_ref(), &indices, None)?,
    ))
}

/// A transformed map whose new keys collide is null, as ksqlDB's TRANSFORM fails on it (the
/// Java collector refuses duplicate keys) and a failed expression is null.
fn null_rows_with_duplicate_keys(maps: ArrayRef) -> DfResult<ArrayRef> {
    let map = maps.as_map();
    let keys = crate::types::map::keys(map);
    let offsets = map.value_offsets();
    let mut duplicated = Vec::new();
    for row in 0..map.len() {
        let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
        let mut seen = Vec::with_capacity(end - start);
        for i in start..end {
            let key = ScalarValue::try_from_array(keys, i)?;
            if seen.contains(&key) {
                duplicated.push(row);
                break;
            }
            seen.push(key);
        }
    }
    if duplicated.is_empty() {
        return Ok(maps);
    }
    let mut nulls = NullBufferBuilder::new(map.len());
    for row in 0..map.len() {
        nulls.append(map.is_valid(row) && !duplicated.contains(&row));
    }
    let (field, offsets, entries, _, ordered) = map.clone().into_parts();
    Ok(Arc::new(MapArray::try_new(
        field,
        offsets,
        entries,
        nulls.finish(),
        ordered,
    )?))
}

fn build_map(
    return_type: &DataType,
    offsets: OffsetBuffer<i32>,
    keys: ArrayRef,
    values: ArrayRef,
    original: &MapArray,
) -> DfResult<ArrayRef> {
    Ok(Arc::new(crate::types::map::new_map(
        return_type,
        offsets,
        keys,
        values,
        original.nulls().cloned(),
    )?))
}

impl PhysicalExpr for LambdaCall {
    fn data_type(&self, _: &Schema) -> DfResult<DataType> {
        Ok(self.return_type.clone())
    }

    fn nullable(&self, _: &Schema) -> DfResult<bool> {
        Ok(true)
    }

    fn evaluate(&self, batch: &RecordBatch) -> DfResult<ColumnarValue> {
        let input = self.input.evaluate(batch)?.into_array(batch.num_rows())?;
        let out = match self.kind {
            LambdaKind::TransformArray => self.transform_array(input.as_list::<i32>(), batch)?,
            LambdaKind::FilterArray => self.filter_array(input.as_list::<i32>(), batch)?,
            LambdaKind::TransformMap => self.transform_map(input.as_map(), batch)?,
            LambdaKind::FilterMap => self.filter_map(input.as_map(), batch)?,
            LambdaKind::ReduceArray | LambdaKind::ReduceMap => self.reduce(&input, batch)?,
        };
        Ok(ColumnarValue::Array(out))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        let mut children = vec![&self.input];
        if let Some(init) = &self.init {
            children.push(init);
        }
        children
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> DfResult<Arc<dyn PhysicalExpr>> {
        let mut children = children.into_iter();
        let input = children.next().unwrap_or_else(|| self.input.clone());
        let init = self
            .init
            .as_ref()
            .map(|i| children.next().unwrap_or_else(|| i.clone()));
        Ok(Arc::new(LambdaCall {
            kind: self.kind,
            input,
            init,
            bodies: self.bodies.clone(),
            params: self.params.clone(),
            return_type: self.return_type.clone(),
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// An operand of arithmetic inside a lambda body, which must not be null.
///
/// ksqlDB evaluates a lambda body as Java over boxed values, so `x + 5` with a null `x` throws
/// rather than yielding null; the exception makes the whole enclosing expression null (and is
/// logged). Failing the batch here does the same: the caller evaluates the expression row by row
/// and turns the failing rows into nulls.
#[derive(Debug)]
pub struct NonNullOperand {
    pub inner: Arc<dyn PhysicalExpr>,
}

impl PartialEq for NonNullOperand {
    fn eq(&self, other: &Self) -> bool {
        self.inner.to_string() == other.inner.to_string()
    }
}

impl Eq for NonNullOperand {}

impl Hash for NonNullOperand {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.to_string().hash(state);
    }
}

impl fmt::Display for NonNullOperand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

impl PhysicalExpr for NonNullOperand {
    fn data_type(&self, schema: &Schema) -> DfResult<DataType> {
        self.inner.data_type(schema)
    }

    fn nullable(&self, _: &Schema) -> DfResult<bool> {
        Ok(false)
    }

    fn evaluate(&self, batch: &RecordBatch) -> DfResult<ColumnarValue> {
        let value = self.inner.evaluate(batch)?;
        let has_null = match &value {
            ColumnarValue::Array(a) => a.null_count() > 0,
            ColumnarValue::Scalar(s) => s.is_null() && batch.num_rows() > 0,
        };
        if has_null {
            return exec_err!(
                "arithmetic on a null value in a lambda expression ({})",
                self.inner
            );
        }
        Ok(value)
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.inner]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> DfResult<Arc<dyn PhysicalExpr>> {
        Ok(Arc::new(NonNullOperand {
            inner: children.pop().unwrap_or_else(|| self.inner.clone()),
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}
