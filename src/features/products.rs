//! Product holdings and acquisitions per client (relational mode): which products each
//! client holds at a date and acquires within the horizon after it, as bit masks over
//! the book's most frequent products. The next-best product models (`products`) are
//! fitted on them.

use crate::date::Date;
use crate::ingest::{Book, MISSING};
use crate::schema::Source;
use std::collections::BTreeMap;

/// At most this many products (the most frequent) get a model: holdings are bit masks.
const MAX_PRODUCTS: usize = 64;

/// Which products each client holds at a date and acquires after it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductFacts {
    pub names: Vec<String>,
    /// Per client: bit k set when product k is in force at the date.
    pub held: Vec<u64>,
    /// Per client: bit k set when a policy of product k starts within the window.
    pub acquired: Vec<u64>,
}

/// Holdings at `date` and acquisitions in `(date, until]` of the book's products (the
/// given `names`, else every product of the book, most frequent first, at most 64).
/// `None` without a policies table or a product column.
pub fn product_facts(
    book: &Book,
    date: Date,
    until: Date,
    names: Option<&[String]>,
) -> Option<ProductFacts> {
    let t = book.table(Source::Policies)?;
    let product = t.coded("product")?;
    let start = t.dates("start_date")?;
    let end = t.dates("end_date");
    let names: Vec<String> = match names {
        Some(n) => n.to_vec(),
        None => ranked(&product_counts(book)),
    };
    // Bit of each level of the column, if it is one of `names`.
    let bit: Vec<Option<u64>> = product
        .levels
        .iter()
        .map(|l| names.iter().position(|n| n == l).map(|k| 1u64 << k))
        .collect();
    let n = book.n_clients();
    let (mut held, mut acquired) = (vec![0u64; n], vec![0u64; n]);
    for r in 0..t.len() {
        let (Some(&ci), Some(Some(s))) = (t.client.get(r), start.get(r)) else {
            continue;
        };
        let Some(b) = product
            .codes
            .get(r)
            .and_then(|&code| bit.get(code as usize).copied().flatten())
        else {
            continue;
        };
        if ci == MISSING {
            continue;
        }
        let e = end.and_then(|e| e.get(r).copied().flatten());
        let ci = ci as usize;
        if *s <= date && e.is_none_or(|e| e > date) {
            held[ci] |= b;
        } else if *s > date && *s <= until {
            acquired[ci] |= b;
        }
    }
    Some(ProductFacts {
        names,
        held,
        acquired,
    })
}

/// Policies per product in the book (parts of a book add up to the whole's).
pub fn product_counts(book: &Book) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let Some(product) = book
        .table(Source::Policies)
        .and_then(|t| t.coded("product"))
    else {
        return out;
    };
    let mut counts = vec![0usize; product.levels.len()];
    for &code in &product.codes {
        if let Some(c) = counts.get_mut(code as usize) {
            *c += 1;
        }
    }
    for (level, c) in product.levels.iter().zip(counts) {
        if c > 0 {
            *out.entry(level.to_string()).or_default() += c;
        }
    }
    out
}

/// The products that get a model, most policies first (ties by name), at most 64.
pub fn ranked(counts: &BTreeMap<String, usize>) -> Vec<String> {
    let mut levels: Vec<(&String, &usize)> = counts.iter().collect();
    levels.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    levels
        .into_iter()
        .take(MAX_PRODUCTS)
        .map(|(l, _)| l.clone())
        .collect()
}
