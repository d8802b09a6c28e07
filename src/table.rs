//! The Arrow-to-Parquet table writer every layout writes through: arrstore's encoding per
//! column, column chunks encoded on worker threads (one per core, several row groups at a
//! time) and appended in order, so the file is the one a single-threaded writer would
//! produce; the checksums of the bytes as they are written. It knows nothing of arrays.

use std::io::Write;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriterOptions,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::writer::SerializedFileWriter;

use crate::encode::{self, ColumnEncoding};
use crate::error::{Error, Result};
use crate::integrity::ChecksumWriter;
use crate::meta::{ArrayMeta, ColumnMeta, Role};
use crate::options::WriteOptions;

/// What a write produced: the file's self-description and its size.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSummary {
    /// The metadata written to the file.
    pub meta: ArrayMeta,
    /// Bytes written (the whole Parquet file).
    pub file_bytes: u64,
}

/// An Arrow-to-Parquet writer with arrstore's per-column encodings that encodes column chunks
/// on worker threads (one per core), several row groups at a time, and appends them to the
/// file in order: the file is the one a single-threaded writer would produce.
pub(crate) struct TableWriter<W: Write + Send> {
    file: SerializedFileWriter<ChecksumWriter<W>>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    pub(crate) rows_per_group: usize,
}

/// The fewest column chunks a table is cut into when it holds at least 2 x
/// [`MIN_SPLIT_ROW_GROUP_BYTES`] of stored values, whatever the row-group size asked for: a
/// one-column (dense) table that would fit one row group is cut into two, so that two cores
/// encode it (a table of several columns already has a chunk per column). Pages, not row
/// groups, bound the codec's context, so the file is hardly larger.
pub const MIN_COLUMN_CHUNKS: usize = 2;

/// The least stored bytes in a row group cut to reach [`MIN_COLUMN_CHUNKS`]: a smaller table
/// encodes in a few milliseconds on one core.
pub const MIN_SPLIT_ROW_GROUP_BYTES: usize = 2 << 20;

/// Rows per row group for a table of `rows` rows of `row_bytes` stored bytes in `columns`
/// columns, at most `max`.
pub(crate) fn group_rows(max: usize, rows: usize, columns: usize, row_bytes: usize) -> usize {
    let groups = MIN_COLUMN_CHUNKS.div_ceil(columns.max(1));
    let least = MIN_SPLIT_ROW_GROUP_BYTES.div_ceil(row_bytes.max(1));
    max.min(rows.div_ceil(groups).max(least)).max(1)
}

/// A column chunk to encode: its sequence number, its writer, its column and its row group.
type Job<S> = (usize, ArrowColumnWriter, usize, Arc<S>);

impl<W: Write + Send> TableWriter<W> {
    /// A writer of a table of `rows` rows.
    pub(crate) fn new(
        writer: W,
        columns: Vec<(ColumnMeta, DataType, ColumnEncoding, Compression)>,
        rows: usize,
        opts: &WriteOptions,
    ) -> Result<Self> {
        let mut props = encode::base_properties(opts.compression(), opts.row_group_size());
        if columns.iter().any(|c| c.0.role == Role::Index) {
            props = props.set_data_page_row_count_limit(encode::SPARSE_DATA_PAGE_ROW_COUNT_LIMIT);
        }
        let row_bytes = columns.iter().map(|c| c.0.stored_type.size()).sum();
        let rows_per_group = group_rows(opts.row_group_size(), rows, columns.len(), row_bytes);
        let mut fields = Vec::new();
        for (meta, data_type, enc, codec) in columns {
            props = enc.configure(props, &meta.name, codec);
            fields.push(Field::new(meta.name, data_type, false));
        }
        let schema = Arc::new(Schema::new(fields));
        // The Parquet logical types already say uint8..uint64; the embedded Arrow schema is
        // needed only to give readers a dictionary-typed column back as one, when asked for.
        let dictionary = schema
            .fields()
            .iter()
            .any(|f| matches!(f.data_type(), DataType::Dictionary(..)));
        let options = ArrowWriterOptions::new()
            .with_properties(props.build())
            .with_skip_arrow_metadata(!(dictionary && opts.arrow_dictionary()));
        let inner = ArrowWriter::try_new_with_options(ChecksumWriter::new(writer), schema.clone(), options)?;
        let (file, factory) = inner.into_serialized_writer()?;
        Ok(TableWriter {
            file,
            factory,
            schema,
            rows_per_group,
        })
    }

