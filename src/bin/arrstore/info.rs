//! `arrstore info FILE [--json]`: layout, types, encodings and sizes, side by side.

use std::io::Write;

use anyhow::Result;
use arrstore::StoredLayout;

use crate::args::InfoArgs;
use crate::fmt::{bytes, ratio, shape, thousands};

pub fn run(a: &InfoArgs) -> Result<()> {
    if arrstore::store::Store::is_store(&a.input) {
        return store(a);
    }
    if arrstore::dataset::Dataset::is_dataset(&a.input) {
        return dataset(a);
    }
    let file = arrstore::ArrayFile::open(&a.input)?;
    let r = file.sizes();
    let mut out = std::io::stdout().lock();
    if a.json {
        writeln!(out, "{}", r.to_json())?;
        return Ok(());
    }
    let m = file.meta();
    let cells = m.cells()?;
    writeln!(out, "file       {}", a.input.display())?;
    writeln!(
        out,
        "array      {} {} ({:?} order)",
        r.dtype,
        shape(&r.shape),
        r.order
    )?;
    let fill = r.fill.as_deref().unwrap_or("0");
    writeln!(
        out,
        "layout     {}{}, nnz {} of {} cells ({:.2}%)",
        r.layout.name(),
        match r.layout {
            StoredLayout::Sparse => format!(
                " (COO, sorted by {}), fill {fill}",
                r.sorted_by.as_deref().unwrap_or_default().join(", ")
            ),
            StoredLayout::Runs => format!(" ({} runs along the last axis)", thousands(r.runs.unwrap_or(0))),
            StoredLayout::Dense => String::new(),
        },
        thousands(r.nnz),
        thousands(cells),
        100.0 * ratio(r.nnz, cells),
    )?;
    if let Some(e) = r.estimates {
        let runs = e
            .runs_bytes
            .map(|b| format!(", runs {} B", thousands(b)))
            .unwrap_or_default();
        writeln!(
            out,
            "estimates  dense {} B, sparse {} B{runs} (measured on {} cells) -> {}",
            thousands(e.dense_bytes),
            thousands(e.sparse_bytes),
            thousands(e.sampled_cells),
            r.layout.name()
        )?;
    }
    match &r.checksums {
        Some(c) => writeln!(
            out,
            "checksums  {} of {} blocks of {} and of the footer (format {}), checked on every read",
            c.algorithm.to_uppercase().replace("CRC32", "CRC-32"),
            thousands(c.blocks),
            bytes(c.block_bytes),
            r.format_version
        )?,
        None => writeln!(
            out,
            "checksums  none: written before format 1.3 (format {}); its bytes cannot be checked",
            r.format_version
        )?,
    }
    let g = &r.row_groups;
    let pages: Vec<String> = r
        .columns
        .iter()
        .filter_map(|c| {
            let (pages, most) = (c.pages?, c.max_page_rows?);
            Some(format!(
                "{} {} pages of at most {} rows",
                c.name,
                thousands(pages),
                thousands(most)
            ))
        })
        .collect();
    writeln!(
        out,
        "cut into   {} row groups of {} to {} rows{}{}",
        thousands(g.count),
        thousands(g.min_rows),
        thousands(g.max_rows),
        if pages.is_empty() { "" } else { "; " },
        pages.join(", ")
    )?;
    writeln!(out)?;
    writeln!(out, "{:<26}{:>16}{:>12}{:>10}", "size", "bytes", "", "of memory")?;
    let row = |out: &mut std::io::StdoutLock, name: &str, n: u64| {
        writeln!(
            out,
            "{name:<26}{:>16}{:>12}{:>10.4}",
            thousands(n),
            bytes(n),
            ratio(n, r.memory_bytes)
        )
    };
    row(&mut out, "in memory (original)", r.memory_bytes)?;
    row(&mut out, "in memory (narrowed)", r.narrowed_bytes)?;
    row(&mut out, "COO in memory", r.coo_bytes)?;
    row(&mut out, "COO, int64 coordinates", r.coo_int64_bytes)?;
    row(&mut out, "on disk", r.disk_bytes)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<8}{:<7}{:<9}{:>8} {:<9}{:<22}{:<28}{:<8}{:>13}{:>14}",
        "column",
        "role",
        "stored",
        "offset",
        "physical",
        "chosen",
        "encodings",
        "codec",
        "compressed",
        "uncompressed"
    )?;
    for c in &r.columns {
        writeln!(
            out,
            "{:<8}{:<7}{:<9}{:>8} {:<9}{:<22}{:<28}{:<8}{:>13}{:>14}",
            c.name,
            format!("{:?}", c.role).to_lowercase(),
            c.stored_type.name(),
            if c.offset != 0 {
                c.offset.to_string()
            } else {
                "-".into()
            },
            c.physical_type,
            c.chosen_encoding.as_deref().unwrap_or("-"),
            c.encodings.join(","),
            c.codecs.join(","),
            thousands(c.compressed_bytes),
            thousands(c.uncompressed_bytes),
        )?;
    }
    for c in &r.columns {
        if let Some(s) = &c.scale {
            writeln!(out)?;
            writeln!(
                out,
                "scale of '{}': the values are the stored integers (plus the offset) {} {} (format 2.0)",
                c.name,
                match s.op {
                    arrstore::scale::ScaleOp::Divide => "divided by",
                    arrstore::scale::ScaleOp::Multiply => "multiplied by",
                },
                s.by
            )?;
        }
    }
    let dense = r.layout == arrstore::StoredLayout::Dense;
    for c in r
        .columns
        .iter()
        .filter(|c| dense && c.role == arrstore::meta::Role::Value)
    {
        writeln!(out)?;
        match (&c.transform, c.transform_candidates.is_empty()) {
            (Some(t), _) => writeln!(
                out,
                "transform of '{}': {t}; the column stores residuals (format 2.0)",
                c.name
            )?,
            (None, false) => writeln!(out, "transform of '{}': none", c.name)?,
            (None, true) => writeln!(
                out,
                "transform of '{}': none (written portable or before format 1.4, or no transform \
                 measured smaller than the values)",
                c.name
            )?,
        }
        if !c.transform_candidates.is_empty() {
            writeln!(out, "{:<48}{:>14}", "  candidates measured", "sample bytes")?;
            for m in &c.transform_candidates {
                writeln!(out, "  {:<46}{:>14}", m.name, thousands(m.sample_bytes))?;
            }
        }
    }
    Ok(())
}

