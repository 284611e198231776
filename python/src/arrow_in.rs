//! What an input column's Arrow type becomes before polars reads it. polars as built here
//! reads text, integers, floats and dates; the types databases and pandas also hand out
//! are mapped, with the rule stated (docs/python.md), and the rest refused naming the
//! table, the column and the type, never with a panic:
//! - `decimal32/64/128(p, s)` -> float64, the nearest double to the decimal's value
//!   (exact division of the unscaled integer by 10^s: every value of up to 15
//!   significant digits comes back as written);
//! - `timestamp[unit, tz]` and `date64` -> date32, the UTC calendar day of the instant;
//! - `dictionary<..., string>` (pandas' categoricals) -> its values as text;
//! - `bool` refused: the contract's flags and labels are words or 0/1, and a boolean
//!   column is more often a mistaken column than a flag.

use polars_arrow::array::{
    Array, DictionaryArray, DictionaryKey, MutableBinaryViewArray, PrimitiveArray, Utf8Array,
    Utf8ViewArray,
};
use polars_arrow::datatypes::{ArrowDataType, TimeUnit};

/// Why a column is refused: the message's end, after `table ..., column ...: `.
pub type Refusal = String;

/// Who made a table: the user's tables are held to the input rules; the engine's own
/// (training rows between passes) come back with the types they left with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Made {
    ByUser,
    ByEngine,
}

/// The Arrow type as pyarrow names it (for messages).
pub fn type_name(t: &ArrowDataType) -> String {
    use ArrowDataType as T;
    match t {
        T::Boolean => "bool".into(),
        T::Decimal(p, s) => format!("decimal128({p}, {s})"),
        T::Decimal32(p, s) => format!("decimal32({p}, {s})"),
        T::Decimal64(p, s) => format!("decimal64({p}, {s})"),
        T::Decimal256(p, s) => format!("decimal256({p}, {s})"),
        T::Timestamp(unit, tz) => format!(
            "timestamp[{}{}]",
            unit_name(*unit),
            tz.as_ref().map(|z| format!(", tz={z}")).unwrap_or_default()
        ),
        T::Binary | T::LargeBinary | T::BinaryView => "binary".into(),
        T::List(_) | T::LargeList(_) | T::FixedSizeList(..) => "list".into(),
        T::Struct(_) => "struct".into(),
        T::Float16 => "halffloat".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    }
}

/// A column's chunks as a type polars reads, or why the column is refused.
pub fn readable(
    chunks: Vec<Box<dyn Array>>,
    t: &ArrowDataType,
    made: Made,
) -> Result<Vec<Box<dyn Array>>, Refusal> {
    use ArrowDataType as T;
    match t {
        T::Boolean if made == Made::ByEngine => Ok(chunks),
        T::Null
        | T::Int8
        | T::Int16
        | T::Int32
        | T::Int64
        | T::UInt8
        | T::UInt16
        | T::UInt32
        | T::UInt64
        | T::Float32
        | T::Float64
        | T::Utf8
        | T::LargeUtf8
        | T::Utf8View
        | T::Date32 => Ok(chunks),
        T::Decimal(_, s) | T::Decimal32(_, s) | T::Decimal64(_, s) => chunks
            .iter()
            .map(|c| decimal_to_f64(c.as_ref(), *s))
            .collect(),
        T::Timestamp(unit, _) => {
            let per_day = match unit {
                TimeUnit::Second => 86_400,
                TimeUnit::Millisecond => 86_400_000,
                TimeUnit::Microsecond => 86_400_000_000,
                TimeUnit::Nanosecond => 86_400_000_000_000,
            };
            chunks
                .iter()
                .map(|c| instants_to_days(c.as_ref(), per_day))
                .collect()
        }
        T::Date64 => chunks
            .iter()
            .map(|c| instants_to_days(c.as_ref(), 86_400_000))
            .collect(),
        T::Dictionary(_, values, _) if matches!(**values, T::Utf8 | T::LargeUtf8 | T::Utf8View) => {
            chunks.iter().map(|c| dictionary_text(c.as_ref())).collect()
        }
        T::Boolean => Err(
            "bool columns are not accepted: the contract's flags and labels are \
             words (yes/no) or numbers (1/0); cast the column to one of those"
                .into(),
        ),
        T::Decimal256(..) => Err(format!(
            "{} is not accepted (wider than any amount of money); cast it to decimal128 or \
             float64",
            type_name(t)
        )),
        other => Err(format!(
            "{} is not accepted; use text, numbers, decimals or dates",
            type_name(other)
        )),
    }
}

