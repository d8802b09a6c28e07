//! The arrstore side of `benches/peers/sql_vs_duckdb.py`: stores a COO array given as three `.npy`
//! vectors, and times SQL queries over a stored array with the library (in process, like the
//! DuckDB side), printing one JSON line per query.
//!
//! ```sh
//! sql_bench write ROWS.npy COLS.npy VALUES.npy NROWS NCOLS OUT.parquet
//! sql_bench time FILE REPS QUERY [QUERY ...]      # the table is named `t`
//! ARRSTORE_BENCH_SETTINGS='datafusion.execution.target_partitions=1' sql_bench time ...
//! ```

use std::time::Instant;

use arrstore::sql::ArraySession;
use arrstore::{Coo, WriteOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("write") if args.len() == 7 => write(&args[1..]),
        Some("time") if args.len() >= 4 => time(&args[1], args[2].parse()?, &args[3..]),
        _ => Err("usage: sql_bench write ROWS.npy COLS.npy VALUES.npy NROWS NCOLS OUT.parquet | time FILE REPS QUERY...".into()),
    }
}

fn ints(path: &str) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    let a = arrstore::npy::read_npy(path)?
        .into_typed::<i64>()
        .map_err(|_| format!("{path}: expected int64"))?;
    Ok(a.iter().map(|&x| u64::try_from(x)).collect::<Result<_, _>>()?)
}

fn write(a: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let (rows, cols) = (ints(&a[0])?, ints(&a[1])?);
    let values = arrstore::npy::read_npy(&a[2])?
        .into_typed::<f64>()
        .map_err(|_| "values: expected float64")?;
    let shape = vec![a[3].parse()?, a[4].parse()?];
    let coo = Coo::try_new(shape, vec![rows, cols], values.iter().copied().collect(), 0.0)?;
    let s = arrstore::write_coo(&a[5], &coo, &WriteOptions::default().with_overwrite(true))?;
    println!("{}: nnz {}, {} bytes", a[5], coo.nnz(), s.file_bytes);
    Ok(())
}

fn time(file: &str, reps: usize, queries: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut session = ArraySession::new();
    session.register_array("t", file)?;
    // Extra settings to try, `key=value;key=value` (none by default).
    for kv in std::env::var("ARRSTORE_BENCH_SETTINGS")
        .unwrap_or_default()
        .split(';')
    {
        if let Some((k, v)) = kv.split_once('=') {
            runtime.block_on(session.query(&format!("SET {k} = {v}")))?;
        }
    }
    for q in queries {
        let mut times = Vec::with_capacity(reps);
        let mut rows = 0;
        for _ in 0..reps {
            let start = Instant::now();
            let batches = runtime.block_on(session.query(q))?;
            times.push(start.elapsed().as_secs_f64());
            rows = batches.iter().map(|b| b.num_rows()).sum::<usize>();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{}",
            serde_json::json!({"query": q, "best": times[0], "median": times[times.len() / 2], "rows": rows})
        );
    }
    Ok(())
}