/// The arrays of a store, one line each, with totals.
fn store(a: &InfoArgs) -> Result<()> {
    let store = arrstore::store::Store::open(&a.input)?;
    let sizes = store.sizes()?;
    let mut out = std::io::stdout().lock();
    if a.json {
        let arrays: Vec<serde_json::Value> = store
            .entries()
            .iter()
            .zip(&sizes)
            .map(|(e, (_, r))| {
                let mut v = serde_json::to_value(r).expect("a size report serializes");
                v["name"] = e.name.clone().into();
                v["file"] = e.file.clone().into();
                v
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "store": a.input, "arrays": arrays }))?
        )?;
        return Ok(());
    }
    writeln!(out, "store      {} ({} arrays)", a.input.display(), sizes.len())?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<20}{:<9}{:<16}{:<8}{:>14}{:>14}{:>14}{:>14}{:>9}",
        "array", "dtype", "shape", "layout", "nnz", "memory", "narrowed", "on disk", "ratio"
    )?;
    let (mut memory, mut narrowed, mut disk) = (0u64, 0u64, 0u64);
    for (name, r) in &sizes {
        memory = memory.saturating_add(r.memory_bytes);
        narrowed = narrowed.saturating_add(r.narrowed_bytes);
        disk = disk.saturating_add(r.disk_bytes);
        writeln!(
            out,
            "{:<20}{:<9}{:<16}{:<8}{:>14}{:>14}{:>14}{:>14}{:>9.4}",
            name,
            r.dtype.name(),
            shape(&r.shape),
            r.layout.name(),
            thousands(r.nnz),
            bytes(r.memory_bytes),
            bytes(r.narrowed_bytes),
            bytes(r.disk_bytes),
            ratio(r.disk_bytes, r.memory_bytes)
        )?;
    }
    writeln!(
        out,
        "{:<67}{:>14}{:>14}{:>14}{:>9.4}",
        "total",
        bytes(memory),
        bytes(narrowed),
        bytes(disk),
        ratio(disk, memory)
    )?;
    Ok(())
}

/// A dataset: its shape and parts, each with its stored type and bytes (`--json`: the size
/// report of every part).
fn dataset(a: &InfoArgs) -> Result<()> {
    let d = arrstore::dataset::Dataset::open(&a.input)?;
    let mut reports = Vec::with_capacity(d.parts().len());
    for i in 0..d.parts().len() {
        reports.push(d.part(i)?.sizes());
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let parts: Vec<serde_json::Value> = d
            .parts()
            .iter()
            .zip(&reports)
            .map(|(p, r)| serde_json::json!({"file": p.file, "rows": p.rows, "sizes": r}))
            .collect();
        let v = serde_json::json!({"dataset": a.input.display().to_string(), "dtype": d.dtype().name(),
            "shape": d.shape(), "parts": parts});
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(());
    }
    writeln!(out, "dataset    {}", a.input.display())?;
    writeln!(
        out,
        "array      {} {} in {} parts along axis 0",
        d.dtype(),
        shape(&d.shape()),
        d.parts().len()
    )?;
    let (memory, disk): (u64, u64) = reports
        .iter()
        .fold((0, 0), |(m, k), r| (m + r.memory_bytes, k + r.disk_bytes));
    writeln!(
        out,
        "size       {} in memory, {} on disk",
        thousands(memory),
        thousands(disk)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<22}{:>14} {:<10}{:<8}{:>14}",
        "part", "rows", "stored", "layout", "on disk"
    )?;
    for (p, r) in d.parts().iter().zip(&reports) {
        let stored = r
            .columns
            .iter()
            .find(|c| c.role == arrstore::meta::Role::Value)
            .map_or("-", |c| c.stored_type.name());
        writeln!(
            out,
            "{:<22}{:>14} {:<10}{:<8}{:>14}",
            p.file,
            thousands(p.rows),
            stored,
            r.layout.name(),
            thousands(r.disk_bytes)
        )?;
    }
    Ok(())
}