/// Decimal values as float64: the unscaled integer divided by 10^scale, both exact
/// doubles up to 2^53, so the one rounding is the division's (the nearest double).
fn decimal_to_f64(chunk: &dyn Array, scale: usize) -> Result<Box<dyn Array>, Refusal> {
    let scale = i32::try_from(scale).map_err(|_| format!("decimal scale {scale} is too large"))?;
    let divisor = 10f64.powi(scale);
    let as_f64 = |v: f64| v / divisor;
    let any = chunk.as_any();
    let values: PrimitiveArray<f64> = if let Some(a) = any.downcast_ref::<PrimitiveArray<i128>>() {
        a.iter().map(|v| v.map(|&v| as_f64(v as f64))).collect()
    } else if let Some(a) = any.downcast_ref::<PrimitiveArray<i64>>() {
        a.iter().map(|v| v.map(|&v| as_f64(v as f64))).collect()
    } else if let Some(a) = any.downcast_ref::<PrimitiveArray<i32>>() {
        a.iter().map(|v| v.map(|&v| as_f64(f64::from(v)))).collect()
    } else {
        return Err(format!(
            "{} values could not be read",
            type_name(chunk.dtype())
        ));
    };
    Ok(values.boxed())
}

/// Instants (a count of units since 1970-01-01 UTC) as date32 days, rounding down.
fn instants_to_days(chunk: &dyn Array, per_day: i64) -> Result<Box<dyn Array>, Refusal> {
    let a = chunk
        .as_any()
        .downcast_ref::<PrimitiveArray<i64>>()
        .ok_or_else(|| format!("{} values could not be read", type_name(chunk.dtype())))?;
    let days: PrimitiveArray<i32> = a
        .iter()
        .map(|v| v.and_then(|&v| i32::try_from(v.div_euclid(per_day)).ok()))
        .collect();
    Ok(days.to(ArrowDataType::Date32).boxed())
}

/// A dictionary of text (pandas' categoricals) as its values, row by row.
fn dictionary_text(chunk: &dyn Array) -> Result<Box<dyn Array>, Refusal> {
    keyed_text::<i8>(chunk)
        .or_else(|| keyed_text::<i16>(chunk))
        .or_else(|| keyed_text::<i32>(chunk))
        .or_else(|| keyed_text::<i64>(chunk))
        .or_else(|| keyed_text::<u8>(chunk))
        .or_else(|| keyed_text::<u16>(chunk))
        .or_else(|| keyed_text::<u32>(chunk))
        .or_else(|| keyed_text::<u64>(chunk))
        .unwrap_or_else(|| {
            Err(format!(
                "{} values could not be read",
                type_name(chunk.dtype())
            ))
        })
}

/// `dictionary_text` for keys of type `K`; `None` when the keys are of another type.
fn keyed_text<'a, K: DictionaryKey>(
    chunk: &'a dyn Array,
) -> Option<Result<Box<dyn Array>, Refusal>> {
    let dict = chunk.as_any().downcast_ref::<DictionaryArray<K>>()?;
    let values = dict.values().as_any();
    let text: Box<dyn Fn(usize) -> &'a str + 'a> =
        if let Some(v) = values.downcast_ref::<Utf8Array<i32>>() {
            Box::new(move |i| v.value(i))
        } else if let Some(v) = values.downcast_ref::<Utf8Array<i64>>() {
            Box::new(move |i| v.value(i))
        } else if let Some(v) = values.downcast_ref::<Utf8ViewArray>() {
            Box::new(move |i| v.value(i))
        } else {
            return Some(Err("its categories are not text".into()));
        };
    let n = dict.values().len();
    let mut out = MutableBinaryViewArray::<str>::with_capacity(dict.len());
    for key in dict.keys_iter() {
        match key {
            Some(k) if k >= n => return Some(Err(format!("category {k} does not exist"))),
            Some(k) if dict.values().is_valid(k) => out.push_value(text(k)),
            _ => out.push_null(),
        }
    }
    Some(Ok(out.freeze().boxed()))
}