    /// Writes a table of `rows` rows in row groups of `rows_per_group`, encoding column chunks
    /// on one worker per core: `column(c, rows)` gives column `c`'s values for a range of rows
    /// and is called on the workers, so producing the values (reading and narrowing a dense
    /// array's cells) is as parallel as encoding them.
    pub(crate) fn write_groups(
        &mut self,
        rows: usize,
        column: impl Fn(usize, Range<usize>) -> Result<ArrayRef> + Sync,
    ) -> Result<()> {
        let step = self.rows_per_group.max(1);
        let groups = (0..rows)
            .step_by(step)
            .map(|start| Ok(start..(start + step).min(rows)));
        self.write_groups_of(groups, |r: &Range<usize>| r.len(), |c, r| column(c, r.clone()))?;
        Ok(())
    }

    /// Writes the row groups `groups` in turn (each of `rows_of(group)` rows; every one but the
    /// last should hold `rows_per_group`), encoding column chunks on one worker per core:
    /// `column(c, group)` gives column `c`'s values of a group and is called on the workers.
    /// The groups are made on the caller's thread while the workers encode the ones before, at
    /// most one more than there are workers at a time. Returns the rows written.
    pub(crate) fn write_groups_of<S: Send + Sync>(
        &mut self,
        groups: impl Iterator<Item = Result<S>>,
        rows_of: impl Fn(&S) -> usize,
        column: impl Fn(usize, &S) -> Result<ArrayRef> + Sync,
    ) -> Result<usize> {
        let threads = crate::par::threads();
        let TableWriter {
            file,
            factory,
            schema,
            ..
        } = self;
        let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Job<S>>(threads);
        let job_rx = std::sync::Mutex::new(job_rx);
        std::thread::scope(|s| -> Result<usize> {
            let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, Result<ArrowColumnChunk>)>();
            for _ in 0..threads {
                let (job_rx, done_tx, column, schema) = (&job_rx, done_tx.clone(), &column, &*schema);
                s.spawn(move || loop {
                    let job = job_rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((seq, mut writer, c, group)) = job else {
                        return;
                    };
                    let chunk = column(c, &group).and_then(|values| {
                        for leaf in compute_leaves(schema.field(c), &values)? {
                            writer.write(&leaf)?;
                        }
                        Ok(writer.close()?)
                    });
                    if done_tx.send((seq, chunk)).is_err() {
                        return;
                    }
                });
            }
            drop(done_tx);
            let mut pipe = Pipeline {
                file,
                job_tx: Some(job_tx),
                done_rx,
                finished: std::collections::BTreeMap::new(),
                groups: std::collections::VecDeque::new(),
                sent: 0,
                appended: 0,
                max_groups: threads + 1,
            };
            let mut rows = 0;
            for (row_group, group) in groups.enumerate() {
                let group = group?;
                rows += rows_of(&group);
                let writers = factory.create_column_writers(row_group)?;
                pipe.send_group(writers, Arc::new(group))?;
            }
            pipe.drain()?;
            Ok(rows)
        })
    }

    /// Closes the file: the self-description `meta`, with the checksums of every byte before
    /// it, goes into the footer, and the footer's own checksum into it (see
    /// [`crate::integrity`]).
    pub(crate) fn finish(mut self, mut meta: ArrayMeta) -> Result<WriteSummary> {
        self.file.flush()?;
        let checksums = self.file.inner_mut().close_data();
        let written = self.file.bytes_written() as u64; // usize fits in u64
        if checksums.data_bytes != written {
            return Err(Error::Io(std::io::Error::other(format!(
                "the checksums cover {} bytes, the writer wrote {written}",
                checksums.data_bytes
            ))));
        }
        meta.checksums = Some(checksums);
        meta.format_version = meta.lowest_format_version().into();
        self.file.append_key_value_metadata(KeyValue::new(
            crate::meta::METADATA_KEY.to_string(),
            meta.to_json(),
        ));
        self.file.finish()?;
        let tail_crc = self.file.inner_mut().seal()?;
        if let Some(sums) = &mut meta.checksums {
            sums.tail_crc = format!("{tail_crc:08x}");
        }
        Ok(WriteSummary {
            meta,
            file_bytes: self.file.bytes_written() as u64, // usize fits in u64
        })
    }
}

/// The main thread's side of [`TableWriter::write_groups`]: hands column chunks to the workers
/// and appends the encoded ones to the file in order, a row group at a time.
struct Pipeline<'a, W: Write + Send, S> {
    file: &'a mut SerializedFileWriter<ChecksumWriter<W>>,
    job_tx: Option<std::sync::mpsc::SyncSender<Job<S>>>,
    done_rx: std::sync::mpsc::Receiver<(usize, Result<ArrowColumnChunk>)>,
    finished: std::collections::BTreeMap<usize, ArrowColumnChunk>,
    /// The number of column chunks of each row group not yet appended, oldest first.
    groups: std::collections::VecDeque<usize>,
    sent: usize,
    appended: usize,
    /// The most row groups handed out and not yet appended.
    max_groups: usize,
}

impl<W: Write + Send, S> Pipeline<'_, W, S> {
    /// Hands out the column chunks of row group `group`, one per writer (column).
    fn send_group(&mut self, writers: Vec<ArrowColumnWriter>, group: Arc<S>) -> Result<()> {
        // Bounded by whole row groups: a group's chunks are sent together, so a group with more
        // columns than there are workers never waits for itself.
        while self.groups.len() >= self.max_groups {
            self.receive_one()?;
        }
        self.groups.push_back(writers.len());
        for (c, writer) in writers.into_iter().enumerate() {
            let tx = self.job_tx.as_ref().ok_or_else(worker_gone)?;
            tx.send((self.sent, writer, c, group.clone()))
                .map_err(|_| worker_gone())?;
            self.sent += 1;
        }
        Ok(())
    }

    /// Waits for one encoded chunk and appends every row group that is complete.
    fn receive_one(&mut self) -> Result<()> {
        let (seq, chunk) = self.done_rx.recv().map_err(|_| worker_gone())?;
        self.finished.insert(seq, chunk?);
        while let Some(&n) = self.groups.front() {
            if !(self.appended..self.appended + n).all(|i| self.finished.contains_key(&i)) {
                break;
            }
            let mut rg = self.file.next_row_group()?;
            for i in self.appended..self.appended + n {
                if let Some(c) = self.finished.remove(&i) {
                    c.append_to_row_group(&mut rg)?;
                }
            }
            rg.close()?;
            self.appended += n;
            self.groups.pop_front();
        }
        Ok(())
    }

    /// Appends everything still being encoded and stops the workers.
    fn drain(mut self) -> Result<()> {
        self.job_tx = None;
        while self.appended < self.sent {
            self.receive_one()?;
        }
        Ok(())
    }
}

fn worker_gone() -> Error {
    Error::Io(std::io::Error::other("an encoding thread stopped"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_column_tables_are_cut_into_two_row_groups_when_large_enough() {
        let m = 1 << 20;
        assert_eq!(group_rows(m, m, 1, 4), m / 2, "4 MiB of float32");
        assert_eq!(group_rows(m, m, 1, 1), m, "1 MiB of uint8: one group");
        assert_eq!(group_rows(m, m, 3, 8), m, "three columns");
        assert_eq!(group_rows(m, 16 * m, 1, 1), m);
        assert_eq!(group_rows(m, 1000, 1, 8), MIN_SPLIT_ROW_GROUP_BYTES / 8);
        assert_eq!(group_rows(m, 3 * m / 4, 1, 8), 3 * m / 8);
        assert_eq!(group_rows(1000, m, 1, 8), 1000);
        assert_eq!(group_rows(0, 5, 1, 1), 1);
    }
}
